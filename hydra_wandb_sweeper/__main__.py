"""``python -m hydra_wandb_sweeper``: the command-line tool."""

from hydra_wandb_sweeper.cli.app import main

main()
