"""The W&B agent's GraphQL operations, sent through the wandb client's own transport.

The documents are W&B's own (``CreateAgent``, ``agentHeartbeat``, ``upsertSweep``), byte for
byte what ``wandb agent`` sends. They travel the way every request of ``wandb.Api()`` does:
through wandb-core, so that its retry policy (429, 5xx but 501, the 4xx it deems passing,
20 times with 2-60 s backoff and ``Retry-After``), its per-request timeout, the proxy and
extra-header settings, ``WANDB_INSECURE_DISABLE_SSL``, the TLS trust of the system (and
``SSL_CERT_FILE``) and identity-token logins are W&B's, not a copy of them. The wandb client
keeps that handle (``Api._service_api``) private, as it keeps its agent helpers; its own
``wandb agent`` uses it the same way.

Failures come in four kinds: the server is gone for now (``ServerUnreachable``: no answer,
a 5xx, after wandb-core's retries), the thing asked about is not there
(``NotFoundOnServer``, 404), the credentials were refused (``ServerRefused``), or the server
answered with an error (``RequestFailed``: a 400, GraphQL errors, a 429 that outlasted the
retries).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import requests

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


def classify(error: Exception) -> Exception:
    """One of the four failures above for a wandb ``WandbApiFailedError``."""
    response = getattr(error, "response", None)
    status = int(getattr(response, "http_status", 0) or 0)
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if status == 0 and (gave_up := _GAVE_UP.search(str(error))):
        status = int(gave_up.group(1))
    elif status == 0 and "giving up after" in str(error):
        return ServerUnreachable(message)  # no HTTP answer at all, retried
    elif status == 0 and "service process" in str(error):
        return ServerUnreachable(message)  # wandb-core itself is gone
    if status == 404:
        return NotFoundOnServer(message)
    if status in (401, 403):
        return ServerRefused(f"the credentials were refused (HTTP {status})")
    if status >= 500 and status != 501:
        return ServerUnreachable(f"HTTP {status}")
    return RequestFailed(message if status in (0, 200) else f"HTTP {status}: {message}")


@dataclass(frozen=True)
class GraphQLClient:
    api: Any  # wandb.Api: its credentials and its wandb-core transport

    def execute(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        # No timeout of our own: wandb-core bounds each try (30 s by default,
        # WANDB_HTTP_TIMEOUT) and the retries; the agent decides how long it waits.
        try:
            data = self.api._service_api.execute_graphql(document, variables)
        except Exception as error:  # WandbApiFailedError, or wandb-core failing to start
            raise classify(error) from None
        return dict(data or {})

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
