"""The commands the sweeper prints: join or resume the sweep, re-run a trial.

Each is this process's own command line made to work when pasted anywhere: it starts in the
launch folder (relative paths in the overrides, ``--config-dir`` and ``hydra.sweep.dir`` mean
what they meant), with the interpreter that ran the sweep and the script's absolute path,
and keeps Hydra's ``--config-path``, ``--config-name`` and ``--config-dir``.

It is one simple command, ``sh -c 'cd "$0" && exec "$@"' DIR python ...``, not
``cd DIR && python ...``: an environment prefix such as ``CUDA_VISIBLE_DEVICES=1 <paste>``
(one agent per GPU) must reach the sweeper, and before ``cd DIR &&`` it sets the variable
for ``cd`` alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper.engine.base import Engine
from hydra_wandb_sweeper.searchspace.overrides import override
from hydra_wandb_sweeper.sweep.console import CONTROL_CHARACTERS
from hydra_wandb_sweeper.sweep.slurm_script import SCRIPT_NAME
from hydra_wandb_sweeper.upstream_private import hydra_args_parser

log = logging.getLogger(__name__)

_SWEEP_ID = "hydra.sweeper.sweep_id"
_STORAGE = "hydra.sweeper.storage"
_COUNT = "hydra.sweeper.count"
_AGENTS = "hydra.sweeper.agents"
# Hydra overrides that shape a sweep, not a single run: a re-run leaves them out. The choice
# of hydra/sweeper stays: a config group of the user's (+sweep=plain) may set hydra.sweeper
# keys that only this sweeper's config has.
_SWEEP_ONLY = ("hydra.sweeper", "hydra.launcher", "hydra/launcher", "hydra.sweep.")


@dataclass(frozen=True)
class CommandLine:
    """How this process was started, in the parts the printed commands reuse."""

    launch_dir: str
    program: tuple[str, ...]  # interpreter and script (or ``-m module``)
    flags: tuple[str, ...]  # Hydra's --config-path, --config-name, --config-dir
    overrides: tuple[str, ...]  # the command line's overrides, as typed
    run_overrides: tuple[str, ...]  # Hydra overrides a single re-run keeps
    # Hydra's flags as typed: relative paths resolve from wherever the command runs
    typed_flags: tuple[str, ...] = ()

    def join(self, sweep_id: str, storage: str, count: int | str | None = None) -> str:
        """Joins (or resumes) the sweep; ``count`` replaces the command line's count."""
        return self._shell(self._join_arguments(sweep_id, storage, count, drop_count=False))

    def _join_arguments(
        self, sweep_id: str, storage: str, count: int | str | None, *, drop_count: bool
    ) -> list[str]:
        replaced: tuple[str, ...] = (_SWEEP_ID, _STORAGE, _AGENTS)
        if count is not None or drop_count:
            replaced += (_COUNT,)
        kept = [arg for arg in self.overrides if _key(arg) not in replaced]
        extra = [f"{_SWEEP_ID}={sweep_id}"]
        if not storage.startswith(("http://", "https://")):  # a W&B sweep: its id finds it
            # encoded as a Hydra override value: a storage URL may hold '=' (sqlite:///x.db?timeout=5)
            extra.append(override(_STORAGE, storage))
        if count is not None:
            extra.append(f"{_COUNT}={count}")
        return [*self.flags, "-m", *kept, *extra]

    def slurm_array(self, sweep_id: str, storage: str, agents: int) -> str:
        """``agents`` agents as a SLURM job array of the package's script, which sets count."""
        arguments = self._join_arguments(sweep_id, storage, None, drop_count=True)
        sbatch = ["sbatch", f"--array=0-{agents - 1}", SCRIPT_NAME, "COUNT"]
        return in_folder(self.launch_dir, [*sbatch, *self.program, *arguments])

    def rerun(self, overrides: Sequence[str]) -> str:
        """A single run with a trial's overrides (never a sweep, whatever ``hydra.mode`` says)."""
        trial = [o for o in overrides if o not in self.run_overrides]  # the sweeper's choice
        return self._shell([*self.flags, *self.run_overrides, *trial])

    def portable_program(self) -> tuple[str, ...]:
        """The script (or ``-m module``) as W&B's agent on another machine finds it: relative
        to the launch folder when it lies inside it (the agent runs in that folder of a copy
        of the project), absolute otherwise (an installed script)."""
        launched = self.program[1:]
        if launched[:1] == ("-m",):
            return launched
        script, launch_dir = Path(launched[0]), Path(self.launch_dir).resolve()
        if script.is_relative_to(launch_dir):
            return (str(script.relative_to(launch_dir)),)
        return launched

    def _shell(self, arguments: Sequence[str]) -> str:
        return in_folder(self.launch_dir, [*self.program, *arguments])


def in_folder(folder: str, command: Sequence[str]) -> str:
    """``command`` run in ``folder``, as one command an environment prefix applies to."""
    return shell_join(["sh", "-c", 'cd "$0" && exec "$@"', folder, *command])


def shell_join(arguments: Sequence[str]) -> str:
    """``shlex.join``, but an argument holding control characters (a value with a terminal
    escape code) is written in ANSI-C quotes (``$'\\x1b[31m'``, read by bash, zsh and ksh):
    the command stays one line, pastes back to the same argument, and prints nothing raw."""
    return " ".join(
        _ansi_c_quote(a) if CONTROL_CHARACTERS.search(a) else shlex.quote(a) for a in arguments
    )


def _ansi_c_quote(argument: str) -> str:
    def escaped(character: str) -> str:
        if character in "\\'":
            return "\\" + character
        if CONTROL_CHARACTERS.match(character):
            code = ord(character)
            # \x yields a byte; a C1 character is two bytes in UTF-8: \u writes it
            return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"
        return character

    return "$'" + "".join(escaped(character) for character in argument) + "'"


def this_command_line(config: DictConfig) -> CommandLine:
    args = _hydra_arguments(sys.argv[1:])
    launch_dir = str(config.hydra.runtime.cwd)
    flags = []
    if args.config_path is not None:  # relative to the script, wherever it runs from
        flags.append(f"--config-path={args.config_path}")
    if args.config_name is not None:
        flags.append(f"--config-name={args.config_name}")
    typed_flags = list(flags)
    if args.config_dir is not None:
        flags.append(f"--config-dir={os.path.join(launch_dir, args.config_dir)}")
        typed_flags.append(f"--config-dir={args.config_dir}")
    written = OmegaConf.to_container(config.hydra.overrides.hydra)
    hydra_overrides = [str(o) for o in cast(list[Any], written)]
    run_overrides = [
        o for o in hydra_overrides if not _key(o).startswith((*_SWEEP_ONLY, "hydra.mode"))
    ]
    # whether the sweep was started with -m or by a config that sets hydra.mode: MULTIRUN, a
    # re-run is one run, and says so (no hint about a forgotten -m)
    run_overrides.append("hydra.mode=RUN")
    return CommandLine(
        launch_dir=launch_dir,
        program=(sys.executable, *_program(launch_dir)),
        flags=tuple(flags),
        overrides=tuple(args.overrides),
        run_overrides=tuple(run_overrides),
        typed_flags=tuple(typed_flags),
    )


def _hydra_arguments(argv: list[str]) -> argparse.Namespace:
    """The command line as Hydra read it; as plain overrides when it is not Hydra's (an app
    composed from Python, a test runner's arguments)."""
    parser = hydra_args_parser()  # Hydra's own reading of sys.argv

    def refuse(message: str) -> NoReturn:
        raise ValueError(message)

    parser.error = refuse  # type: ignore[method-assign]
    try:
        return parser.parse_known_args(argv)[0]
    except ValueError:
        return argparse.Namespace(
            config_path=None, config_name=None, config_dir=None, overrides=argv
        )


def _program(launch_dir: str) -> list[str]:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:  # python -m package.module
        return ["-m", spec.name.removesuffix(".__main__")]
    script = sys.argv[0] if sys.argv and sys.argv[0] else "train.py"
    return [str(Path(launch_dir, script).resolve())]


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def program() -> str:
    """This process's script as an absolute path (or ``-m module``): kept with the sweep so
    that ``best`` and ``report`` print a re-run command that works from any folder."""
    return shlex.join(_program(os.getcwd()))


def rerun_command(overrides: Sequence[str], script: str | None = None) -> str:
    """A single run (no -m) of ``script`` (by default this process's) with a trial's overrides."""
    program_args = shlex.split(script) if script else _program(os.getcwd())
    return shell_join([sys.executable, *program_args, *overrides])


def announce_agents(engine: Engine, command_line: CommandLine) -> None:
    """What ``count: 0`` prints: the sweep runs nothing here, and how to start its agents."""
    definition = engine.definition
    ends = definition.method == "grid" or definition.run_cap is not None
    # an agent's count: until the sweep ends (grid, run_cap), else the user's number
    count = "null" if ends else "COUNT"
    sweep_id, storage = engine.sweep_id, engine.location
    log.info(
        f"W&B sweep {sweep_id} | method: {definition.method} | storage: {storage} | "
        "count=0: no trial runs here"
    )
    log.info(
        "Start an agent (in as many terminals or machines as you like; "
        f"{'COUNT: the trials it runs; ' if not ends else ''}"
        "hydra.sweeper.agents=N starts N from one command):"
    )
    log.info("  " + command_line.join(sweep_id, storage, count))
    log.info(
        f"Or as a SLURM job array of 4 agents (`hydra-wandb-sweeper slurm-script --out "
        f"{SCRIPT_NAME}` writes the script; COUNT: the trials each agent runs):"
    )
    log.info("  " + command_line.slurm_array(sweep_id, storage, 4))
