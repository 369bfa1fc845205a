"""Sparse files keep every honest record (flows/decode/clock.py, "reach").

The stream clock votes with the median of each block of 64 records.  For a file of fewer
than about 64 records a day, a block spans days, and its later records were judged against
its middle: 72 hourly readings of one station lost 16 to `too_far_in_time`, two weeks of a
small district's hotline (2 orders a day) lost 12 of 28.  Wild timestamps must still be
refused, whatever the density around them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.city.registry import load_default_registry
from flows.decode import ChannelDecoder, Reason, SensorDecoder, StreamClock, chunk_of_lines

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, tzinfo=CST)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
START_MS = int(START.timestamp() * 1000)
WILD = {
    "a year 2030 reading": "2030-03-02T10:00:00+08:00",
    "epoch 0": "1970-01-01T00:00:00Z",
    "year 1": "0001-01-01T00:00:00Z",
}


def _lines(records: list[dict[str, object]]) -> list[bytes]:
    return [json.dumps(r, ensure_ascii=False).encode() for r in records]


def _reading(at: datetime) -> dict[str, object]:
    return {"sensor_id": "AQ-310101-000001", "ts": at.isoformat(), "pm25": 30}


def _order(k: int, at: datetime) -> dict[str, object]:
    return {
        "service_request_id": f"12345-2026-{k:06d}",
        "service_code": "water_outage",
        "description": "no water since morning",
        "requested_datetime": at.isoformat(),
        "lat": 31.22,
        "long": 121.45,
        "channel": "phone",
    }


def test_three_days_of_hourly_readings_of_one_station_are_all_accepted() -> None:
    readings = [_reading(START + timedelta(hours=h)) for h in range(72)]
    batch, letters = SensorDecoder(load_default_registry()).decode(
        chunk_of_lines("f.ndjson", _lines(readings))
    )
    assert len(letters) == 0
    assert len(batch) == 72


def test_wild_timestamps_in_a_sparse_sensor_file_are_still_refused() -> None:
    readings = [_reading(START + timedelta(hours=h)) for h in range(72)]
    at = {10: "a year 2030 reading", 40: "epoch 0", 70: "year 1"}
    for line, what in at.items():
        readings[line - 1] = {**readings[line - 1], "ts": WILD[what]}
    batch, letters = SensorDecoder(load_default_registry()).decode(
        chunk_of_lines("f.ndjson", _lines(readings))
    )
    assert [(d.position, d.reason) for d in letters.letters] == [
        (line, Reason.TOO_FAR_IN_TIME) for line in sorted(at)
    ]
    assert len(batch) == 72 - len(at)
    # the stream's time is said as a time, on the city's clock, not as epoch milliseconds
    assert all("stream's time (2026-03-0" in d.detail for d in letters.letters)
    assert all(d.detail.endswith("+08:00)") for d in letters.letters)


def _small_district(days: int = 14) -> list[dict[str, object]]:
    """Two orders a day at irregular hours, and none at all over one long weekend."""
    out: list[dict[str, object]] = []
    for d in range(days):
        if d in (5, 6, 7):
            continue
        for hour in (8 + d % 3, 15 + d % 5):
            out.append(_order(len(out), START + timedelta(days=d, hours=hour)))
    return out


def test_two_weeks_of_a_small_district_s_hotline_are_all_accepted() -> None:
    orders = _small_district()
    batch, letters = ChannelDecoder("hotline", locate=lambda la, lo: np.full(len(la), 3)).decode(
        chunk_of_lines("h.ndjson", _lines(orders))
    )
    assert len(letters) == 0
    assert batch.record_id == [o["service_request_id"] for o in orders]


def test_wild_timestamps_in_a_sparse_hotline_file_are_still_refused() -> None:
    orders = _small_district()
    for k, stamp in zip((3, 12, 20), WILD.values(), strict=True):
        orders[k] = {**orders[k], "requested_datetime": stamp}
    batch, letters = ChannelDecoder("hotline", locate=lambda la, lo: np.full(len(la), 3)).decode(
        chunk_of_lines("h.ndjson", _lines(orders))
    )
    assert [(d.position, d.reason) for d in letters.letters] == [
        (4, Reason.TOO_FAR_IN_TIME),
        (13, Reason.TOO_FAR_IN_TIME),
        (21, Reason.TOO_FAR_IN_TIME),
    ]
    assert len(batch) == len(orders) - 3


def test_a_block_of_readings_spanning_a_month_keeps_its_first_and_last_days() -> None:
    """One reading a day: a block of 64 spans two months, its median is a month from either
    end (more than `max_behind_ms` behind its first day, a month ahead of its last)."""
    clock = StreamClock()
    daily = START_MS + np.arange(100, dtype=np.int64) * DAY_MS
    assert not clock.judge(daily).any()
    wild = daily.copy()
    wild[[3, 50, 90]] = [START_MS + 4 * 365 * DAY_MS, 0, START_MS * 1000]  # ms read as s
    assert np.flatnonzero(StreamClock().judge(wild)).tolist() == [3, 50, 90]


def test_a_jump_late_in_a_block_is_confirmed_by_the_next_block() -> None:
    """A station back after a week's outage: 60 readings, the gap, then 4 more in the same
    block; the next block's readings show the jump is real."""
    before = START_MS + np.arange(60, dtype=np.int64) * 60_000
    after = START_MS + 7 * DAY_MS + np.arange(100, dtype=np.int64) * 60_000
    assert not StreamClock().judge(np.concatenate([before, after])).any()


def test_a_dense_stream_keeps_its_tolerance() -> None:
    """64 readings a second: the reach is a second, and a reading 2 days ahead is refused."""
    ts = START_MS + np.arange(640, dtype=np.int64) * 15
    ts[100] += 2 * DAY_MS
    ts[300] -= 31 * DAY_MS
    assert np.flatnonzero(StreamClock().judge(ts)).tolist() == [100, 300]


def test_half_a_small_batch_wild_does_not_widen_it() -> None:
    """A lower median: the batch [honest, honest, 9999, 9999] votes the honest time."""
    clock = StreamClock(now_ms=START_MS)
    ts = np.array([START_MS, START_MS + 1000, 253402300799000, 253402300799000])
    assert clock.judge(ts).tolist() == [False, False, True, True]
    assert clock.now_ms == START_MS + 1000


@settings(max_examples=80, deadline=None)
@given(
    step_s=st.integers(1, 10 * 86_400),
    n=st.integers(3, 400),
    cuts=st.lists(st.integers(1, 399), max_size=4),
    jitter=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_records_in_time_order_are_never_too_far(
    step_s: int, n: int, cuts: list[int], jitter: int, seed: int
) -> None:
    """Any density from a record a second to one every ten days, moderately out of order
    (swaps among up to `jitter` neighbours), cut into chunks anywhere: nothing is refused.
    Records more than a day apart come in chunks of at least three: a chunk of one or two
    cannot tell a sparse step from a wild timestamp (clock.py, the weak vote)."""
    rng = np.random.default_rng(seed)
    ts = START_MS + np.arange(n, dtype=np.int64) * step_s * 1000
    if jitter:
        order = np.argsort(np.arange(n) + rng.uniform(0, jitter + 1, n))
        ts = ts[order]
    least = 1 if step_s * 1000 <= DAY_MS else 3
    bounds = [0]
    for c in sorted(set(cuts)):
        if c - bounds[-1] >= least and n - c >= least:
            bounds.append(c)
    bounds.append(n)
    clock = StreamClock()
    for a, b in pairwise(bounds):
        assert not clock.judge(ts[a:b]).any(), (a, b)
