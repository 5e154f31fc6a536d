"""What a checker's policy section may hold: the ``Option`` declaration and the keys every section accepts.

A leaf module (it imports nothing from gatekeeper), so both the policy loader and the checker
contract can use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OPTION_KINDS = ("bool", "int", "float", "str", "str_list", "table")

#: The longest time limit a policy may set (a week): larger values overflow the OS's timers.
MAX_TIMEOUT_S = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Option:
    """One key of a checker's policy section: its kind, default and allowed values.

    ``kind`` is one of bool, int, float, str, str_list, table. ``choices`` limits a str (and
    lists the words a number also accepts, e.g. ``"baseline"``);
    ``minimum``/``maximum`` bound a number. The policy loader validates every section against
    the options its checker declares, so a checker only ever sees well-typed values.
    ``existing_paths`` marks a str or str_list of project paths that must exist: the engine
    refuses a policy naming a missing one (a typo would otherwise narrow the check to nothing).
    ``accepts`` (a str option) returns why a value is refused, or "" for a value it takes: the
    policy loader reports that reason as a policy error naming the key.
    """

    kind: str
    default: Any
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    existing_paths: bool = False
    accepts: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"unknown option kind {self.kind!r}")


#: Keys every checker section accepts, whatever the checker declares.
COMMON_OPTIONS: Mapping[str, Option] = {
    "enabled": Option("bool", True, "run this check"),
    "allow_empty": Option("bool", False, "a run that looked at nothing (no files, no packages) passes instead of erring"),
    "timeout_s": Option(
        "float", 0.0, "this check's time limit in seconds; 0 uses gate.timeout_s", minimum=0, maximum=MAX_TIMEOUT_S
    ),
}
