"""A value suggested by an engine → a Hydra override string that Hydra parses back unchanged.

Values reach a job only as Hydra overrides (DESIGN §2), so the encoding must survive Hydra's
override grammar *and* OmegaConf, which reads the composed config:

- ``None``/bools/ints/floats are written as Hydra literals (``null``, ``true``, ``3``,
  ``0.001``, ``1e-05``, ``nan``, ``-inf``); floats use ``repr``, so no precision is lost.
- Strings stay bare when Hydra would read the bare text back as the same string
  (``cnn_tcn``, ``resnet/18``, ``data.csv``); every other string is quoted, with the
  backslashes and quotes escaped the way Hydra's quoted-string lexer un-escapes them.
- ``${`` in a string is escaped for OmegaConf (``\\${``): an engine's value is data, so the
  job sees the literal text that W&B records, not an interpolation.
- Lists and dicts are written recursively. Dict keys cannot be quoted in Hydra's grammar, so
  their special characters are backslash-escaped; a key that Hydra would read as a number,
  bool or null (``"1"``, ``"true"``) cannot be written and raises ``ValueError``.
- numpy scalars and arrays become Python values first (``np.float64(0.1)`` → ``0.1``).

The string ``"???"`` is OmegaConf's "missing value" marker; it passes through unchanged
and the job sees a missing value, as it would when typing ``key='???'`` by hand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# Strings made of these characters, starting with a letter, '_' or '/', lex as one unquoted
# string in Hydra's value grammar; only the keywords below would change type.
_BARE_STRING = re.compile(r"[A-Za-z_/][A-Za-z0-9_\-./]*")
_VALUE_KEYWORDS = frozenset({"true", "false", "null", "nan", "inf"})

# Characters Hydra's grammar lets a dict key hold once backslash-escaped (its ESC token),
# and characters a key may hold as they are.
_KEY_ESCAPED_CHARACTERS = "\\()[]{}:=, \t"
_KEY_PLAIN_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/+.$%*@?|"
)


def override(key: str, value: Any) -> str:
    """``key=value`` with the value encoded by :func:`format_override_value`."""
    return f"{key}={format_override_value(value)}"


def format_override_value(value: Any) -> str:
    """Encode ``value`` so that Hydra (grammar, then OmegaConf) reads back the same value."""
    value = to_python_value(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, str):
        return _format_string(value)
    if isinstance(value, list):
        return "[" + ",".join(format_override_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{_format_dict_key(k)}:{format_override_value(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    raise ValueError(
        f"cannot write {value!r} (a {type(value).__name__}) as a Hydra override value; "
        "expected null, a bool, int, float, string, or a list or dict of those"
    )


def to_python_value(value: Any) -> Any:
    """Replace numpy scalars/arrays, tuples and mappings by plain Python values, recursively."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        value = value.tolist()  # scalars give a Python scalar, arrays a (nested) list
    if isinstance(value, (list, tuple)):
        return [to_python_value(item) for item in value]
    if isinstance(value, Mapping):
        return {to_python_value(k): to_python_value(v) for k, v in value.items()}
    return value


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _format_string(text: str) -> str:
    text = _escape_interpolations(text)
    if _BARE_STRING.fullmatch(text) and text.lower() not in _VALUE_KEYWORDS:
        return text
    return _quote(text)


def _escape_interpolations(text: str) -> str:
    # OmegaConf reads "\${" as a literal "${" and halves the backslashes in front of it.
    return re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text)


def _quote(text: str) -> str:
    quote = '"' if "'" in text and '"' not in text else "'"
    # Hydra un-escapes only backslashes that precede a quote (or the closing quote):
    # double those runs and escape the quote itself; every other backslash stays literal.
    escaped = re.sub(
        rf"(\\*)({quote}|\Z)",
        lambda m: m[1] * 2 + ("\\" + m[2] if m[2] else ""),
        text,
    )
    return f"{quote}{escaped}{quote}"


def _format_dict_key(key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    if not isinstance(key, str):
        raise ValueError(
            f"cannot write the dict key {key!r} (a {type(key).__name__}) in a Hydra override; "
            "dict keys in swept values must be strings or ints"
        )
    if not key or _reads_as_non_string(key):
        raise ValueError(
            f"cannot write the dict key {key!r} in a Hydra override: Hydra would read it as "
            "a number, bool or null (dict keys cannot be quoted); rename the key"
        )
    unwritable = sorted(
        {c for c in key if c not in _KEY_PLAIN_CHARACTERS} - set(_KEY_ESCAPED_CHARACTERS)
    )
    if unwritable:
        raise ValueError(
            f"cannot write the dict key {key!r} in a Hydra override: Hydra's grammar does not "
            f"allow {''.join(unwritable)!r} in dict keys; rename the key"
        )
    return "".join("\\" + c if c in _KEY_ESCAPED_CHARACTERS else c for c in key)


def _reads_as_non_string(key: str) -> bool:
    if key.lower() in _VALUE_KEYWORDS:
        return True
    if key[0] not in "0123456789+-.":
        return False
    try:
        float(key)  # conservative: rejects a few keys Hydra would still read as strings
    except ValueError:
        return False
    return True
