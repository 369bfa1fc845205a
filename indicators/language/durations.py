"""Durations as analysts write them ("90s", "15m", "1h30m", "2d") and as the code uses them
(whole seconds).  One parser and one formatter, so that a dumped catalog reads back equal."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
PATTERN = r"^((\d+)(w|d|h|m|s))+$"

#: The longest duration anything in the language may last: windows, `for`, lateness,
#: deadlines, a test's times.  The catalog's longest is a 16-day handling deadline, and a
#: window or hold of more than a year would never close in any data we keep, so a longer
#: value is a typo; without a bound `99999999999999999999d` passed `check` and overflowed the
#: warning state machine's 64-bit arrays at run time.
MAX_DURATION = 366 * 86400
_MAX_DIGITS = len(str(MAX_DURATION))  # a longer number is over the bound in any unit

#: Validation context key: set (`model_validate(raw, context={WRITTEN: True})`) when the values
#: come from a file someone wrote, where a bare number is refused because its unit is unknown.
#: Code building models itself (and stored dispatch settings read back) passes whole seconds.
WRITTEN = "written"


def parse_duration(text: object, *, seconds: bool = False) -> int:
    """Seconds in a duration string.  A bare integer is refused (did `15` mean 15 minutes or
    15 seconds?) unless `seconds` says the caller passes whole seconds already."""
    if isinstance(text, bool):
        raise ValueError("a duration is a string like 15m, 1h or 2d, not a boolean")
    if isinstance(text, int):
        if not seconds:
            raise ValueError(f"{text} has no unit: write {text}m or {text}s (or h, d, w)")
        if text < 0:
            raise ValueError("a duration cannot be negative")
        total = text
    elif isinstance(text, str):
        s = text.strip()
        if not re.fullmatch(PATTERN, s):
            raise ValueError(
                f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w), "
                "for example 90s, 15m, 1h30m or 2d"
            )
        parts = _PART.findall(s)
        too_long = any(len(n.lstrip("0")) > _MAX_DIGITS for n, _ in parts)
        total = MAX_DURATION + 1 if too_long else sum(int(n) * _UNITS[u] for n, u in parts)
    elif isinstance(text, dict):  # as a threshold may be written per area level
        raise ValueError(
            "a duration is one string like 15m, 1h or 2d, the same at every area level "
            "(only thresholds are written per area level)"
        )
    else:
        raise ValueError("a duration is a string like 15m, 1h or 2d")
    if total > MAX_DURATION:
        shown = text if isinstance(text, str) and len(text) <= 40 else "this duration"
        raise ValueError(
            f"{shown} is longer than {MAX_DURATION // 86400} days, the longest duration "
            "allowed (windows, holds, lateness and deadlines stay within a year): check the "
            "number"
        )
    return total


def format_duration(seconds: int) -> str:
    """The shortest canonical spelling: 5400 -> "1h30m", 0 -> "0s"."""
    if seconds == 0:
        return "0s"
    out = []
    rest = seconds
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        n, rest = divmod(rest, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def _validate(v: Any, info: ValidationInfo) -> int:
    written = bool(info.context and info.context.get(WRITTEN))
    return parse_duration(v, seconds=not written)


Duration = Annotated[
    int,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PATTERN,
            "description": "a duration: a number and a unit (s, m, h, d, w), e.g. 15m, 1h30m",
        }
    ),
]
