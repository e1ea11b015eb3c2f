"""Cloud-engine tests run the real wandb client against the test W&B server on 127.0.0.1."""

from tests.support.wandb_server.fixture import client_env, wandb_server

__all__ = ["client_env", "wandb_server"]
