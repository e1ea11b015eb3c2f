"""Files in the sweep folder through which a cloud trial's job and its agent talk.

The job may run in this process, a joblib worker or a submitit job on another node that
shares the sweep folder, so a file is the one channel that reaches it everywhere: the agent
writes ``stop-<run>`` when W&B stops the run; the job writes ``stopped-<run>.json`` when it
ended because of it and ``result-<run>.json`` when its task returned.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def stop_request(state_dir: Path, run_id: str) -> Path:
    return state_dir / f"stop-{run_id}"


def stopped_note(state_dir: Path, run_id: str) -> Path:
    return state_dir / f"stopped-{run_id}.json"


def result_note(state_dir: Path, run_id: str) -> Path:
    return state_dir / f"result-{run_id}.json"


def write_json(path: Path, content: Any) -> None:
    """Written to a temporary name and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(content))
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def claim_trial_number(state_dir: Path) -> int:
    """The lowest trial number no process sharing this folder has taken (atomic create)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    number = len(list(state_dir.glob("trial-*")))
    while True:
        try:
            os.close(os.open(state_dir / f"trial-{number}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return number
        except FileExistsError:
            number += 1
