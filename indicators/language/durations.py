"""Durations as analysts write them ("90s", "15m", "1h30m", "2d") and as the code uses them
(whole seconds).  One parser and one formatter, so that a dumped catalog reads back equal."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
PATTERN = r"^((\d+)(w|d|h|m|s))+$"


def parse_duration(text: object) -> int:
    """Seconds in a duration string; integers are taken as seconds already."""
    if isinstance(text, bool):
        raise ValueError("a duration is a string like 15m, 1h or 2d, not a boolean")
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return text
    if not isinstance(text, str):
        raise ValueError("a duration is a string like 15m, 1h or 2d")
    s = text.strip()
    if not re.fullmatch(PATTERN, s):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w), "
            "for example 90s, 15m, 1h30m or 2d"
        )
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(s))


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


def _validate(v: Any) -> int:
    return parse_duration(v)


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
