"""One policy value against its ``Option``: types, choices, ranges, NUL characters; and the words of
the messages (a value's type, a did-you-mean)."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from gatekeeper.errors import PolicyError
from gatekeeper.options import Option
from gatekeeper.policy.locate import Where


def validate_section(value: Any, schema: Mapping[str, Option], keypath: str, where: Where) -> dict[str, Any]:
    """A table checked key by key against its ``schema`` (unknown keys refused with a did-you-mean), defaults filled in."""
    if not isinstance(value, dict):
        raise where.error(keypath, f"expected a table, got {type_name(value)}")
    for key in value:
        if key not in schema:
            raise where.error(f"{keypath}.{key}", "unknown key", did_you_mean(key, list(schema)))
    return {
        key: coerce_option(option, value[key], f"{keypath}.{key}", where) if key in value else copy.deepcopy(option.default)
        for key, option in schema.items()
    }


def coerce_option(option: Option, value: Any, keypath: str, where: Where | None = None) -> Any:
    """Check ``value`` against ``option``; return it (ints widened to float where a float is asked)."""

    def fail(msg: str) -> PolicyError:
        return where.error(keypath, msg) if where else PolicyError(msg, key=keypath)

    kind = option.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail(f"expected true or false, got {type_name(value)}")
        return value
    if kind in ("int", "float"):
        return _coerce_number(option, value, fail)
    if kind == "str":
        return _coerce_str(option, value, fail)
    if kind == "str_list":
        return _coerce_str_list(option, value, fail)
    if kind == "table":
        if not isinstance(value, dict):
            raise fail(f"expected a table, got {type_name(value)}")
        return copy.deepcopy(value)
    raise AssertionError(kind)  # pragma: no cover - Option rejects other kinds


def _coerce_number(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> Any:
    kind = option.kind
    if isinstance(value, str) and value in option.choices:  # a number option's keywords, e.g. "baseline"
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
        words = "".join(f" or {c!r}" for c in option.choices)
        raise fail(f"expected {'an integer' if kind == 'int' else 'a number'}{words}, got {type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail("expected a finite number")
    if option.minimum is not None and value < option.minimum:
        raise fail(f"must be at least {_num(option.minimum)}, got {_num(value)}")
    if option.maximum is not None and value > option.maximum:
        raise fail(f"must be at most {_num(option.maximum)}, got {_num(value)}")
    return float(value) if kind == "float" else value


def _coerce_str(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a string, got {type_name(value)}")
    if "\x00" in value:  # no path, name or pattern holds one, and the OS rejects it in paths
        raise fail("must not contain a NUL character (\\u0000)")
    if option.choices and value not in option.choices:
        hint = did_you_mean(value, option.choices)
        msg = f"expected one of {', '.join(repr(c) for c in option.choices)}, got {value!r}"
        raise fail(msg + (f" ({hint})" if hint else ""))
    problem = option.accepts(value) if option.accepts is not None else ""
    if problem:
        raise fail(problem)
    return value


def _coerce_str_list(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"expected a list of strings, got {type_name(value)}")
    if any("\x00" in v for v in value):
        raise fail("must not contain a NUL character (\\u0000)")
    if option.choices:
        for v in value:
            if v not in option.choices:
                hint = did_you_mean(v, option.choices)
                msg = f"{v!r} is not one of {', '.join(repr(c) for c in option.choices)}"
                raise fail(msg + (f" ({hint})" if hint else ""))
    return list(value)


def did_you_mean(word: str, choices: Any) -> str | None:
    """A hint naming the closest of ``choices`` to a mistyped ``word``, or None."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else None


def type_name(value: Any) -> str:
    """What a TOML value is, in words, for messages (``an integer (3)``)."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return f"a date/time ({value.isoformat()})"
    return type(value).__name__


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
