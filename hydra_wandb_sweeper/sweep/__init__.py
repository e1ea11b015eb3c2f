"""The sweep loop behind ``hydra/sweeper=wandb``: open the sweep, ask the engine for trials,
launch them as Hydra jobs, tell the results back, and write what the sweep leaves behind."""
