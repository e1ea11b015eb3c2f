"""Reaching the W&B server through the public client: credentials, sweep paths, sweep reads.

Every failure a user can meet here ends in one sentence that says what to do: no API key,
a server that does not answer (found out within seconds, not after the client's long
retries), a sweep id the server does not know.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hydra_wandb_sweeper.engine.cloud.graphql import GraphQLClient, ServerUnreachable, probe
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError

DEFAULT_BASE_URL = "https://api.wandb.ai"
# How long the first contact may take before the server counts as unreachable.
PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class SweepPath:
    entity: str | None
    project: str | None
    sweep_id: str

    @classmethod
    def parse(cls, text: str, entity: str | None, project: str | None) -> SweepPath:
        """``id``, ``project/id`` or ``entity/project/id`` (as the W&B UI shows it)."""
        parts = [part for part in text.strip().split("/") if part]
        if "sweeps" in parts and parts.index("sweeps") == len(parts) - 2:
            parts.remove("sweeps")  # a copied URL tail: entity/project/sweeps/id
        if not parts or len(parts) > 3:
            raise SweepConfigError(
                "hydra.sweeper.sweep_id",
                f"got {text!r}, expected a W&B sweep id: abc123de or entity/project/abc123de",
            )
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        if len(parts) == 2:
            return cls(entity, parts[0], parts[1])
        return cls(entity, project, parts[0])

    def __str__(self) -> str:
        return "/".join(part for part in (self.entity, self.project, self.sweep_id) if part)


@dataclass
class Connection:
    base_url: str
    api: Any  # wandb.Api
    client: GraphQLClient

    @property
    def default_entity(self) -> str:
        return str(self.api.default_entity)

    def sweep_url(self, path: SweepPath) -> str:
        app = self.base_url.replace("://api.", "://", 1)
        return f"{app}/{path.entity}/{path.project}/sweeps/{path.sweep_id}"

    def read_sweep(self, path: SweepPath) -> Any:
        """The public ``wandb.apis.public.Sweep``; a clear error when the server lacks it."""
        import wandb

        try:
            return self.api.sweep(str(path))
        except (wandb.errors.CommError, ValueError) as error:
            if "not found" in str(error).lower() or "could not find" in str(error).lower():
                raise SweepRuntimeError(
                    f"hydra.sweeper.sweep_id: W&B sweep {path} not found on {self.base_url}. "
                    "Check the id, and give it as entity/project/id (as the W&B UI shows it) "
                    "or set hydra.sweeper.project and entity"
                ) from None
            raise unreachable(self.base_url, type(error).__name__) from None


def unreachable(base_url: str, why: str) -> SweepRuntimeError:
    return SweepRuntimeError(
        f"Cannot reach the W&B server at {base_url} ({why}). Check the network and "
        "WANDB_BASE_URL, or sweep offline with hydra.sweeper.engine=local (no server needed)"
    )


def connect() -> Connection:
    """Log in with the user's W&B credentials, failing fast when that cannot work."""
    base_url = (os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    try:
        probe(base_url, PROBE_SECONDS)
    except ServerUnreachable as error:
        raise unreachable(base_url, str(error)) from None
    import wandb

    no_key = SweepRuntimeError(
        "hydra.sweeper.engine=wandb needs a W&B API key: run `wandb login` (or set "
        "WANDB_API_KEY), or sweep without an account with hydra.sweeper.engine=local"
    )
    try:
        api = wandb.Api(timeout=int(PROBE_SECONDS * 2))
    except wandb.errors.AuthenticationError:
        raise SweepRuntimeError(
            f"The W&B server at {base_url} refused the API key: run `wandb login --relogin`"
        ) from None
    except wandb.errors.UsageError:
        raise no_key from None
    except wandb.errors.CommError as error:
        raise unreachable(base_url, type(error).__name__) from None
    if not api.api_key:
        raise no_key
    return Connection(
        base_url=str(api.settings["base_url"]),
        api=api,
        client=GraphQLClient(str(api.settings["base_url"]), str(api.api_key)),
    )
