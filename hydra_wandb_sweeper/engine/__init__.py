"""Sweep engines: where trials are proposed and their results kept (local Optuna, W&B cloud)."""
