from tests.support.wandb_server.fixture import client_env, wandb_server

__all__ = ["client_env", "wandb_server"]
