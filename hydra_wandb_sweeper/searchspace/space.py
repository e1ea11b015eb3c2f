"""The search space: ``hydra.sweeper.parameters`` + command-line sweeps → one canonical space.

Pure functions, no I/O. Parameters come from two places, merged in this order:

1. ``hydra.sweeper.parameters``: W&B parameter dicts (nested ``parameters:`` blocks become
   dotted keys) or Hydra sweep strings (see :mod:`hydra_wandb_sweeper.searchspace.hydra_grammar`).
2. The command-line overrides Hydra hands the sweeper. A sweep (``model=a,b``) adds or
   replaces that key's parameter; a plain override (``trainer.max_epochs=3``) or a
   deletion (``~foo``) fixes the key: it is passed unchanged to every job and removes the
   key from the space. For the same key the later one wins, the command line last.

A key is identified without its ``+``/``++`` prefix (``+experiment`` and ``experiment`` are
one parameter); the spelling that came last is kept, since that is the override jobs need.

W&B names (``wandb_name_for``): W&B parameter names must match
``^[A-Za-z_][A-Za-z0-9_.-]*$``, so a leading ``+``/``++`` is dropped, ``/`` becomes ``.``
(Hydra's default package of group ``data/aug`` is ``data.aug``) and ``@`` becomes ``-at-``
(``db@backup`` → ``db-at-backup``). Two keys mapping to one name are an error.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace import distributions
from hydra_wandb_sweeper.searchspace.conditions import (
    active_keys,
    check_conditions,
    parent_name,
    split_when,
)
from hydra_wandb_sweeper.searchspace.distributions import spec_from_wandb_dict
from hydra_wandb_sweeper.searchspace.hydra_grammar import (
    GroupOptions,
    is_hydra_key,
    parse_override,
    wandb_dict_from_override,
)
from hydra_wandb_sweeper.searchspace.overrides import override, to_python_value

__all__ = [
    "Parameter",
    "SearchSpace",
    "build_search_space",
    "canonical_spec",
    "grid_values",
    "wandb_name_for",
]

_WANDB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ParameterId = tuple[str, str | None]  # (key or group without +/++, package)


@dataclass(frozen=True)
class Parameter:
    """One swept key. ``spec`` is a canonical W&B distribution dict; treat it as read-only."""

    key: str
    wandb_name: str
    spec: Mapping[str, Any]
    # Where the spec was written (a config path or a command-line override), for errors.
    origin: str = field(default="", compare=False)
    # Index of its command-line override (-1: from the config), to keep the user's order.
    position: int = field(default=-1, compare=False)
    # When it applies (``when:``, see searchspace/conditions.py); empty: always.
    when: Mapping[str, Sequence[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSpace:
    parameters: tuple[Parameter, ...]
    fixed_overrides: tuple[str, ...] = ()
    # index of each fixed override on the command line (empty: after the parameters)
    fixed_positions: tuple[int, ...] = ()

    def by_key(self) -> dict[str, Parameter]:
        return {p.key: p for p in self.parameters}

    def name_map(self) -> dict[str, str]:
        """Hydra key → W&B name, for the keys whose W&B name differs."""
        return {p.key: p.wandb_name for p in self.parameters if p.key != p.wandb_name}

    def wandb_parameters(self) -> dict[str, dict[str, Any]]:
        """``{wandb_name: spec}``: the ``parameters`` of a W&B sweep config (copies)."""
        return {p.wandb_name: to_python_value(p.spec) for p in self.parameters}

    @property
    def conditional(self) -> bool:
        return any(p.when for p in self.parameters)

    def active(self, values: Mapping[str, Any]) -> list[str]:
        """The keys that apply with ``values`` (all of them in a space without conditions)."""
        return active_keys(self.parameters, values)

    def to_overrides(self, values: Mapping[str, Any]) -> list[str]:
        """Hydra overrides for one trial, in parameter order; ``values`` is keyed by
        ``Parameter.key`` and holds exactly the parameters that apply (inactive ones absent)."""
        expected = self.active(values)
        missing = [key for key in expected if key not in values]
        unknown = [key for key in values if key not in expected]
        if missing or unknown:
            raise ValueError(
                f"trial values must have exactly the keys {expected}; "
                f"missing {missing}, unknown {unknown}"
            )
        return [override(p.key, values[p.key]) for p in self.parameters if p.key in values]

    def job_overrides(self, values: Mapping[str, Any]) -> list[str]:
        """A trial's whole override list: configured parameters, then the command line's
        sweeps and fixed values in the order they were written, as Hydra's basic sweeper keeps."""
        positions = self.fixed_positions or (len(self.parameters),) * len(self.fixed_overrides)
        entries = [
            *zip(
                (p.position for p in self.parameters if p.key in values),
                self.to_overrides(values),
                strict=True,
            ),
            *zip(positions, self.fixed_overrides, strict=True),
        ]
        return [line for _, line in sorted(entries, key=lambda entry: entry[0])]


def build_search_space(
    config_parameters: Mapping[str, Any] | None,
    arguments: Sequence[str],
    *,
    where: str = "hydra.sweeper.parameters",
    group_options: GroupOptions | None = None,
) -> SearchSpace:
    """Merge the configured parameters and the command-line overrides into one space.

    ``group_options`` lists a config group's options, for ``glob(...)`` sweeps.
    """
    parameters: dict[_ParameterId, Parameter] = {}
    for key, written in _flatten_parameters(plain(config_parameters) or {}, where):
        origin = f"{where}.{key}"
        raw, when = split_when(written, origin)
        parsed = _parse_config_key(key, origin)
        parameter_id = _identity(parsed)
        if parameter_id in parameters:
            raise SweepConfigError(
                origin,
                f"'{key}' and '{parameters[parameter_id].key}' are the same Hydra key; keep one",
            )
        spec = canonical_spec(key, raw, where=where, group_options=group_options)
        parameters[parameter_id] = _parameter(key, spec, origin, when=when)

    fixed: list[tuple[_ParameterId, str, int]] = []
    for position, line in enumerate(arguments):
        parsed = parse_override(line, line)
        parameter_id = _identity(parsed)
        fixed = [entry for entry in fixed if entry[0] != parameter_id]
        if parsed.is_sweep_override() and not parsed.is_delete():
            _reject_hydra_key(parsed, line)
            spec = spec_from_wandb_dict(wandb_dict_from_override(parsed, line, group_options), line)
            # the command line's values replace the configured ones; its condition stays
            configured = parameters.get(parameter_id)
            condition: Mapping[str, Sequence[Any]] = (
                configured.when if configured is not None else {}
            )
            parameters[parameter_id] = _parameter(
                parsed.get_key_element(), spec, line, position, when=condition
            )
        else:
            parameters.pop(parameter_id, None)
            fixed.append((parameter_id, line, position))

    chosen = _resolve_fixed_conditions(list(parameters.values()), [line for _, line, _ in fixed])
    _check_unique_wandb_names(chosen)
    check_conditions(chosen, {p.key: p.origin for p in chosen})
    return SearchSpace(
        tuple(chosen),
        tuple(text for _, text, _ in fixed),
        tuple(position for _, _, position in fixed),
    )


def canonical_spec(
    key: str, raw: Any, *, where: str, group_options: GroupOptions | None = None
) -> dict[str, Any]:
    """One parameter (a W&B dict, a Hydra sweep string or a plain value) → canonical spec."""
    origin = f"{where}.{key}" if where else key
    _parse_config_key(key, origin)
    raw = plain(raw)
    if isinstance(raw, Mapping):
        return spec_from_wandb_dict(raw, origin)
    if isinstance(raw, str):
        parsed = parse_override(f"{key}={raw}", origin)
        return spec_from_wandb_dict(wandb_dict_from_override(parsed, origin, group_options), origin)
    if raw is None or isinstance(raw, (bool, int, float)):
        return spec_from_wandb_dict({"value": raw}, origin)
    raise SweepConfigError(
        origin,
        f"expected a W&B parameter dict or a Hydra sweep string, got {raw!r}; "
        f"write {{values: {raw!r}}} to choose among values, or {{value: ...}} for a constant",
    )


def grid_values(param: Parameter) -> list[Any]:
    """The values ``method: grid`` goes through for ``param``; continuous ones raise."""
    return distributions.grid_values(param.spec, param.origin or param.key)


def wandb_name_for(key: str) -> str:
    """The W&B parameter name of a Hydra override key (rule in the module docstring)."""
    name = key.removeprefix("++").removeprefix("+").replace("/", ".").replace("@", "-at-")
    if not _WANDB_NAME.fullmatch(name):
        raise SweepConfigError(
            key,
            f"cannot make a W&B parameter name of '{key}' (got '{name}'); W&B names must match "
            "^[A-Za-z_][A-Za-z0-9_.-]*$, so rename the config key",
        )
    return name


def _parameter(
    key: str,
    spec: dict[str, Any],
    origin: str,
    position: int = -1,
    when: Mapping[str, Sequence[Any]] | None = None,
) -> Parameter:
    try:
        wandb_name = wandb_name_for(key)
    except SweepConfigError as error:
        raise SweepConfigError(origin, error.message) from None
    return Parameter(
        key=key,
        wandb_name=wandb_name,
        spec=spec,
        origin=origin,
        position=position,
        when=dict(when or {}),
    )


def _resolve_fixed_conditions(parameters: list[Parameter], fixed: Sequence[str]) -> list[Parameter]:
    """A condition on a key the command line fixes (``model=mlp``) is decided once: the
    parameter always applies (its condition on that key dropped) or never (left out of the
    space, and so are the parameters that depend on it)."""
    values: dict[str, Any] = {}
    for line in fixed:
        parsed = parse_override(line, line)
        name = parent_name(parsed.key_or_group)
        values[name] = None if parsed.is_delete() else parsed.value()
    names = {parent_name(p.key) for p in parameters}
    kept = set(names)
    resolved: list[Parameter] = []
    for param in parameters:
        when = dict(param.when)
        for name in [name for name in when if name in values and name not in names]:
            if values[name] is None or values[name] not in when.pop(name):
                kept.discard(parent_name(param.key))
        resolved.append(dataclasses.replace(param, when=when))
    removed = True
    while removed:  # a parameter that never applies takes its dependents with it
        removed = False
        for param in resolved:
            name = parent_name(param.key)
            if name in kept and any(n in names and n not in kept for n in param.when):
                kept.discard(name)
                removed = True
    return [p for p in resolved if parent_name(p.key) in kept]


def plain(raw: Any) -> Any:
    """OmegaConf containers as plain Python containers, interpolations resolved."""
    if isinstance(raw, (DictConfig, ListConfig)):
        return OmegaConf.to_container(raw, resolve=True)
    return raw


def _flatten_parameters(parameters: Any, path: str, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted key, raw spec)`` pairs; W&B's nested ``parameters:`` blocks join keys with dots."""
    if not isinstance(parameters, Mapping):
        raise SweepConfigError(
            path, f"expected a mapping of parameter keys to specs, got {parameters!r}"
        )
    entries: list[tuple[str, Any]] = []
    for name, raw in parameters.items():
        key = f"{prefix}{name}"
        if isinstance(raw, Mapping) and "parameters" in raw and len(raw) == 1:
            if not raw["parameters"]:
                raise SweepConfigError(
                    f"{path}.{key}.parameters", "is empty; give at least one nested parameter"
                )
            entries += _flatten_parameters(raw["parameters"], f"{path}.{key}.parameters", f"{key}.")
        else:
            entries.append((key, raw))
    return entries


def _parse_config_key(key: Any, origin: str) -> Override:
    if not isinstance(key, str) or not key:
        raise SweepConfigError(origin, f"parameter keys must be Hydra override keys, got {key!r}")
    not_a_key = SweepConfigError(
        origin,
        f"'{key}' is not a Hydra override key to sweep; expected a dotted key "
        "(optimizer.lr), a group (model, data/aug, db@backup) or +key / ++key",
    )
    try:
        parsed = parse_override(f"{key}=0", origin)
    except SweepConfigError:
        raise not_a_key from None
    if parsed.get_key_element() != key or parsed.is_delete():
        raise not_a_key
    _reject_hydra_key(parsed, origin)
    return parsed


def _reject_hydra_key(parsed: Override, origin: str) -> None:
    if is_hydra_key(parsed):
        raise SweepConfigError(
            origin,
            f"'{parsed.key_or_group}' is part of Hydra's own config, which a sweep cannot "
            "change per trial (Hydra applies it once, before the sweeper runs); set it "
            "once, e.g. on the command line without a sweep",
        )


def _identity(parsed: Override) -> _ParameterId:
    return (parsed.key_or_group, parsed.package)


def _check_unique_wandb_names(parameters: Iterable[Parameter]) -> None:
    seen: dict[str, Parameter] = {}
    for parameter in parameters:
        other = seen.setdefault(parameter.wandb_name, parameter)
        if other is not parameter:
            raise SweepConfigError(
                parameter.origin,
                f"'{parameter.key}' and '{other.key}' both map to the W&B parameter name "
                f"'{parameter.wandb_name}'; sweep only one of them",
            )
