"""Faults the test W&B server injects on purpose: the answers W&B gives under load or in error.

A fault is set with ``POST /_control {"faults": [...]}`` (it replaces the ones set before)
and applies to the next ``times`` GraphQL requests it matches:

- ``operation``: the GraphQL operation name (``Heartbeat``, ``CreateAgent``, ...);
- ``busy``: for ``Heartbeat`` only, true for an agent that reports a live run, false for an
  idle one, absent for both;
- ``status`` and ``body``: the answer instead of the real one (a JSON value or a text), with
  ``headers`` (``Retry-After``);
- ``delay``: seconds from the request's arrival to its answer. With no ``status``, the
  request is carried out first and its real answer comes late, as from a slow server (what
  it scheduled stays scheduled).

What was injected is kept (``GET /_state``'s ``faults_applied``), so a test checks that its
fault happened.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

# The answers W&B gives an agent's heartbeat under load or in error, as (case id, fault as
# set above), each injected once: tests/engine/cloud/test_agent_faults.py and
# bench/agent_faults.py run every one, the bench beside the stock ``wandb agent``.
HEARTBEAT_FAULT_CASES: list[tuple[str, dict[str, Any]]] = [
    # the body W&B's rate limiter sends
    ("429-idle", {"busy": False, "status": 429, "body": {"error": "rate limit exceeded"}}),
    (
        "429-graphql-busy",
        {"busy": True, "status": 429, "body": {"errors": [{"message": "rate limit exceeded"}]}},
    ),
    ("200-errors", {"busy": False, "status": 200, "body": {"errors": [{"message": "boom"}]}}),
    ("400", {"busy": False, "status": 400, "body": {"errors": [{"message": "bad request"}]}}),
    ("503", {"busy": False, "status": 503, "body": "upstream unavailable"}),
    # answered after 25 s: what the server scheduled in that answer must still run
    ("slow-25s", {"busy": False, "delay": 25.0}),
]


@dataclass
class Fault:
    operation: str
    busy: bool | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1

    def matches(self, operation: str | None, variables: dict[str, Any]) -> bool:
        if operation != self.operation or self.times <= 0:
            return False
        if self.busy is None:
            return True
        run_state = json.loads(variables.get("runState") or "{}")
        return any(run_state.values()) == self.busy


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self.applied: list[dict[str, Any]] = []

    def set(self, specs: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending = [Fault(**spec) for spec in specs]

    def take(self, operation: str | None, variables: dict[str, Any] | None) -> Fault | None:
        """The fault for this request, if one is pending (counted as used)."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(operation, variables or {}):
                    fault.times -= 1
                    self.applied.append(
                        {"operation": operation, "status": fault.status, "delay": fault.delay}
                    )
                    return fault
        return None

    def answer(self, fault: Fault) -> tuple[bytes, int, dict[str, str]]:
        """The body, status and headers that stand in for the real answer."""
        assert fault.status is not None
        body = fault.body
        if isinstance(body, str):
            return body.encode(), fault.status, {"content-type": "text/plain", **fault.headers}
        encoded = json.dumps(body if body is not None else {}).encode()
        return encoded, fault.status, {"content-type": "application/json", **fault.headers}
