"""The fast path against Bytewax's own per-event windowing: random event streams (with disorder
within the allowed lateness, where both lateness rules agree) give equal windows at every
area level, for every aggregate and for tumbling and sliding windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators as op
import bytewax.operators.windowing as win
import numpy as np
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.windows import IndicatorWindows, WindowSpec
from flows.windows.aggregate import QUANTILES
from flows.windows.progress import END_OF_TIME

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = 1_770_000_000  # seconds; an arbitrary instant in 2026
N_FINE, N_COARSE = 7, 3
PARENT = np.array([0, 0, 1, 1, 2, 2, 2])
FIXED_NOW = datetime(2000, 1, 1, tzinfo=UTC)


def reference_value(agg: str, values: list[float], length: int) -> float:
    arr = np.asarray(values, dtype=float)
    if agg == "count":
        return float(arr.size)
    if agg == "rate":
        return arr.size / (length / 60.0)
    if agg == "sum":
        return float(arr.sum())
    if agg == "mean":
        return float(arr.mean())
    if agg == "min":
        return float(arr.min())
    if agg == "max":
        return float(arr.max())
    if agg == "distinct":
        return float(np.unique(arr).size)
    return float(np.quantile(arr, QUANTILES[agg]))


def bytewax_windows(
    events: list[tuple[int, int, float]], agg: str, length: int, step: int, lateness: int
) -> dict[tuple[str, int, int], tuple[float, int]]:
    """Per-event reference: key_on + Sliding/TumblingWindower + fold_window, one key per area
    and level; values collected and aggregated when the window closes."""
    flow = Dataflow("oracle")
    rows: list[tuple[str, int, float]] = []
    for area, ts, v in events:
        rows.append((f"fine:{area}", ts, v))
        rows.append((f"coarse:{PARENT[area]}", ts, v))
    src = op.input("in", flow, TestingSource(rows))
    keyed = op.key_on("key", src, lambda r: r[0])
    clock: win.EventClock[Any] = win.EventClock(
        lambda r: EPOCH + timedelta(seconds=r[1]),
        wait_for_system_duration=timedelta(seconds=lateness),
        now_getter=lambda: FIXED_NOW,
        to_system_utc=lambda _t: None,
    )
    windower: Any
    if step == length:
        windower = win.TumblingWindower(length=timedelta(seconds=length), align_to=EPOCH)
    else:
        windower = win.SlidingWindower(
            length=timedelta(seconds=length), offset=timedelta(seconds=step), align_to=EPOCH
        )
    wo = win.fold_window(
        "fold", keyed, clock, windower, list, lambda acc, r: [*acc, r[2]], lambda a, b: a + b
    )
    out: list[Any] = []
    op.output("out", wo.down, TestingSink(out))
    late: list[Any] = []
    op.output("late", wo.late, TestingSink(late))
    run_main(flow)
    assert late == [], "the generated stream must have no late events for the reference"
    result = {}
    for key, (window_id, values) in out:
        start = window_id * step
        result[(key, start, start + length)] = (reference_value(agg, values, length), len(values))
    return result


def fast_windows(
    events: list[tuple[int, int, float]],
    agg: str,
    length: int,
    step: int,
    lateness: int,
    batch: int,
) -> dict[tuple[str, int, int], tuple[float, int]]:
    w = IndicatorWindows(
        "x", agg, WindowSpec(length, step, lateness), ["fine", "coarse"],
        {"fine": N_FINE, "coarse": N_COARSE}, {"coarse": PARENT},
    )  # fmt: skip
    area = np.array([e[0] for e in events], dtype=np.int64)
    ts = np.array([e[1] for e in events], dtype=np.int64) * 1000
    val = np.array([e[2] for e in events], dtype=float)
    closed = []
    high = np.iinfo(np.int64).min
    for i in range(0, len(events), batch):
        late = w.add(area[i : i + batch], ts[i : i + batch], val[i : i + batch])
        assert not late.any()
        high = max(high, int(ts[i : i + batch].max()))
        closed += w.close_until(high)
    closed += w.close_until(END_OF_TIME)
    result = {}
    for c in closed:
        for a, v, n in zip(c.area, c.value, c.count, strict=True):
            result[(f"{c.level}:{a}", c.start, c.end)] = (float(v), int(n))
    return result


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[tuple[int, int, float]], int, int, int]:
    step = draw(st.sampled_from([60, 300]))
    length = step * draw(st.sampled_from([1, 1, 2, 4]))
    lateness = draw(st.sampled_from([0, 30, 120, 600]))
    n = draw(st.integers(1, 120))
    gaps = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
    jitter = draw(st.lists(st.integers(0, lateness), min_size=n, max_size=n))
    events = []
    t = T0
    high = T0
    for gap, j in zip(gaps, jitter, strict=True):
        t += gap
        ts = max(t - j, high - lateness)  # disorder never beyond the allowed lateness
        high = max(high, ts)
        area = draw(st.integers(0, N_FINE - 1))
        value = draw(st.sampled_from([0.0, 1.5, 2.0, 7.25, -3.0, 100.0]))
        events.append((area, ts, value))
    return events, length, step, lateness


AGGS = ["count", "sum", "mean", "min", "max", "rate", "p50", "p95", "distinct"]


@settings(max_examples=60, deadline=None)
@given(s=streams(), agg=st.sampled_from(AGGS), batch=st.sampled_from([1, 7, 1000]))
def test_fast_path_equals_bytewax_windowing(
    s: tuple[list[tuple[int, int, float]], int, int, int], agg: str, batch: int
) -> None:
    events, length, step, lateness = s
    expected = bytewax_windows(events, agg, length, step, lateness)
    got = fast_windows(events, agg, length, step, lateness, batch)
    assert got.keys() == expected.keys()
    for key, (value, count) in expected.items():
        assert got[key][1] == count, key
        assert np.isclose(got[key][0], value, rtol=1e-9, atol=1e-9), (key, got[key], value)
