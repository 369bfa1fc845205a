"""Closed windows as NDJSON lines (the output contract of `citysigns run`).

One line per (indicator, area, window): start and end as ISO 8601 in the city's zone, the
value (null for a no-signal window) and the number of events, and `"judged": false` on a
window with fewer events than the indicator's `min_count`: its value is the raw aggregate of
those few, kept for the record, while detectors and warnings saw no value (scored.ndjson
has null for it), so a reader of the value alone would take "0.0 from 17 checks" for a calm
window that was in fact never judged.  Lines are keyed by
(indicator, area, start), so a consumer that upserts on that key never double-counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from flows.windows import ClosedWindows

CITY_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_CITY_OFFSET = timedelta(hours=8)


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).astimezone(CITY_TZ).isoformat()


def iso_ms(ts_ms: np.ndarray) -> list[str]:
    """Epoch milliseconds as ISO 8601 on the city's clock with its offset, as records are
    written ("2026-03-02T00:30:00+08:00", milliseconds only where there are some), a whole
    column at a time."""
    offset_ms = int(_CITY_OFFSET.total_seconds() * 1000)
    local = (np.asarray(ts_ms, dtype=np.int64) + offset_ms).astype("datetime64[ms]")
    text = np.where(
        np.asarray(ts_ms) % 1000 == 0,
        np.datetime_as_string(local, unit="s"),
        np.datetime_as_string(local, unit="ms"),
    )
    suffix = datetime(2000, 1, 1, tzinfo=CITY_TZ).isoformat()[-6:]  # "+08:00"
    return [f"{t}{suffix}" for t in text.tolist()]


def window_lines(
    closed: ClosedWindows, codes: np.ndarray, min_count: int | None = None
) -> list[str]:
    """NDJSON lines of one closed-window batch; `codes` maps area index -> area code,
    `min_count` is the indicator's (None: every window with a value is judged)."""
    start, end = iso(closed.start), iso(closed.end)
    head = (
        f'{{"indicator": {json.dumps(closed.indicator)}, "area_level": "{closed.level}", '
        f'"start": "{start}", "end": "{end}", "area": '
    )
    least = 0 if min_count is None else min_count
    out = []
    for area, value, count in zip(
        codes[closed.area].tolist(), closed.value.tolist(), closed.count.tolist(), strict=True
    ):
        if value != value:  # NaN: the area has gone silent
            tail = f'"value": null, "count": {count}, "no_signal": true}}'
        elif count < least:
            tail = f'"value": {value!r}, "count": {count}, "judged": false}}'
        else:
            tail = f'"value": {value!r}, "count": {count}}}'
        out.append(f"{head}{json.dumps(str(area))}, {tail}")
    return out
