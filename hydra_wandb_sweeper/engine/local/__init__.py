"""The embedded engine: an Optuna study in a file, SQLite or PostgreSQL storage, W&B's
distributions sampled through Optuna, and hyperband as W&B's scheduler decides it."""
