"""The ``hydra-wandb-sweeper`` command-line tool (``python -m hydra_wandb_sweeper``)."""
