"""Conditional parameters: ``when:`` says which values of another parameter make one apply.

```yaml
parameters:
  model: {values: [cnn_tcn, cnn_bilstm, mlp]}
  model.hidden_size: {values: [32, 64, 128], when: {model: cnn_bilstm}}
  model.kernel_size: {values: [3, 5, 7], when: {model: [cnn_tcn, cnn_bilstm]}}
```

``when`` maps parameter keys (a config group or a categorical parameter, written as in
``parameters``, ``+`` optional) to one value or a list of values; the parameter applies
when every named parameter applies and holds one of its listed values. A parameter that
does not apply in a trial is *inactive*: it is not sampled, no override reaches Hydra, and
the job keeps the config's own value. The word and the mapping read like W&B's parameter
dicts (a field beside ``values``) and like Hydra's ``key: option`` choices.

Pure functions: the space's parameters carry their conditions (``Parameter.when``); which
parameters a set of values activates is decided here for every engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from hydra_wandb_sweeper.errors import SweepConfigError

WHEN = "when"
# W&B's distributions whose values are a finite list a condition can name
_DISCRETE = ("categorical", "categorical_w_probabilities", "constant")

Condition = Mapping[str, Sequence[Any]]  # parent key (without +) -> values that activate


class Conditional(Protocol):
    # read-only: the search space's parameters are frozen dataclasses
    @property
    def key(self) -> str: ...
    @property
    def spec(self) -> Mapping[str, Any]: ...
    @property
    def when(self) -> Condition: ...


C = TypeVar("C", bound=Conditional)


def parent_name(key: str) -> str:
    """How a condition names a parameter: its key without ``+``/``++``."""
    return key.lstrip("+")


def split_when(raw: Any, origin: str) -> tuple[Any, dict[str, list[Any]]]:
    """``(spec without when, condition)`` of one written parameter; ``{}`` when it has none."""
    if not isinstance(raw, Mapping) or WHEN not in raw:
        return raw, {}
    spec = {name: value for name, value in raw.items() if name != WHEN}
    return spec, parse_when(raw[WHEN], f"{origin}.{WHEN}")


def parse_when(raw: Any, origin: str) -> dict[str, list[Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise SweepConfigError(
            origin,
            f"got {raw!r}, expected a mapping of parameter to value(s), "
            "e.g. when: {model: cnn_bilstm} or when: {model: [cnn_tcn, cnn_bilstm]}",
        )
    condition: dict[str, list[Any]] = {}
    for name, values in raw.items():
        listed = list(values) if isinstance(values, (list, tuple)) else [values]
        if not isinstance(name, str) or not name or not listed:
            raise SweepConfigError(
                origin, f"{name!r}: {values!r} names no parameter or no value to apply with"
            )
        condition[parent_name(name)] = listed
    return condition


def check_conditions(parameters: Sequence[Conditional], origins: Mapping[str, str]) -> None:
    """Each condition names a discrete parameter of the space and values it can take; no
    parameter depends on itself, directly or through others."""
    by_name = {parent_name(p.key): p for p in parameters}
    for param in parameters:
        where = f"{origins.get(param.key, param.key)}.{WHEN}"
        for name, values in param.when.items():
            parent = by_name.get(name)
            if parent is None:
                # only the parameters a condition could name: a key fixed in the config is
                # the same in every trial, so it cannot decide whether another applies
                candidates = sorted(
                    other
                    for other, p in by_name.items()
                    if p is not param and parent_values(p) is not None
                )
                raise SweepConfigError(
                    where,
                    f"names {name!r}, which is not swept; a condition names a parameter of "
                    "this sweep with a list of values or a swept config group: "
                    f"{', '.join(candidates) or 'this sweep has none'}",
                )
            choices = parent_values(parent)
            if choices is None:
                raise SweepConfigError(
                    where,
                    f"names {name!r}, a {parent.spec['distribution']} parameter; a condition "
                    "needs a parameter with a list of values (values: [...]) or a config group",
                )
            unknown = [value for value in values if value not in choices]
            if unknown:
                raise SweepConfigError(
                    where,
                    f"{', '.join(map(repr, unknown))} is not a value of {name!r}; "
                    f"its values: {', '.join(map(str, choices))}",
                )
    ordered(parameters)


def parent_values(param: Conditional) -> list[Any] | None:
    """The values a condition on ``param`` can name, or None for a continuous parameter."""
    spec = param.spec
    if spec["distribution"] not in _DISCRETE:
        return None
    return [spec["value"]] if "value" in spec else list(spec["values"])


def ordered(parameters: Sequence[C]) -> list[C]:
    """Parents before the parameters that depend on them, otherwise in the written order."""
    by_name = {parent_name(p.key): p for p in parameters}
    placed: dict[str, C] = {}
    visiting: list[str] = []

    def place(param: C) -> None:
        name = parent_name(param.key)
        if name in placed:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise SweepConfigError(
                f"hydra.sweeper.parameters.{param.key}.{WHEN}",
                f"conditions form a cycle ({cycle}); a parameter cannot depend on itself",
            )
        visiting.append(name)
        for parent in param.when:
            if parent in by_name:
                place(by_name[parent])
        visiting.pop()
        placed[name] = param

    for param in parameters:
        place(param)
    return list(placed.values())


def is_active(param: Conditional, values: Mapping[str, Any]) -> bool:
    """Whether ``param`` applies given the values chosen so far (keyed by parameter key,
    inactive parameters absent). Parents must be decided first (:func:`ordered`)."""
    by_name = {parent_name(key): value for key, value in values.items()}
    return all(name in by_name and by_name[name] in allowed for name, allowed in param.when.items())


def active_keys(parameters: Sequence[Conditional], values: Mapping[str, Any]) -> list[str]:
    """The keys of the parameters that apply with ``values``, in the written order: those
    whose conditions the values meet, present in ``values`` or not (a full flattened
    assignment is fine too: an inactive parent's value activates nothing)."""
    chosen: dict[str, Any] = {}
    applying: set[str] = set()
    for param in ordered(parameters):
        if is_active(param, chosen):
            applying.add(param.key)
            if param.key in values:
                chosen[param.key] = values[param.key]
    return [p.key for p in parameters if p.key in applying]


def branches(
    parameters: Sequence[Conditional], axes: Mapping[str, Sequence[Any]]
) -> Iterator[dict[str, Any]]:
    """Every distinct assignment of the parameters that others depend on (their axis values,
    each parameter only where it applies), in the order a grid goes through them."""
    names = {name for p in parameters for name in p.when}
    parents = [p for p in ordered(parameters) if parent_name(p.key) in names]
    yield from _assign(parents, axes, {})


def _assign(
    parents: Sequence[Conditional], axes: Mapping[str, Sequence[Any]], chosen: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    if not parents:
        yield dict(chosen)
        return
    first, rest = parents[0], parents[1:]
    if not is_active(first, chosen):
        yield from _assign(rest, axes, chosen)
        return
    for value in axes[first.key]:
        yield from _assign(rest, axes, {**chosen, first.key: value})


def conditional_parameters(parameters: Iterable[Conditional]) -> list[str]:
    return [p.key for p in parameters if p.when]


def describe(condition: Condition) -> str:
    """``model is cnn_tcn or cnn_bilstm and act is relu``, for messages."""
    return " and ".join(
        f"{name} is {' or '.join(map(str, values))}" for name, values in condition.items()
    )
