"""Checks of the search space against the composed config, before any trial starts.

A parameter key must exist in the config (or be written ``+key``), and every value of a
config-group parameter must be an option of that group. Hydra would find both mistakes
too, but only when the first job starting with that value composes its config, after
other trials have already run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from hydra.errors import HydraException
from omegaconf import AnyNode, DictConfig, OmegaConf, ValueNode
from omegaconf.errors import OmegaConfBaseException

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.conditions import (
    branches,
    describe,
    parent_name,
    parent_values,
)
from hydra_wandb_sweeper.searchspace.overrides import override
from hydra_wandb_sweeper.searchspace.space import Parameter, SearchSpace
from hydra_wandb_sweeper.upstream_private import child_node

_WHERE = "hydra.sweeper.parameters"


def group_of(key: str) -> str:
    """The config group a key names (``+experiment`` -> ``experiment``, ``db@backup`` -> ``db``)."""
    return key.lstrip("+~").split("@", 1)[0]


def example_value(spec: Mapping[str, Any]) -> Any:
    """A value of the distribution, to compose a probe config with."""
    kind = spec["distribution"]
    if kind == "constant":
        return spec["value"]
    if "values" in spec:
        return spec["values"][0]
    if kind in ("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta"):
        return 0.5 if "beta" in kind else spec["mu"]
    if kind in ("log_uniform", "q_log_uniform"):  # min is a base-e exponent
        return math.exp(spec["min"])
    if kind == "inv_log_uniform":
        return math.exp(-spec["max"])
    return spec["min"]


def infer_group_conditions(
    config_loader: Any, config: DictConfig, space: SearchSpace
) -> tuple[SearchSpace, list[str]]:
    """Conditions the config groups already state: a parameter that only some options of a
    swept config group have (``model.hidden_size`` in ``model=cnn_bilstm`` alone) applies
    only with those options. Returns the space and one sentence per condition found."""
    groups = [
        p
        for p in space.parameters
        if not p.when
        and parent_values(p) is not None
        and config_loader.get_group_options(group_of(p.key))
    ]
    group_keys = {p.key for p in groups}
    candidates = [
        p for p in space.parameters if not p.key.startswith("+") and p.key not in group_keys
    ]
    found: dict[str, dict[str, list[Any]]] = {}
    for group in groups:
        having: dict[str, list[Any]] = {p.key: [] for p in candidates}
        options = parent_values(group) or []
        for option in options:
            try:
                composed = config_loader.load_sweep_config(
                    config, [*space.fixed_overrides, override(group.key, option)]
                )
            except (HydraException, OmegaConfBaseException):
                return space, []  # the checks that follow say what is wrong
            for param in candidates:
                if param.key in _keys_present(composed, [param.key]):
                    having[param.key].append(option)
        for param in candidates:
            partial = 0 < len(having[param.key]) < len(options)
            if partial and parent_name(group.key) not in param.when:
                found.setdefault(param.key, {})[parent_name(group.key)] = having[param.key]
    if not found:
        return space, []
    parameters = tuple(
        dataclasses.replace(p, when={**p.when, **found[p.key]}) if p.key in found else p
        for p in space.parameters
    )
    notes = [
        f"{key} applies only when {describe(condition)}: the other options have no such key"
        for key, condition in found.items()
    ]
    return dataclasses.replace(space, parameters=parameters), notes


def _keys_present(composed: DictConfig, keys: list[str]) -> set[str]:
    missing = object()
    return {
        key
        for key in keys
        if OmegaConf.select(composed, key, default=missing, throw_on_missing=False) is not missing
    }


def check_against_config(config_loader: Any, config: DictConfig, space: SearchSpace) -> None:
    groups = set()
    for param in space.parameters:
        options = config_loader.get_group_options(group_of(param.key))
        if options:
            _check_group_values(param, options)
            groups.add(param.key)
    every_example = {param.key: example_value(param.spec) for param in space.parameters}
    axes = {p.key: parent_values(p) or [every_example[p.key]] for p in space.parameters}
    checked = set(groups)
    # A conditional space composes once per choice its conditions depend on (each model),
    # with the parameters that apply to it.
    for branch in branches(space.parameters, axes):
        assigned = {**every_example, **branch}
        examples = {key: assigned[key] for key in space.active(assigned)}
        try:
            composed = config_loader.load_sweep_config(config, space.job_overrides(examples))
        except (HydraException, OmegaConfBaseException) as error:
            raise _explain(config_loader, config, space, examples, error) from error
        active = [p for p in space.parameters if p.key in examples and p.key not in checked]
        checked.update(p.key for p in active)
        _check_listed_values(config_loader, config, space, active, composed, examples)


def _check_listed_values(
    config_loader: Any,
    config: DictConfig,
    space: SearchSpace,
    parameters: list[Parameter],
    composed: DictConfig,
    examples: Mapping[str, Any],
) -> None:
    # The other listed values must fit too (a string where a typed config holds an int, an
    # enum field that takes only some strings). A typed leaf checks each value in place;
    # anything else is composed once per type of value. Composing costs time in proportion
    # to the whole space, so composing once per value would grow with its square.
    for param in parameters:
        leaf = _value_node(composed, param.key)
        values = param.spec.get("values", [])
        probed = {type(values[0])} if values else set()
        for value in values[1:]:
            if leaf is not None:
                _check_leaf_value(leaf, param, value)
            elif type(value) not in probed:
                probed.add(type(value))
                try:
                    config_loader.load_sweep_config(
                        config, space.job_overrides({**examples, param.key: value})
                    )
                except (HydraException, OmegaConfBaseException) as error:
                    raise _cannot_compose(param, value, error) from error


def _value_node(composed: DictConfig, key: str) -> ValueNode | None:
    """The typed leaf node a dotted key names in the composed config, if it is one."""
    parent_key, _, name = key.lstrip("+").rpartition(".")
    try:
        parent = OmegaConf.select(composed, parent_key) if parent_key else composed
        node = child_node(parent, name) if isinstance(parent, DictConfig) else None
    except OmegaConfBaseException:
        return None
    return node if isinstance(node, ValueNode) and not isinstance(node, AnyNode) else None


def _check_leaf_value(leaf: ValueNode, param: Parameter, value: Any) -> None:
    try:
        leaf.validate_and_convert(value)
    except OmegaConfBaseException as error:
        raise _cannot_compose(param, value, error) from None


def _check_group_values(param: Parameter, options: list[str]) -> None:
    values = param.spec.get("values")
    if values is None and "value" in param.spec:
        values = [param.spec["value"]]
    if values is None:
        raise SweepConfigError(
            f"{_WHERE}.{param.key}",
            f"{param.key!r} is a config group: it needs a list of options (values: [...]), "
            f"not a {param.spec['distribution']} distribution. Options: {', '.join(options)}",
        )
    unknown = [value for value in values if value is not None and str(value) not in options]
    if unknown:
        raise SweepConfigError(
            f"{_WHERE}.{param.key}",
            f"{', '.join(map(repr, unknown))} not an option of config group "
            f"{group_of(param.key)!r}. Options: {', '.join(options)}",
        )


def _explain(
    config_loader: Any,
    config: DictConfig,
    space: SearchSpace,
    examples: Mapping[str, Any],
    error: Exception,
) -> SweepConfigError:
    """Find the override that breaks composition (a fixed one, or a parameter) and say so."""
    fixed = list(space.fixed_overrides)
    try:
        config_loader.load_sweep_config(config, fixed)
    except (HydraException, OmegaConfBaseException) as fixed_error:
        return _fixed_overrides_error(fixed, fixed_error)
    for param in space.parameters:
        if param.key not in examples:
            continue
        context = _parents(space, param, examples)
        probe = [*fixed, *(override(k, v) for k, v in context.items())]
        probe.append(override(param.key, examples[param.key]))
        try:
            config_loader.load_sweep_config(config, probe)
        except (HydraException, OmegaConfBaseException) as param_error:
            return _cannot_compose(param, examples[param.key], param_error, context)
    return _fixed_overrides_error(fixed, error)


def _fixed_overrides_error(fixed: list[str], error: Exception) -> SweepConfigError:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    hint = next((line for line in lines[1:] if line.startswith("To append")), "")
    return SweepConfigError(
        "command line",
        f"the config cannot be composed with {' '.join(fixed) or 'no overrides'}: "
        f"{lines[0] if lines else error!r}{' ' + hint if hint else ''}",
    )


def _parents(space: SearchSpace, param: Parameter, examples: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the parameters ``param``'s condition depends on, theirs first."""
    by_name = {parent_name(p.key): p for p in space.parameters}
    context: dict[str, Any] = {}
    for name in param.when:
        parent = by_name[name]
        context.update(_parents(space, parent, examples))
        context[parent.key] = examples[parent.key]
    return context


def _cannot_compose(
    param: Parameter, value: Any, error: Exception, context: Mapping[str, Any] | None = None
) -> SweepConfigError:
    hint = ""
    if not param.key.startswith("+") and "+" + param.key in str(error):
        hint = f" To add a key that is not in the config, write '+{param.key}'."
    if context:
        chosen = " ".join(override(k, v) for k, v in context.items())
        hint += (
            f" It applies when {describe(param.when)}: leave out of its when: the choices "
            "that have no such key"
        )
        value_text = f"{value!r} (with {chosen})"
    else:
        value_text = repr(value)
    return SweepConfigError(
        f"{_WHERE}.{param.key}",
        f"the config cannot be composed with {param.key}={value_text}: {_first_line(error)}.{hint}",
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0].rstrip(".")
