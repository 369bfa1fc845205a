"""ISO 8601 timestamps -> int64 epoch milliseconds (UTC), a whole column at a time.

Why not the obvious tools: `datetime.fromisoformat` per value costs about a microsecond, and
polars' `str.to_datetime` with an offset format measured about 340 ns per value on our records,
more than reading the JSON itself.  Timestamps on the wire almost always have one of a handful
of fixed layouts (`YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|+HHMM|+HH]`), so the fast path gathers
the characters of every value into a small matrix straight from the Arrow string buffers and
does the arithmetic with numpy.  Whatever it does not recognise is handed to the scalar parser
(`datetime.fromisoformat`), so unusual but valid spellings still work, only slower.

Every value gets a status: OK, NO_TIMEZONE (a local time: which city's clock?), BAD (not a
timestamp, or an impossible date), MISSING (null).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow as pa

from flows.decode.arrowstrings import string_buffers

OK: int = 0
NO_TIMEZONE: int = 1
BAD: int = 2
MISSING: int = 3
_SLOW: int = 4  # not recognised by the fast path: ask the scalar parser

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_PER_DAY = 86_400_000


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(month > 2, month - 3, month + 9)
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def parse_scalar(text: str) -> tuple[int, int]:
    """(epoch ms, status) of one timestamp; the fallback for layouts the fast path skips."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return 0, BAD
    if moment.tzinfo is None:
        return 0, NO_TIMEZONE
    delta = moment - _EPOCH
    return (delta.days * _MS_PER_DAY + delta.seconds * 1000 + delta.microseconds // 1000), OK


# The layouts the fast path knows. D = a digit, T = "T", "t" or " ", S = "+" or "-",
# Z = "Z" or "z"; any other character must appear as written.  Others go to the scalar parser.
_TEMPLATES: tuple[str, ...] = (
    "DDDD-DD-DDTDD:DD:DDSDD:DD",
    "DDDD-DD-DDTDD:DD:DDZ",
    "DDDD-DD-DDTDD:DD:DD.DDDSDD:DD",
    "DDDD-DD-DDTDD:DD:DD.DDDZ",
    "DDDD-DD-DDTDD:DD:DD.DDDDDDSDD:DD",
    "DDDD-DD-DDTDD:DD:DD.DDDDDDZ",
    "DDDD-DD-DDTDD:DD:DDSDDDD",
    "DDDD-DD-DDTDD:DD:DD",
    "DDDD-DD-DDTDD:DD:DD.DDD",
    "DDDD-DD-DDTDD:DD:DD.DDDDDD",
)
_FIRST_YEAR = 1900
_LAST_YEAR = 2199
# day number of the first of each month, so a date becomes one table look-up
# (column 13 is the next January, so that "days in month" is a difference of two look-ups)
_YEARS = np.arange(_FIRST_YEAR, _LAST_YEAR + 1)
_MONTHS = np.arange(14).clip(1)
_MONTH_START = days_from_civil(
    np.repeat(_YEARS, 14) + np.tile(_MONTHS == 13, len(_YEARS)),
    np.tile(np.where(_MONTHS == 13, 1, _MONTHS), len(_YEARS)),
    np.ones(14 * len(_YEARS), dtype=np.int64),
).reshape(-1, 14)
# flat tables indexed by (year - _FIRST_YEAR) * 14 + month
_MONTH_START_S = (_MONTH_START * 86_400).ravel()
_MONTH_DAYS = np.diff(_MONTH_START, axis=1, append=0).astype(np.int32).ravel()


class _Template:
    """Column positions of one layout, computed once."""

    def __init__(self, layout: str) -> None:
        self.width = len(layout)
        self.digit_cols = np.array([i for i, c in enumerate(layout) if c == "D"])
        literal = [(i, c) for i, c in enumerate(layout) if c not in "DTSZ"]
        self.literal_cols = np.array([i for i, _ in literal], dtype=np.int64)
        self.literal_bytes = np.array([ord(c) for _, c in literal], dtype=np.uint8)
        self.t_col = layout.index("T")
        self.sign_col = layout.find("S")
        self.z_col = layout.find("Z")
        self.zoned = self.sign_col >= 0 or self.z_col >= 0
        where = {column: k for k, column in enumerate(self.digit_cols.tolist())}
        # (first digit row, digit count) of each number, in rows of the digit matrix
        self.year = (where[0], 4)
        self.month = (where[5], 2)
        self.day = (where[8], 2)
        self.hour = (where[11], 2)
        self.minute = (where[14], 2)
        self.second = (where[17], 2)
        self.millis = (where[20], 3) if self.width > 19 and layout[19] == "." else None
        self.zone_hour = self.zone_minute = None
        if self.sign_col >= 0:
            self.zone_hour = (where[self.sign_col + 1], 2)
            colon = layout[self.sign_col + 3] == ":"
            self.zone_minute = (where[self.sign_col + (4 if colon else 3)], 2)

    @staticmethod
    def _number(d: np.ndarray, spec: tuple[int, int]) -> np.ndarray:
        first, count = spec
        value = d[first].astype(np.int32)
        for k in range(first + 1, first + count):
            value = value * 10 + d[k]
        return value

    def parse(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(epoch ms, matches) for a matrix of rows of this width."""
        # one row per digit position, contiguous: the arithmetic below runs on plain vectors
        d = np.ascontiguousarray((m[:, self.digit_cols] - np.uint8(48)).T)
        match = np.all(d <= 9, axis=0)  # uint8 wraps below "0": one test for 0..9
        if len(self.literal_cols):
            match &= np.all(m[:, self.literal_cols] == self.literal_bytes, axis=1)
        sep = m[:, self.t_col]
        match &= (sep == 84) | (sep == 116) | (sep == 32)
        if self.z_col >= 0:
            match &= (m[:, self.z_col] == 90) | (m[:, self.z_col] == 122)
        year = self._number(d, self.year) - _FIRST_YEAR
        month = self._number(d, self.month)
        day = self._number(d, self.day)
        hour = self._number(d, self.hour)
        minute = self._number(d, self.minute)
        second = self._number(d, self.second)
        in_table = (year >= 0) & (year <= _LAST_YEAR - _FIRST_YEAR) & (month >= 1) & (month <= 12)
        if not in_table.all():
            match &= in_table
            year[~in_table] = 0
            month[~in_table] = 1
        slot = year * 14 + month
        month_days = _MONTH_DAYS.take(slot)
        match &= (day >= 1) & (day <= month_days) & (hour <= 23) & (minute <= 59) & (second <= 59)
        seconds = _MONTH_START_S.take(slot)
        seconds += (day - 1) * 86_400 + hour * 3600 + minute * 60 + second
        if self.zone_hour is not None and self.zone_minute is not None:
            sign = m[:, self.sign_col]
            match &= (sign == 43) | (sign == 45)
            zh = self._number(d, self.zone_hour)
            zm = self._number(d, self.zone_minute)
            match &= (zh <= 23) & (zm <= 59)
            seconds -= (zh * 3600 + zm * 60) * (44 - sign.astype(np.int32))  # "+"=43, "-"=45
        ms = seconds * 1000
        if self.millis is not None:
            ms += self._number(d, self.millis)
        return ms, match


_BY_WIDTH: dict[int, list[_Template]] = {}
for _layout in _TEMPLATES:
    _BY_WIDTH.setdefault(len(_layout), []).append(_Template(_layout))


def _parse_width(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one width against the templates of that width; _SLOW where none matches."""
    n = len(m)
    ms = np.zeros(n, dtype=np.int64)
    status = np.full(n, _SLOW, dtype=np.int8)
    for template in _BY_WIDTH.get(m.shape[1], []):
        todo = status == _SLOW
        if not todo.any():
            break
        rows = m if todo.all() else m[todo]
        got, match = template.parse(rows)
        idx = np.flatnonzero(todo)[match] if not todo.all() else np.flatnonzero(match)
        ms[idx] = got[match]
        status[idx] = OK if template.zoned else NO_TIMEZONE
    return ms, status


def _parse_runs(block: np.ndarray, n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """n values of `width` bytes back to back, each run of equal neighbours parsed once.

    A stream in time order repeats each stamp for every sensor reporting that second (a
    chunk of 200,000 readings held a few hundred distinct stamps), so comparing the buffer
    with itself shifted by one value saves most of the parsing; when the stamps change all
    the time, that comparison (under a millisecond per 200,000) is all it costs.
    """
    m = block.reshape(n, width)
    if n < 64:
        return _parse_width(m)
    differ = block[width:] != block[:-width]
    if np.count_nonzero(differ) > n // 4:
        return _parse_width(m)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    change[np.flatnonzero(differ) // width + 1] = True
    starts = np.flatnonzero(change)
    if len(starts) * 4 > n:
        return _parse_width(m)
    ms, status = _parse_width(m[starts])
    runs = np.diff(starts, append=n)
    return np.repeat(ms, runs), np.repeat(status, runs)


def _fast_parse(
    data: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised parse of the common layouts; rows it cannot vouch for get status _SLOW."""
    n = len(starts)
    ms = np.zeros(n, dtype=np.int64)
    status = np.full(n, _SLOW, dtype=np.int8)
    if n == 0 or len(data) == 0:
        return ms, status
    first = int(starts[0])
    width0 = int(lengths[0])
    if (
        width0 in _BY_WIDTH
        and int(starts[-1]) == first + (n - 1) * width0
        and np.all(lengths == width0)
    ):
        # the values sit back to back in the buffer: a reshape, not a gather
        return _parse_runs(data[first : first + n * width0], n, width0)
    for width in np.unique(lengths):
        if int(width) not in _BY_WIDTH:
            continue
        rows = np.flatnonzero(lengths == width)
        m = data[starts[rows][:, None] + np.arange(width)]
        ms[rows], status[rows] = _parse_width(m)
    return ms, status


def parse_iso_ms(values: pl.Series | pa.Array | list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Epoch milliseconds (int64, 0 where not OK) and a status per value (int8)."""
    if isinstance(values, list):
        array = pa.array(values, type=pa.large_string())
    elif isinstance(values, pl.Series):
        array = values.cast(pl.String).to_arrow()
    else:
        array = values
    data, starts, lengths, valid = string_buffers(array)
    ms, status = _fast_parse(data, starts, lengths)
    status[~valid] = MISSING
    for i in np.flatnonzero(status == _SLOW):
        raw = data[starts[i] : starts[i] + lengths[i]].tobytes().decode("utf-8", "replace")
        ms[i], status[i] = parse_scalar(raw)
    return ms, status
