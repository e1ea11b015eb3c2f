"""Why a launch failed: Hydra could not compose a trial's job, the user interrupted it, the
disk the jobs write to failed, or the launcher itself failed (a worker killed, a cluster job
lost)."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any

from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

_COMPOSITION_ERRORS = (ConfigCompositionException, OverrideParseException, OmegaConfBaseException)
# a full disk, a quota or file-size limit, a read-only mount: the machine, not the trial
_DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}


def interrupted(error: BaseException) -> bool:
    """Ctrl+C or SIGTERM during a launch, even when Hydra wrapped it in its own error."""
    return any(isinstance(link, KeyboardInterrupt) for link in _chain(error))


def disk_fault(error: BaseException) -> OSError | None:
    """The disk error under a launcher's failure, if that is what it was: a worker that
    cannot write its result (joblib's, submitit's files) fails the way the trial's own report
    to the storage would, and its trials are not to blame."""
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in _DISK_ERRNOS:
            return link
    return None


def uncomposable_jobs(
    error: Exception, config_loader: Any, config: DictConfig, batch: Sequence[Sequence[str]]
) -> dict[int, str]:
    """The jobs of ``batch`` (by index) that Hydra cannot compose, each with Hydra's reason;
    empty when the launch failed for another reason."""
    if not any(isinstance(link, _COMPOSITION_ERRORS) for link in _chain(error)):
        return {}
    reasons = {}
    for index, overrides in enumerate(batch):
        try:
            config_loader.load_sweep_config(config, list(overrides))
        except Exception as composing:  # whatever Hydra or OmegaConf raise: that is the reason
            reasons[index] = message(composing)
    return reasons


def message(error: BaseException) -> str:
    """The first line that says something: Hydra often wraps OmegaConf's error in an empty one."""
    for link in _chain(error):
        text = str(link).strip()
        if text:
            return text.splitlines()[0]
    return type(error).__name__


def _chain(error: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in links:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links
