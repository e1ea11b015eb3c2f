"""The search space, translated: W&B parameter dicts and Hydra's sweep grammar → one canonical
space, method checks, override encoding, and checks against the composed config.

Pure functions with no I/O; nothing here imports wandb, optuna, torch or another layer.
"""
