"""The commands the sweeper prints: join or resume the sweep, re-run a trial."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

from hydra_wandb_sweeper.searchspace.overrides import override

_SWEEP_ID = "hydra.sweeper.sweep_id="
_STORAGE = "hydra.sweeper.storage="


def program() -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else "train.py"


def join_command(sweep_id: str, storage: str) -> str:
    """This process's command line, pointed at the sweep and its storage, so that it joins
    from any folder (and any machine that sees the same storage)."""
    args = [arg for arg in sys.argv[1:] if not arg.startswith((_SWEEP_ID, _STORAGE))]
    if "-m" not in args and "--multirun" not in args:
        args.insert(0, "-m")
    # encoded as Hydra override values: a storage URL may hold '=' (sqlite:///x.db?timeout=5)
    joined = [_SWEEP_ID + sweep_id, override(_STORAGE[:-1], storage)]
    return shlex.join(["python", program(), *args, *joined])


def rerun_command(overrides: Sequence[str]) -> str:
    """A single run (no -m) with a trial's overrides."""
    return shlex.join(["python", program(), *overrides])
