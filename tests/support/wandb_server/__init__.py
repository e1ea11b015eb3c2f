"""A W&B-compatible GraphQL server on 127.0.0.1 for tests that drive the real wandb client."""
