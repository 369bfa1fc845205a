"""Time for the simulator: epoch milliseconds in memory, ISO 8601 in Shanghai time on the wire.

Shanghai keeps UTC+8 all year (no daylight saving), so local hour and weekday are plain integer
arithmetic on epoch milliseconds: no time-zone database in the hot loop."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

TZ_OFFSET_MS = 8 * 3600 * 1000
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
DAY_MS = 86_400_000
_THURSDAY = 3  # 1970-01-01 was a Thursday; Monday is weekday 0 as in datetime

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def to_ms(when: dt.datetime) -> int:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            f"{when.isoformat()} has no time zone; pass an aware datetime, e.g. "
            "datetime(2026, 3, 2, tzinfo=flows.simulator.clock.SHANGHAI)"
        )
    return round(when.timestamp() * 1000)


def iso_local(ms: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """ISO 8601 with the +08:00 offset, to the second: "2026-03-02T14:05:00+08:00"."""
    local = (np.asarray(ms, dtype=np.int64) + TZ_OFFSET_MS) // 1000
    text = np.datetime_as_string(local.astype("datetime64[s]"), unit="s")
    return np.strings.add(text, "+08:00")


def iso_one(ms: int) -> str:
    return str(iso_local(np.array([ms]))[0])


def local_hour(ms: npt.ArrayLike) -> FloatArray:
    """Hour of the day in Shanghai, fractional (14.5 = 14:30)."""
    local = np.asarray(ms, dtype=np.int64) + TZ_OFFSET_MS
    return (local % DAY_MS).astype(np.float64) / 3_600_000.0


def weekday(ms: npt.ArrayLike) -> IntArray:
    """Day of the week in Shanghai, Monday = 0."""
    local = np.asarray(ms, dtype=np.int64) + TZ_OFFSET_MS
    return ((local // DAY_MS + _THURSDAY) % 7).astype(np.int64)
