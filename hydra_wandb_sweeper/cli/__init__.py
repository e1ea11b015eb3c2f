"""The ``hydra-wandb-sweeper`` command-line tool: one module per subcommand, registered in
:mod:`hydra_wandb_sweeper.cli.app`."""
