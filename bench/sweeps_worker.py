"""W&B's own engine (the ``sweeps`` package) answering one request per stdin line.

Runs inside the benchmark's separate virtual environment (``sweeps`` pins numpy<2), so it
imports nothing from this project. A request is ``{"config", "runs": [[params, value], ...],
"seed"}``; the answer is ``{"params", "cpu_s"}`` where ``cpu_s`` is the CPU time of
``sweeps.next_run`` alone, as W&B's controller spends it for one suggestion.
"""

import json
import random
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import sweeps  # noqa: E402


def plain(value):
    return value.item() if hasattr(value, "item") else value


def answer(request):
    metric = request["config"]["metric"]["name"]
    runs = [
        sweeps.SweepRun(
            name=f"run{index}",
            state=sweeps.RunState.finished,
            config={key: {"value": value} for key, value in params.items()},
            summary_metrics={metric: value},
        )
        for index, (params, value) in enumerate(request["runs"])
    ]
    if request.get("seed") is not None:
        np.random.seed(request["seed"])
        random.seed(request["seed"])
    start = time.process_time()
    run = sweeps.next_run(request["config"], runs)
    cpu = time.process_time() - start
    params = {key: plain(entry["value"]) for key, entry in run.config.items()}
    return {"params": params, "cpu_s": cpu}


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
