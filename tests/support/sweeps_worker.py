"""W&B's scheduler answering JSON requests, one per stdin line, one answer per stdout line.

Runs in the ``sweeps`` virtual environment (:mod:`tests.support.sweeps_venv`), so it imports
nothing from this project. It lives as long as its parent: importing ``sweeps`` (numpy,
scipy, scikit-learn) takes seconds, a request milliseconds. Requests:

- ``{"op": "next_run", "config", "runs"}`` -> ``{"config": <run config> | null}`` (null: the
  grid is done);
- ``{"op": "stop_runs", "config", "runs"}`` -> ``{"stop": [run names]}``;
- ``{"op": "stop_runs_many", "config", "runs_list": [runs, ...]}`` -> ``{"stop": [[names], ...]}``:
  ``stop_runs`` once per list, in one exchange;
- ``{"op": "violations", "config"}`` -> ``{"violations": [...]}`` (W&B's schema check);
- ``{"op": "seed", "seed"}`` -> ``{}``: random and bayes draws repeat from here on.

``runs`` are W&B's run documents as its scheduler reads them (``name``, ``state``,
``config``, ``summaryMetrics``, ``history``, ``stopped``, ``shouldStop``). A request W&B's
scheduler refuses is answered ``{"error": "<its message>"}``.
"""

import json
import random
import sys
import traceback
import warnings

warnings.filterwarnings("ignore")  # pydantic's v1-style config notes; answers only on stdout

import numpy as np  # noqa: E402
import sweeps  # noqa: E402


def plain(value):
    """numpy scalars as Python numbers, for JSON."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot send {type(value).__name__}")


def stopped(config, runs):
    return [run.name for run in sweeps.stop_runs(config, runs)]


def answer(request):
    op = request["op"]
    if op == "seed":
        np.random.seed(request["seed"])
        random.seed(request["seed"])
        return {}
    if op == "violations":
        return {"violations": sweeps.schema_violations_from_proposed_config(request["config"])}
    runs = [sweeps.SweepRun(**run) for run in request.get("runs", [])]
    if op == "next_run":
        run = sweeps.next_run(request["config"], runs)
        return {"config": None if run is None else run.config}
    if op == "stop_runs":
        return {"stop": stopped(request["config"], runs)}
    if op == "stop_runs_many":
        return {
            "stop": [
                stopped(request["config"], [sweeps.SweepRun(**run) for run in runs])
                for runs in request["runs_list"]
            ]
        }
    raise ValueError(f"unknown op {op!r}")


def main():
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except Exception as error:  # W&B's scheduler refusing a config or its runs
            traceback.print_exc(file=sys.stderr)
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply, default=plain), flush=True)


if __name__ == "__main__":
    main()
