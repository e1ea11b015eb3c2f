"""Reaching the W&B server through the public client: credentials, sweep paths, sweep reads.

Every failure a user can meet here ends in one sentence that says what to do: no API key,
a server that does not answer (found out within seconds, not after the client's long
retries), a certificate the client does not trust, a sweep id the server does not know.
The credentials are whatever ``wandb.Api()`` logs in with: an API key, or an identity
token file (``WANDB_IDENTITY_TOKEN_FILE``), which wandb-core exchanges for access tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hydra_wandb_sweeper.engine.cloud.graphql import GraphQLClient, probe
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
    client: GraphQLClient

    @property
    def api(self) -> Any:
        """The current ``wandb.Api()`` (a new one after a trial's ``wandb.teardown()``)."""
        return self.client.api

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


def proxies() -> dict[str, str]:
    """W&B's own proxy settings (``WANDB_HTTP_PROXY``, ``WANDB_HTTPS_PROXY``), which wandb-core
    prefers to ``HTTP(S)_PROXY``; requests reads those from the environment itself."""
    import wandb

    settings = wandb.setup().settings
    chosen = {"http": settings.http_proxy, "https": settings.https_proxy}
    return {scheme: url for scheme, url in chosen.items() if url}


def untrusted(base_url: str, why: str) -> SweepRuntimeError:
    return SweepRuntimeError(
        f"The W&B server at {base_url} has a certificate this machine does not trust ({why}). "
        "Add its CA to the system's store or point SSL_CERT_FILE at it (as for `wandb login`), "
        "or set WANDB_INSECURE_DISABLE_SSL=true on a network you trust"
    )


def _is_tls_failure(error: Exception) -> bool:
    text = str(error).lower()
    return any(word in text for word in ("x509", "certificate", "tls:"))


def connect() -> Connection:
    """Log in with the user's W&B credentials, failing fast when that cannot work."""
    base_url = (os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if probe(base_url, PROBE_SECONDS, proxies()) is None:
        raise unreachable(base_url, f"no answer within {PROBE_SECONDS:.0f} s")
    import wandb

    no_key = SweepRuntimeError(
        "hydra.sweeper.engine=wandb needs a W&B API key: run `wandb login` (or set "
        "WANDB_API_KEY), or sweep without an account with hydra.sweeper.engine=local"
    )
    try:
        api = wandb.Api(timeout=int(PROBE_SECONDS * 2))
    except wandb.errors.AuthenticationError as error:
        if _is_tls_failure(error):
            raise untrusted(base_url, str(error).strip().splitlines()[-1]) from None
        raise SweepRuntimeError(
            f"The W&B server at {base_url} refused the API key: run `wandb login --relogin`"
        ) from None
    except wandb.errors.UsageError:
        raise no_key from None
    except wandb.errors.CommError as error:
        raise unreachable(base_url, type(error).__name__) from None
    return Connection(
        base_url=str(api.settings["base_url"]),
        client=GraphQLClient(api, reconnect=lambda: wandb.Api(timeout=int(PROBE_SECONDS * 2))),
    )
