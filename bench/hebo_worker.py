"""HEBO answering one request per stdin line (runs in HEBO's own virtual environment).

Imports nothing from this project. Requests: ``{"op": "start", "parameters": <W&B block>,
"seed": s}`` starts a fresh optimiser; ``{"op": "suggest"}`` answers ``{"params", "cpu_s"}``;
``{"op": "observe", "params", "value"}`` tells it a loss.
"""

import json
import os
import random
import sys
import time
import warnings

warnings.filterwarnings("ignore")
# answers go to the real stdout; anything HEBO or its optimisers print goes to stderr
ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

import numpy as np  # noqa: E402
import torch  # noqa: E402
from hebo.design_space.design_space import DesignSpace  # noqa: E402
from hebo.optimizers.hebo import HEBO  # noqa: E402

torch.set_num_threads(1)


def design(parameters):
    """HEBO's space: log scales as 'pow'/'pow_int', categories by their text."""
    space, choices = [], {}
    for name, spec in parameters.items():
        kind = spec.get("distribution")
        if "values" in spec:
            choices[name] = {str(v): v for v in spec["values"]}
            space.append({"name": name, "type": "cat", "categories": list(choices[name])})
        elif kind == "log_uniform_values":
            space.append({"name": name, "type": "pow", "lb": spec["min"], "ub": spec["max"]})
        elif kind == "q_log_uniform_values":
            space.append({"name": name, "type": "pow_int", "lb": spec["min"], "ub": spec["max"]})
        elif isinstance(spec["min"], int) and isinstance(spec["max"], int):
            space.append({"name": name, "type": "int", "lb": spec["min"], "ub": spec["max"]})
        else:
            space.append({"name": name, "type": "num", "lb": spec["min"], "ub": spec["max"]})
    return DesignSpace().parse(space), choices


def plain(value):
    return value.item() if hasattr(value, "item") else value


class Session:
    def __init__(self, parameters, seed):
        np.random.seed(seed)
        random.seed(seed)
        torch.manual_seed(seed)
        self.space, self.choices = design(parameters)
        self.optimiser = HEBO(self.space, scramble_seed=seed)
        self.pending = None

    def suggest(self):
        start = time.process_time()
        self.pending = self.optimiser.suggest(n_suggestions=1)
        cpu = time.process_time() - start
        row = self.pending.iloc[0].to_dict()
        params = {}
        for name, value in row.items():
            value = plain(value)
            params[name] = self.choices[name][str(value)] if name in self.choices else value
        return {"params": params, "cpu_s": cpu}

    def observe(self, value):
        self.optimiser.observe(self.pending, np.array([[float(value)]]))
        self.pending = None
        return {"ok": True}


session = None
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "start":
        session = Session(request["parameters"], request["seed"])
        answer = {"ok": True}
    elif request["op"] == "suggest":
        answer = session.suggest()
    else:
        answer = session.observe(request["value"])
    ANSWERS.write(json.dumps(answer) + "\n")
    ANSWERS.flush()
