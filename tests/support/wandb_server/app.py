"""A W&B-compatible test server: GraphQL (ariadne) plus file_stream and file uploads.

Run as ``python -m tests.support.wandb_server.app --port-file PATH``: it binds 127.0.0.1 on a
free port and writes the port to PATH once it listens. ``GET /_state`` returns what it holds
(runs, sweeps, agents, every GraphQL request); ``POST /_control`` changes it (a sweep's state,
a lost network). Only what the wandb client's runs, sweeps and agents send is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
import zlib
from pathlib import Path
from typing import Any

import uvicorn
from ariadne import (
    MutationType,
    ObjectType,
    QueryType,
    ScalarType,
    graphql,
    load_schema_from_path,
    make_executable_schema,
)
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.wandb_server.faults import Faults
from tests.support.wandb_server.scheduler import REFUSAL
from tests.support.wandb_server.state import ENTITY, NotFound, RunRecord, ServerState

STATE = ServerState()
FAULTS = Faults()
# Request headers kept for the contract tests (the credentials are kept out).
_KEPT_HEADERS = ("user-agent", "x-test-header", "x-wandb-username")
SCHEMA = Path(__file__).with_name("schema.graphql")

json_string = ScalarType("JSONString")


@json_string.serializer
def _serialize_json_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


query = QueryType()
mutation = MutationType()
project_type = ObjectType("Project")
sweep_type = ObjectType("Sweep")
run_type = ObjectType("Run")


def _iso(seconds: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds or time.time()))


def _project(name: str | None, entity: str | None = None) -> dict[str, Any]:
    name = name or "uncategorized"
    entity = entity or ENTITY
    return {
        "id": f"{entity}/{name}",
        "internalId": str(_number(f"{entity}/{name}")),
        "readOnly": False,
        "name": name,
        "entityName": entity,
        "entity": _entity(entity),
    }


def _number(text: str) -> int:
    """W&B's internal ids are numbers; a checksum gives each project a stable one."""
    return zlib.crc32(text.encode())


def _entity(name: str) -> dict[str, Any]:
    return {"id": name, "name": name, "isTeam": False}


# --- queries ------------------------------------------------------------------------------------
@query.field("viewer")
def resolve_viewer(*_: Any, **__: Any) -> dict[str, Any]:
    return {
        "id": "viewer-1",
        "entity": ENTITY,
        "username": ENTITY,
        "name": ENTITY,
        "email": f"{ENTITY}@example.invalid",
        "admin": False,
        "flags": "{}",
        "defaultEntity": _entity(ENTITY),
        "teams": {"edges": [{"node": _entity(ENTITY)}]},
    }


@query.field("serverInfo")
def resolve_server_info(*_: Any) -> dict[str, Any]:
    return {"cliVersionInfo": {}, "latestLocalVersionInfo": None, "features": []}


@query.field("project")
@query.field("model")
def resolve_project(*_: Any, name: str | None = None, entityName: str | None = None) -> Any:
    return _project(name, entityName)


@query.field("entity")
def resolve_entity(*_: Any, name: str | None = None) -> dict[str, Any]:
    return _entity(name or ENTITY)


@project_type.field("sweep")
def resolve_sweep(project: dict[str, Any], _: Any, sweepName: str) -> Any:
    try:
        return STATE.sweep(sweepName)
    except NotFound:
        return None


@project_type.field("run")
def resolve_run(project: dict[str, Any], _: Any, name: str) -> Any:
    return STATE.run(project["name"], name)


def _matches(run: RunRecord, filters: dict[str, Any]) -> bool:
    """The few MongoDB-style run filters the client sends: by sweep, by name, ``$or``."""
    for key, wanted in filters.items():
        if key == "$or":
            if not any(_matches(run, clause) for clause in wanted):
                return False
        elif key == "$and":
            if not all(_matches(run, clause) for clause in wanted):
                return False
        elif key in ("sweep", "name") and getattr(run, key) != wanted:
            return False
    return True


def _project_runs(project: dict[str, Any], filters: str | None) -> list[RunRecord]:
    wanted = json.loads(filters) if filters else {}
    with STATE.lock:
        return [
            run
            for run in STATE.runs.values()
            if run.project == project["name"] and _matches(run, wanted)
        ]


@project_type.field("bucket")
def resolve_bucket(project: dict[str, Any], _: Any, name: str, **__: Any) -> Any:
    """A run to resume; a sweep run the agent has not started yet is new to its client."""
    run = STATE.run(project["name"], name)
    return None if run is None or run.state == "pending" else run


@project_type.field("runs")
def resolve_project_runs(project: dict[str, Any], _: Any, **args: Any) -> dict[str, Any]:
    return _connection(_project_runs(project, args.get("filters")))


def _project_sweeps(project: dict[str, Any]) -> list[Any]:
    with STATE.lock:
        return [
            sweep
            for sweep in STATE.sweeps.values()
            if sweep.project == project["name"] and sweep.entity == project["entityName"]
        ]


@project_type.field("sweeps")
def resolve_project_sweeps(project: dict[str, Any], _: Any, **__: Any) -> dict[str, Any]:
    return _connection(_project_sweeps(project))


@project_type.field("totalSweeps")
def resolve_total_sweeps(project: dict[str, Any], _: Any) -> int:
    return len(_project_sweeps(project))


@project_type.field("runCount")
def resolve_run_count(project: dict[str, Any], _: Any, filters: str | None = None) -> int:
    return len(_project_runs(project, filters))


def _connection(nodes: list[Any]) -> dict[str, Any]:
    return {
        "edges": [{"node": node, "cursor": str(i)} for i, node in enumerate(nodes)],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "totalCount": len(nodes),
    }


_SWEEP_FIELDS = {
    "id": lambda s: s.node_id,
    "name": lambda s: s.name,
    "displayName": lambda s: s.display_name,
    "method": lambda s: s.config.get("method"),
    "state": lambda s: s.state,
    "description": lambda s: s.description,
    "config": lambda s: s.config_yaml,
    "createdAt": lambda s: _iso(s.created_at),
    "heartbeatAt": lambda s: _iso(),
    "updatedAt": lambda s: _iso(),
    "earlyStopJobRunning": lambda s: False,
    "bestLoss": lambda s: None,
    "controller": lambda s: "{}",
    "scheduler": lambda s: "{}",
    "runCount": lambda s: len(STATE.sweep_runs(s)),
    "runCountExpected": lambda s: s.config.get("run_cap"),
    "project": lambda s: _project(s.project, s.entity),
    "runs": lambda s: _connection(STATE.sweep_runs(s)),
}
for _name, _getter in _SWEEP_FIELDS.items():
    sweep_type.set_field(_name, lambda obj, info, _g=_getter, **_: _g(obj))


def _sampled_history(run: RunRecord, specs: list[str]) -> list[list[dict[str, Any]]]:
    sampled = []
    for spec_json in specs:
        keys = json.loads(spec_json).get("keys") or []
        sampled.append(
            [
                {k: row[k] for k in keys if k in row}
                for row in run.history
                if keys[-1:] and keys[-1] in row
            ]
        )
    return sampled


_RUN_FIELDS = {
    "id": lambda r: f"{r.project}:{r.name}",
    "projectId": lambda r: str(_number(f"{r.entity}/{r.project}")),
    "readOnly": lambda r: False,
    "name": lambda r: r.name,
    "displayName": lambda r: r.display_name or r.name,
    "state": lambda r: r.state,
    "config": lambda r: json.dumps(r.config),
    "summaryMetrics": lambda r: json.dumps(r.summary),
    "systemMetrics": lambda r: "{}",
    "historyKeys": lambda r: {},
    "exitcode": lambda r: r.exitcode,
    "heartbeatAt": lambda r: _iso(),
    "createdAt": lambda r: _iso(),
    "updatedAt": lambda r: _iso(),
    "shouldStop": lambda r: r.stopped,
    "failed": lambda r: r.state == "failed",
    "stopped": lambda r: r.stopped,
    "running": lambda r: r.state == "running",
    "sweepName": lambda r: r.sweep,
    "historyLineCount": lambda r: len(r.history),
    "logLineCount": lambda r: 0,
    "eventsLineCount": lambda r: 0,
    "historyTail": lambda r: json.dumps([json.dumps(row) for row in r.history[-1:]]),
    "eventsTail": lambda r: "[]",
    "wandbConfig": lambda r: json.dumps({k: v for k, v in r.config.items() if k == "_wandb"}),
    "history": lambda r: [json.dumps(row) for row in r.history],
    "project": lambda r: _project(r.project, r.entity),
    "tags": lambda r: [],
    "user": lambda r: resolve_viewer(),
}
for _name, _getter in _RUN_FIELDS.items():
    run_type.set_field(_name, lambda obj, info, _g=_getter, **_: _g(obj))
run_type.set_field("sampledHistory", lambda obj, info, specs: _sampled_history(obj, specs))


# --- mutations ----------------------------------------------------------------------------------
@mutation.field("upsertBucket")
def resolve_upsert_bucket(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    name = input.get("name") or input.get("id")
    if not name:
        raise GraphQLError("a run needs a name")
    existing = STATE.run(input.get("modelName"), name)
    config = json.loads(input["config"]) if input.get("config") else None
    if config is not None and existing is not None and existing.config:
        config = {**config, **{k: v for k, v in existing.config.items() if k not in config}}
    summary = json.loads(input["summaryMetrics"]) if input.get("summaryMetrics") else None
    state = input.get("state")
    run = STATE.upsert_run(
        input.get("modelName"),
        name,
        sweep=input.get("sweep"),
        config=config,
        summary=summary,
        display_name=input.get("displayName"),
        state="running" if existing is None or existing.state == "pending" else state,
    )
    return {"bucket": run, "inserted": existing is None}


@mutation.field("upsertSweep")
def resolve_upsert_sweep(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    sweep = STATE.upsert_sweep(input)
    return {"sweep": sweep, "configValidationWarnings": [], "inserted": not input.get("id")}


@mutation.field("createAgent")
def resolve_create_agent(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    agent = STATE.create_agent(input["sweep"], input["host"])
    return {"agent": {"id": agent.id, "name": agent.id, "sweepName": agent.sweep}}


@mutation.field("agentHeartbeat")
def resolve_agent_heartbeat(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    run_state = json.loads(input.get("runState") or "{}")
    commands = STATE.heartbeat(input["id"], run_state)
    return {"agent": {"id": input["id"]}, "commands": json.dumps(commands)}


@mutation.field("createRunFiles")
def resolve_create_run_files(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    run = STATE.run(input["projectName"], input["runName"])
    if run is not None:
        run.files.extend(input["files"])
    base = f"/_upload/{input['projectName']}/{input['runName']}"
    return {
        "runID": input["runName"],
        "uploadHeaders": [],
        "files": [
            {"name": name, "uploadUrl": f"{BASE_URL}{base}/{name}"} for name in input["files"]
        ],
    }


@mutation.field("upsertModel")
def resolve_upsert_model(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    project = _project(input.get("name"), input.get("entityName"))
    return {"project": project, "model": project, "inserted": True}


schema = make_executable_schema(
    load_schema_from_path(str(SCHEMA)),
    [query, mutation, project_type, sweep_type, run_type, json_string],
)
BASE_URL = ""


def _operation_name(body: dict[str, Any]) -> str | None:
    if body.get("operationName"):
        return body["operationName"]
    try:
        document = parse(body.get("query") or "")
    except GraphQLError:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    return None


async def graphql_endpoint(request: Request) -> Response:
    """Keeps every request for the contract tests; answers 404 for what W&B does not know."""
    arrived = time.monotonic()
    if STATE.offline:
        return JSONResponse({"errors": [{"message": "network down"}]}, status_code=503)
    body = json.loads(await request.body() or b"{}")
    if not body.get("operationName"):
        body.pop("operationName", None)  # the service sends "" for "the only operation"
    operation = _operation_name(body)
    with STATE.lock:
        STATE.requests.append(
            {
                "operationName": operation,
                "query": body.get("query"),
                "variables": body.get("variables"),
                "authorization": bool(request.headers.get("authorization")),
                "headers": {k: v for k, v in request.headers.items() if k in _KEPT_HEADERS},
                "at": time.time(),
            }
        )
    fault = FAULTS.take(operation, body.get("variables"))
    if fault is not None and fault.status is not None:
        await asyncio.sleep(fault.delay)
        content, status, headers = FAULTS.answer(fault)
        return Response(content, status_code=status, headers=headers)
    _, payload = await graphql(schema, body, debug=False)
    messages = [error.get("message", "") for error in payload.get("errors") or []]
    status = 404 if any("not found" in message for message in messages) else 200
    if any(message.startswith(REFUSAL) for message in messages):
        status = 400  # as W&B answers what its scheduler refuses
    if fault is not None:  # a slow server: what it did stands, its answer comes late
        await asyncio.sleep(max(0.0, fault.delay - (time.monotonic() - arrived)))
    return JSONResponse(payload, status_code=status)


async def file_stream(request: Request) -> Response:
    if STATE.offline:
        return JSONResponse({"error": "network down"}, status_code=503)
    body = json.loads(await request.body() or b"{}")
    params = request.path_params
    STATE.file_stream(params["project"], params["run"], body)
    return JSONResponse({"exitcode": None, "limits": {}})


async def upload(request: Request) -> Response:
    await request.body()
    STATE.uploads.append(request.path_params["path"])
    return Response(status_code=200)


async def state(request: Request) -> Response:
    return JSONResponse({**STATE.snapshot(), "faults_applied": FAULTS.applied})


async def control(request: Request) -> Response:
    body = json.loads(await request.body() or b"{}")
    if "faults" in body:
        FAULTS.set(body["faults"])
    if "offline" in body:
        STATE.offline = bool(body["offline"])
    if "sweep_state" in body:
        with STATE.lock:
            STATE.sweep(body["sweep"]).state = body["sweep_state"]
    return JSONResponse({"ok": True})


def build_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/files/{entity}/{project}/{run}/file_stream", file_stream, methods=["POST"]),
            Route("/_upload/{path:path}", upload, methods=["PUT", "POST"]),
            Route("/_state", state, methods=["GET"]),
            Route("/_control", control, methods=["POST"]),
            Route("/graphql", graphql_endpoint, methods=["POST"]),
        ]
    )


def main() -> None:
    global BASE_URL
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    BASE_URL = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(build_app(), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        Path(args.port_file).write_text(str(port))

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
