"""The W&B cloud engine: a sweep on the W&B server, this process its agents."""
