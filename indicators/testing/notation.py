"""The compact series notation of analysts' tests, as promtool's rule tests write it.

A series is a space-separated list of terms, one value per input interval:

    10          one value
    _           one interval without a reading
    10x3        10 repeated: 10 10 10 10 (the start and 3 more, as in promtool)
    10+5x3      10 15 20 25 (a start, a step, how many steps)
    10-5x2      10 5 0
    _x3         four intervals without readings

So "10+0x60 50x5 10x30" is an hour and one interval at 10, six at 50, then 31 at 10.  The same
rule as promtool is kept on purpose: analysts who know Prometheus read it without a manual."""

from __future__ import annotations

import math
import re

_TERM = re.compile(
    r"^(?P<start>_|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:(?P<sign>[-+])(?P<step>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?))?"
    r"(?:x(?P<times>\d+))?$"
)


class NotationError(ValueError):
    """A term that cannot be read; `term` is its 0-based position in the series."""

    def __init__(self, message: str, term: int) -> None:
        super().__init__(message)
        self.term = term


def expand(series: str | int | float) -> list[float]:
    """The values of a series, NaN where a term is `_` (no reading in that interval)."""
    if isinstance(series, bool):
        raise NotationError("a series is numbers like '10+0x60 50x5', not a boolean", 0)
    if isinstance(series, int | float):
        return [float(series)]
    out: list[float] = []
    for i, term in enumerate(series.split()):
        m = _TERM.match(term)
        if m is None:
            raise NotationError(
                f"term {i + 1} {term!r} is not a value: write a number, '_' (no reading), "
                "'AxN' (A repeated, N more times) or 'A+BxN' (from A in N steps of B)",
                i,
            )
        start, sign, step, times = m.group("start", "sign", "step", "times")
        if step is not None and times is None:
            raise NotationError(f"term {i + 1} {term!r}: a step needs a count, e.g. {term}x10", i)
        n = int(times) if times is not None else 0
        if start == "_":
            if step is not None:
                raise NotationError(f"term {i + 1} {term!r}: '_' cannot have a step", i)
            out.extend([math.nan] * (n + 1))
            continue
        a = float(start)
        b = 0.0 if step is None else float(step) * (-1.0 if sign == "-" else 1.0)
        out.extend(a + b * k for k in range(n + 1))
    if not out:
        raise NotationError("the series is empty: give at least one value", 0)
    return out
