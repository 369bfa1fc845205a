"""The compact series notation of analysts' tests, as promtool's rule tests write it.

A series is a space-separated list of terms, one value per input interval:

    10          one value
    _           one interval without a reading
    10x3        10 repeated: 10 10 10 10 (the start and 3 more, as in promtool)
    10+5x3      10 15 20 25 (a start, a step, how many steps)
    10-5x2      10 5 0
    _x3         four intervals without readings

So "10+0x60 50x5 10x30" is an hour and one interval at 10, six at 50, then 31 at 10.  The same
rule as promtool is kept on purpose: analysts who know Prometheus read it without a manual.

A typo such as `20x99999999` would expand to a hundred million values, and a count series
(orders or checks per interval) such as `99999999999` to as many records; both are refused
before anything is built, at the term that crosses `MAX_RECORDS`."""

from __future__ import annotations

import math
import re

_TERM = re.compile(
    r"^(?P<start>_|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:(?P<sign>[-+])(?P<step>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?))?"
    r"(?:x(?P<times>\d+))?$"
)


#: The most values one series may expand to, and the most records a count series may make:
#: a test covers days of data (a week of 10-second readings is 60,480 values), and a series
#: this long already takes seconds to run through the flow; past it a typo is far likelier.
MAX_RECORDS = 100_000
_MAX_DIGITS = len(str(MAX_RECORDS))  # a longer repeat count is over the limit whatever it is


class NotationError(ValueError):
    """A term that cannot be read; `term` is its 0-based position in the series."""

    def __init__(self, message: str, term: int) -> None:
        super().__init__(message)
        self.term = term


def expand(
    series: str | int | float, *, counts: bool = False, what: str = "records"
) -> list[float]:
    """The values of a series, NaN where a term is `_` (no reading in that interval).

    At most MAX_RECORDS values; with `counts` (each value is a number of records to make,
    `what` they are called), each is a whole number >= 0, refused at its term (`1 -1 2`
    was refused at the start of the series), and their sum is held to MAX_RECORDS too."""
    if isinstance(series, bool):
        raise NotationError("a series is numbers like '10+0x60 50x5', not a boolean", 0)
    if isinstance(series, int | float):
        series = str(series)
    out: list[float] = []
    made = 0.0  # records a count series makes so far
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
        digits = (times or "0").lstrip("0")
        n = int(digits or "0") if len(digits) <= _MAX_DIGITS else MAX_RECORDS
        if len(out) + n + 1 > MAX_RECORDS:
            raise NotationError(
                f"term {i + 1} {term!r}: the series would have more than {MAX_RECORDS:,} "
                "values, the limit of one series; check the repeat count (AxN gives N+1 "
                "values) or split the test",
                i,
            )
        if start == "_":
            if step is not None:
                raise NotationError(f"term {i + 1} {term!r}: '_' cannot have a step", i)
            if counts:
                raise NotationError(
                    f"term {i + 1} {term!r}: {what} per interval are whole numbers >= 0; "
                    "write 0 for an interval without any ('_' is for readings)",
                    i,
                )
            out.extend([math.nan] * (n + 1))
            continue
        a = float(start)
        b = 0.0 if step is None else float(step) * (-1.0 if sign == "-" else 1.0)
        values = [a + b * k for k in range(n + 1)]
        if not all(math.isfinite(v) for v in values):
            raise NotationError(
                f"term {i + 1} {term!r}: values must be finite numbers (this one overflows)", i
            )
        if counts:
            bad = next((v for v in values if v < 0 or v != int(v)), None)
            if bad is not None:
                raise NotationError(
                    f"term {i + 1} {term!r}: {what} per interval are whole numbers >= 0, "
                    f"not {bad:g}",
                    i,
                )
            made += sum(v for v in values if v > 0)
            if made > MAX_RECORDS:
                raise NotationError(
                    f"term {i + 1} {term!r}: the series would make more than {MAX_RECORDS:,} "
                    "records, the limit of one series; check the number",
                    i,
                )
        out.extend(values)
    if not out:
        raise NotationError("the series is empty: give at least one value", 0)
    return out
