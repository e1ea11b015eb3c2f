"""The W&B agent's GraphQL operations, sent through the wandb client's own transport.

The documents are W&B's own (``CreateAgent``, ``agentHeartbeat``, ``upsertSweep``), byte for
byte what ``wandb agent`` sends. They travel the way every request of ``wandb.Api()`` does:
through wandb-core, so that its retry policy (429, 5xx but 501, the 4xx it deems passing,
20 times with 2-60 s backoff and ``Retry-After``), its per-request timeout, the proxy and
extra-header settings, ``WANDB_INSECURE_DISABLE_SSL``, the TLS trust of the system (and
``SSL_CERT_FILE``) and identity-token logins are W&B's, not a copy of them. The wandb client
keeps that handle (``Api._service_api``) private, as it keeps its agent helpers; its own
``wandb agent`` uses it the same way. Releases before it (wandb 0.19 to 0.25) sent the public
API's GraphQL over their own ``requests`` session (``Api.client``: the same settings, W&B's
retries of the time), and the documents go through that.

Failures come in four kinds: the server is gone for now (``ServerUnreachable``: no answer,
a 5xx, after wandb-core's retries), the thing asked about is not there
(``NotFoundOnServer``, 404), the credentials were refused (``ServerRefused``), or the server
answered with an error (``RequestFailed``: a 400, GraphQL errors, a 429 that outlasted the
retries).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from hydra_wandb_sweeper.upstream_private import wandb_execute_graphql, wandb_sends_through_core

CREATE_AGENT = """
mutation CreateAgent($host: String!, $projectName: String, $entityName: String, $sweep: String!) {
    createAgent(input: {
        host: $host, projectName: $projectName, entityName: $entityName, sweep: $sweep
    }) {
        agent { id }
    }
}
"""

HEARTBEAT = """
mutation Heartbeat($id: ID!, $metrics: JSONString, $runState: JSONString) {
    agentHeartbeat(input: {id: $id, metrics: $metrics, runState: $runState}) {
        agent { id }
        commands
    }
}
"""

# The sweep's GraphQL node id (``Sweep.id``), which W&B's own code passes to update a sweep;
# its name (the short id users see) is not an id there.
SWEEP_NODE_ID = """
query SweepNodeId($entity: String, $project: String, $sweep: String!) {
    project(name: $project, entityName: $entity) {
        sweep(sweepName: $sweep) { id name }
    }
}
"""

# A sweep's runs with their config and summary, in one request: the fields of W&B's own
# ``SweepWithRuns`` that the results need. (``wandb.Api().sweep(...).runs`` pages through
# them 10 at a time and, since wandb 0.21, loads each run's config and summary with a request
# of its own: a read of a 1,000-run sweep cost over 1,000 requests.)
SWEEP_RUNS = """
query SweepRuns($entity: String, $project: String, $sweep: String!) {
    project(name: $project, entityName: $entity) {
        sweep(sweepName: $sweep) {
            runs {
                edges {
                    node {
                        name
                        state
                        config
                        summaryMetrics
                    }
                }
            }
        }
    }
}
"""

# Adds existing runs to an existing sweep: the update form of what ``wandb.sweep(...,
# prior_runs=...)`` sends when it creates one.
ADD_PRIOR_RUNS = """
mutation UpsertSweep($id: ID, $entityName: String, $projectName: String, $priorRunsFilters: JSONString) {
    upsertSweep(input: {
        id: $id, entityName: $entityName, projectName: $projectName,
        priorRunsFilters: $priorRunsFilters
    }) {
        sweep { name }
    }
}
"""


# How long W&B's agent waits for wandb-core to answer a heartbeat (its retries included);
# a slower answer is no answer, and the next heartbeat asks again.
REQUEST_SECONDS = 60.0


class ServerUnreachable(Exception):
    """No answer from the W&B server (refused, timed out, a 5xx), after wandb-core's retries."""


class NotFoundOnServer(Exception):
    """The server answered 404: the sweep (or the agent's sweep) does not exist there."""


class ServerRefused(Exception):
    """The server refused the credentials (401, 403)."""


class RequestFailed(Exception):
    """The server answered with an error: a 400, GraphQL errors, a 429 past all retries."""


# wandb-core reports a request it stopped retrying as "giving up after N attempt(s) while
# retrying: HTTP <status>: ..." with no status of its own.
_GAVE_UP = re.compile(r"giving up after .*?HTTP (\d{3})", re.DOTALL)


_FAILURES = (ServerUnreachable, NotFoundOnServer, ServerRefused, RequestFailed)
_T = TypeVar("_T")


def _transport_gone(error: Exception) -> bool:
    """Whether ``error`` is this process's wandb-core connection ending (``wandb.teardown()``)
    rather than wandb-core reporting on a request: only its reports carry a response."""
    if getattr(error, "response", None) is not None:
        return False
    return "did not respond in time" not in str(error)  # a slow server, not a lost wandb-core


def classify(error: Exception) -> Exception:
    """One of the four failures above for what the wandb client raised: wandb-core's
    ``WandbApiFailedError``, or (wandb releases whose public API still spoke HTTP itself)
    ``requests``' errors and the GraphQL client's."""
    response = getattr(error, "response", None)
    status = int(getattr(response, "http_status", 0) or getattr(response, "status_code", 0) or 0)
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if status == 0 and (gave_up := _GAVE_UP.search(str(error))):
        status = int(gave_up.group(1))
    elif status == 0 and "giving up after" in str(error):
        return ServerUnreachable(message)  # no HTTP answer at all, retried
    elif status == 0 and "service process" in str(error):
        return ServerUnreachable(message)  # wandb-core itself is gone, or slower than waited
    elif status == 0 and isinstance(error, requests.RequestException):
        return ServerUnreachable(type(error).__name__)
    elif status == 0 and type(error).__name__ == "AuthenticationError":
        return ServerRefused("the credentials were refused")
    if status == 404:
        return NotFoundOnServer(message)
    if status in (401, 403):
        return ServerRefused(f"the credentials were refused (HTTP {status})")
    if status >= 500 and status != 501:
        return ServerUnreachable(f"HTTP {status}")
    return RequestFailed(message if status in (0, 200) else f"HTTP {status}: {message}")


class GraphQLClient:
    """W&B's GraphQL through a ``wandb.Api()`` and the wandb-core process it talks to.

    A trial that runs in this process resets wandb with ``wandb.teardown()`` (as W&B's own
    agent does before each run), which ends the wandb-core process this client's requests
    go through; W&B's agent then opens a new ``wandb.Api()``, and so does this client, once,
    at the first request that finds its wandb-core gone.
    """

    def __init__(self, api: Any, reconnect: Callable[[], Any] | None = None) -> None:
        self._api = api
        self._reconnect = reconnect
        self._lock = threading.Lock()

    @property
    def api(self) -> Any:
        with self._lock:
            return self._api

    def execute(
        self, document: str, variables: dict[str, Any], timeout: float = REQUEST_SECONDS
    ) -> dict[str, Any]:
        # wandb-core bounds each try (30 s, WANDB_HTTP_TIMEOUT) and retries; ``timeout`` is
        # how long this side waits for all of it, as W&B's agent waits for a heartbeat.
        try:
            data = self.with_api(
                lambda api: wandb_execute_graphql(api, document, variables, timeout)
            )
        except _FAILURES:
            raise
        except Exception as error:  # WandbApiFailedError, or what the older client raises
            raise classify(error) from None
        return dict(data or {})

    def with_api(self, use: Callable[[Any], _T]) -> _T:
        """``use(api)``, once more with a new ``wandb.Api()`` if this one's wandb-core is gone."""
        api = self.api
        try:
            return use(api)
        except Exception as error:
            gone = wandb_sends_through_core(api) and _transport_gone(error)
            if self._reconnect is None or not gone:
                raise
        return use(self._renew(api))

    def _renew(self, stale: Any) -> Any:
        """A new ``wandb.Api()`` in place of ``stale`` (unless another thread renewed it)."""
        assert self._reconnect is not None
        with self._lock:
            if self._api is stale:
                try:
                    self._api = self._reconnect()
                except Exception as error:  # no server to log in to: retried as any request
                    raise classify(error) from None
            return self._api

    def create_agent(self, host: str, sweep: str, project: str, entity: str) -> str:
        data = self.execute(
            CREATE_AGENT,
            {"host": host, "sweep": sweep, "projectName": project, "entityName": entity},
        )
        return str(_field(data, "createAgent", "agent", "id"))

    def heartbeat(self, agent_id: str, live_runs: list[str]) -> list[dict[str, Any]]:
        data = self.execute(
            HEARTBEAT,
            {
                "id": agent_id,
                "metrics": "{}",
                "runState": json.dumps(dict.fromkeys(live_runs, True)),
            },
        )
        commands = _field(data, "agentHeartbeat", "commands")
        try:
            parsed = json.loads(commands) if isinstance(commands, str) else commands
        except ValueError:
            raise RequestFailed(f"the heartbeat's commands are not JSON: {commands!r}") from None
        return [command for command in parsed or [] if isinstance(command, dict)]

    def sweep_node_id(self, sweep: str, project: str, entity: str) -> str:
        data = self.execute(SWEEP_NODE_ID, {"sweep": sweep, "project": project, "entity": entity})
        if not (data.get("project") or {}).get("sweep"):
            raise NotFoundOnServer(f"sweep {entity}/{project}/{sweep} not found")
        return str(_field(data, "project", "sweep", "id"))

    def sweep_runs(self, sweep: str, project: str, entity: str) -> list[dict[str, Any]]:
        """Each run of the sweep: ``name``, ``state``, ``config`` (W&B's ``{key: {"value":
        ...}}``) and ``summary``, the JSON already parsed."""
        data = self.execute(SWEEP_RUNS, {"sweep": sweep, "project": project, "entity": entity})
        if not (data.get("project") or {}).get("sweep"):
            raise NotFoundOnServer(f"sweep {entity}/{project}/{sweep} not found")
        edges = _field(data, "project", "sweep", "runs", "edges")
        runs = []
        for edge in edges if isinstance(edges, list) else []:
            node = (edge or {}).get("node") or {}
            runs.append(
                {
                    "name": str(node.get("name")),
                    "state": node.get("state"),
                    "config": _json_object(node.get("config")),
                    "summary": _json_object(node.get("summaryMetrics")),
                }
            )
        return runs

    def add_prior_runs(self, sweep: str, project: str, entity: str, runs: list[str]) -> None:
        self.execute(
            ADD_PRIOR_RUNS,
            {
                "id": self.sweep_node_id(sweep, project, entity),
                "projectName": project,
                "entityName": entity,
                "priorRunsFilters": json.dumps({"$or": [{"name": run} for run in runs]}),
            },
        )


def _field(data: dict[str, Any], *path: str) -> Any:
    """``data[a][b]...``; an answer without it is an error answer, not a crash."""
    node: Any = data
    for name in path:
        if not isinstance(node, dict) or node.get(name) is None:
            raise RequestFailed(f"the answer has no {'.'.join(path)}")
        node = node[name]
    return node


def _json_object(text: Any) -> dict[str, Any]:
    """A JSONString field as a dict; anything else (null, not JSON, not an object) as {}."""
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def probe(base_url: str, timeout: float, proxies: dict[str, str] | None = None) -> int | None:
    """The HTTP status something at ``base_url`` answers within ``timeout``, or None.

    Only whether the server is there: a TLS handshake that fails is an answer too (the TLS
    trust is wandb-core's to check, with the system's store), and it goes through the same
    proxies as the wandb client's requests.
    """
    try:
        response = requests.post(
            f"{base_url.rstrip('/')}/graphql",
            json={"query": "query Probe { serverInfo { features { name } } }"},
            timeout=timeout,
            proxies=proxies,
        )
    except requests.exceptions.SSLError:
        return 0
    except requests.RequestException:
        return None
    return response.status_code
