"""W&B's command macros in a pasted sweep file, kept from Hydra's interpolation.

A W&B sweep file's ``command:`` holds macros (``${env}``, ``${program}``, ``${args}``) that
OmegaConf would read as its own interpolations: Hydra resolves the sweeper's config when it
creates the sweeper and would fail on them, before the sweeper could say anything. This
callback, which ``hydra/sweeper=wandb`` adds to ``hydra.callbacks``, escapes them first, so
that the sweeper receives them as written. Other interpolations are left to Hydra, but one
that cannot be resolved (``${oc.env:UNSET}`` in the search space) is refused here in one
line naming its key, instead of the traceback of OmegaConf's resolution inside Hydra; and
another sweeper's ``_target_`` that a config set after this sweeper was chosen is taken
back, so that its keys are answered by the settings check instead of Hydra's traceback.

The same callback, present whenever ``hydra/sweeper=wandb`` is selected, is the only code of
the plugin that runs when the app is started without ``-m``: Hydra then runs one job and no
sweeper. It says so in one line when a search space is configured, since the sweep the user
meant to start would otherwise silently not happen.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf, read_write
from omegaconf.errors import InterpolationResolutionError

from hydra_wandb_sweeper.config import SHIM_TARGET
from hydra_wandb_sweeper.upstream_private import child_node, raw_value

log = logging.getLogger(__name__)

# the macros W&B's agent expands in a sweep's command
_MACRO = re.compile(
    r"(?<!\\)\$\{(env|interpreter|program|project|entity|"
    r"args|args_no_hyphens|args_no_boolean_flags|args_json|args_json_file)\}"
)


class EscapeCommandMacros(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweeper = config.hydra.get("sweeper")
        _claim_target(sweeper)
        _escape_macros(sweeper)
        if isinstance(sweeper, DictConfig):
            _refuse_unresolvable(sweeper)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweeper = config.hydra.get("sweeper")
        if not isinstance(sweeper, DictConfig) or sweeper.get("_target_") != SHIM_TARGET:
            return
        parameters = OmegaConf.select(sweeper, "parameters", default=None) or OmegaConf.select(
            sweeper, "params", default=None
        )
        # hydra.mode=RUN typed (the printed re-run of a trial has it): one run asked for, not
        # a forgotten -m. Read from the command line: Hydra adds it to the overrides itself.
        if not parameters or any(arg.startswith("hydra.mode=") for arg in sys.argv[1:]):
            return
        log.warning(
            "hydra/sweeper=wandb has a search space, but without -m (--multirun) Hydra runs "
            "the app once and no sweep: add -m to run the sweep"
        )


def _claim_target(sweeper: Any) -> None:
    """A config written for another sweeper (lightning-hydra-template's
    ``hparams_search/*_optuna.yaml``) sets ``hydra.sweeper._target_`` to that sweeper's class
    after ``hydra/sweeper=wandb`` chose this one: Hydra would then end in a traceback
    ("Unknown plugin class"). This callback is there only when this sweeper was chosen, so
    the sweeper runs, and its settings check names each foreign key with its equivalent."""
    if not isinstance(sweeper, DictConfig):
        return
    target = raw_value(sweeper, "_target_")
    if target == SHIM_TARGET or not isinstance(target, str):
        return
    log.warning(
        f"hydra.sweeper._target_ is {target!r} (a config written for another sweeper); "
        "hydra/sweeper=wandb runs this sweeper. `hydra-wandb-sweeper translate FILE` "
        "rewrites such a config"
    )
    with read_write(sweeper):
        sweeper._target_ = SHIM_TARGET


def _escape_macros(sweeper: Any) -> None:
    command = child_node(sweeper, "command") if isinstance(sweeper, DictConfig) else None
    if not isinstance(command, ListConfig):
        return
    with read_write(command):
        for index in range(len(command)):
            raw = raw_value(command, index)  # as written, unresolved
            if isinstance(raw, str) and _MACRO.search(raw):
                command[index] = _MACRO.sub(r"\\${\1}", raw)


def _refuse_unresolvable(sweeper: DictConfig) -> None:
    # Hydra resolves the node just after this callback, the same way; SystemExit because
    # Hydra turns any other exception of a callback into a warning and goes on
    try:
        OmegaConf.to_container(sweeper, resolve=True)
    except InterpolationResolutionError as error:
        reason = str(error.msg).splitlines()[0]  # the lines after it repeat the key
        raise SystemExit(
            f"{error.full_key}: {reason}. Expected a value, or an interpolation that "
            "resolves when the sweep starts"
        ) from None
