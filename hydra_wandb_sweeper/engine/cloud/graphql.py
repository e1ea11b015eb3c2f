"""The W&B agent's two GraphQL operations, sent to the server's ``/graphql`` endpoint.

The wandb client keeps its agent helpers private (they moved between releases), so the
agent speaks the stable GraphQL contract itself: ``CreateAgent`` and ``agentHeartbeat``, the
same documents W&B's own agents send. Credentials come from the public ``wandb.Api()``;
the key travels only in the request's basic-auth header, never in a message.
"""

from __future__ import annotations

import json
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
    """No answer from the W&B server (refused, timed out, a 5xx)."""


class NotFoundOnServer(Exception):
    """The server answered 404: the sweep (or the agent's sweep) does not exist there."""


class ServerRefused(Exception):
    """The server answered with an error (bad credentials, a rejected request)."""


@dataclass(frozen=True)
class GraphQLClient:
    base_url: str
    api_key: str
    timeout: float = 20.0

    def execute(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = requests.post(
                f"{self.base_url.rstrip('/')}/graphql",
                json={"query": document, "variables": variables},
                auth=("api", self.api_key),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise ServerUnreachable(f"{type(error).__name__}") from None
        if response.status_code == 404:
            raise NotFoundOnServer(_first_error(response))
        if response.status_code >= 500:
            raise ServerUnreachable(f"HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise ServerRefused(f"the API key was refused (HTTP {response.status_code})")
        try:
            payload = response.json()
        except ValueError:
            raise ServerRefused(f"not a GraphQL answer (HTTP {response.status_code})") from None
        if payload.get("errors"):
            raise ServerRefused(_first_error(response))
        return payload.get("data") or {}

    def create_agent(self, host: str, sweep: str, project: str, entity: str) -> str:
        data = self.execute(
            CREATE_AGENT,
            {"host": host, "sweep": sweep, "projectName": project, "entityName": entity},
        )
        return str(data["createAgent"]["agent"]["id"])

    def heartbeat(self, agent_id: str, live_runs: list[str]) -> list[dict[str, Any]]:
        data = self.execute(
            HEARTBEAT,
            {
                "id": agent_id,
                "metrics": "{}",
                "runState": json.dumps(dict.fromkeys(live_runs, True)),
            },
        )
        commands = data["agentHeartbeat"]["commands"]
        return json.loads(commands) if isinstance(commands, str) else list(commands or [])

    def add_prior_runs(self, sweep: str, project: str, entity: str, runs: list[str]) -> None:
        self.execute(
            ADD_PRIOR_RUNS,
            {
                "id": sweep,
                "projectName": project,
                "entityName": entity,
                "priorRunsFilters": json.dumps({"$or": [{"name": run} for run in runs]}),
            },
        )


def probe(base_url: str, timeout: float) -> None:
    """Raise ServerUnreachable unless something answers HTTP at ``base_url`` within ``timeout``."""
    try:
        requests.post(
            f"{base_url.rstrip('/')}/graphql",
            json={"query": "query Probe { serverInfo { features { name } } }"},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise ServerUnreachable(type(error).__name__) from None


def _first_error(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(errors[0].get("message", "")) if errors else f"HTTP {response.status_code}"
