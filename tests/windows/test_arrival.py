"""Lateness is judged per event, against the watermark as it stood when the event arrived:
where a replay's chunks are cut changes nothing (windows, late events), however far out of
order the stream is, for tumbling and sliding windows and over several partitions."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.plan import IndicatorPlan, Routed
from flows.runtime import IndicatorRuntime, arrival_watermarks
from flows.windows import IndicatorWindows, WindowSpec
from flows.windows.progress import NO_TIME

T0 = 1_769_997_600_000  # ms, on the hour
HOUR = 3_600_000


def runtime(spec: WindowSpec, agg: str = "mean", partitions: int = 1) -> IndicatorRuntime:
    def new_windows() -> IndicatorWindows:
        return IndicatorWindows(
            "ind", agg, spec, ["sensor", "district"], {"sensor": 4, "district": 2},
            {"district": np.array([0, 0, 1, 1])},
        )  # fmt: skip

    plan = cast(IndicatorPlan, SimpleNamespace(new_windows=new_windows))
    return IndicatorRuntime(plan, n_partitions=partitions)


Event = tuple[str, int, int, float]  # partition, area, ts (ms), value


def replay(rt: IndicatorRuntime, batches: list[list[Event]]) -> tuple[Any, list[bool]]:
    """Feed the batches (each of one partition), then end; every closed window's rows and
    the late mask of the events in arrival order."""
    windows: dict[tuple[str, int, int], tuple[float, int]] = {}
    late: list[bool] = []

    def keep(closed: list[Any]) -> None:
        for c in closed:
            for a, v, n in zip(c.area.tolist(), c.value.tolist(), c.count.tolist(), strict=True):
                key = (c.level, c.start, a)
                assert key not in windows, f"window {key} closed twice"
                windows[key] = (round(v, 9), n)

    for batch in batches:
        area = np.array([e[1] for e in batch], dtype=np.int64)
        ts = np.array([e[2] for e in batch], dtype=np.int64)
        value = np.array([e[3] for e in batch])
        step = rt.on_batch(Routed(area, ts, value), batch[0][0], int(ts.max()), False)
        keep(step.closed)
        mask = np.zeros(len(batch), dtype=bool)
        if step.late_events is not None:
            # (events are unique by time here, so the late ones are found by their times)
            mask = np.isin(ts, step.late_events.ts)
        assert int(mask.sum()) == step.late
        late += mask.tolist()
    keep(rt.on_eof().closed)
    return windows, late


def one_batch_per_run(events: list[Event]) -> list[list[Event]]:
    """The events cut wherever the partition changes, nowhere else: the largest batches."""
    batches: list[list[Event]] = []
    for e in events:
        if batches and batches[-1][0][0] == e[0]:
            batches[-1].append(e)
        else:
            batches.append([e])
    return batches


def test_a_reading_far_later_than_the_lateness_is_late_in_the_same_batch_too() -> None:
    """Hourly windows, 10 minutes of lateness: a reading 36 h late after a day and a half of
    readings is late whether it comes in their batch or in one of its own (before, in their
    batch it was counted in its long-closed hour, and could raise a false warning)."""
    spec = WindowSpec(3600, 3600, 600)
    events: list[Event] = [("p", i % 4, T0 + i * 60_000, 20.0) for i in range(36 * 60)]
    events.append(("p", 0, T0 + 30 * 60_000 + 1, 500.0))
    together, late_together = replay(runtime(spec), [events])
    apart, late_apart = replay(runtime(spec), [events[:-1], events[-1:]])
    assert late_together[-1] and late_apart[-1]
    assert together == apart
    assert together[("sensor", T0 // 1000, 0)] == (20.0, 15)  # its hour without it


def test_a_reading_within_the_lateness_still_counts_in_the_same_batch() -> None:
    spec = WindowSpec(3600, 3600, 600)
    events: list[Event] = [("p", 0, T0 + i * 60_000, 20.0) for i in range(65)]
    events.append(("p", 1, T0 + 59 * 60_000, 80.0))  # 6 minutes after its hour ended
    windows, late = replay(runtime(spec), [events])
    assert not any(late)
    assert windows[("sensor", T0 // 1000, 1)] == (80.0, 1)


def test_a_sliding_windows_event_counts_only_in_its_windows_still_open() -> None:
    """1-hour windows every 15 minutes, no lateness: an event of 10:50 arriving when the
    stream is at 11:20 has missed the windows that ended at 11:00 and 11:15 and counts in
    those ending at 11:30 and 11:45, in one batch as in two."""
    spec = WindowSpec(3600, 900, 0)
    base: list[Event] = [("p", 1, T0 + i * 60_000, 1.0) for i in range(81)]  # 10:00 .. 11:20
    straggler: Event = ("p", 0, T0 + 50 * 60_000 + 1, 7.0)
    together, late = replay(runtime(spec, "sum"), [[*base, straggler]])
    apart, _ = replay(runtime(spec, "sum"), [base, [straggler]])
    assert not any(late) and together == apart
    starts = {start for lvl, start, a in together if lvl == "sensor" and a == 0}
    s0 = T0 // 1000
    assert starts == {s0 + 1800, s0 + 2700}  # not those of 10:00 and 10:15


def test_the_first_windows_of_a_stream_are_not_late_until_one_has_closed() -> None:
    """Before any window has closed nothing is late (the stream may start out of order); the
    first close, within a batch, makes what follows judged."""
    spec = WindowSpec(60, 60, 0)
    events: list[Event] = [("p", 0, T0 + 600_000, 1.0), ("p", 0, T0, 2.0), ("p", 0, T0 + 1, 3.0)]
    together, late = replay(runtime(spec), [events])
    assert late == [False, False, True]
    apart, late_apart = replay(runtime(spec), [[e] for e in events])
    assert (together, late) == (apart, late_apart)


def test_arrival_watermarks_hold_the_running_maximum_between_before_and_after() -> None:
    ts = np.array([5, 3, 9, 7, 12], dtype=np.int64)
    routed = Routed(np.zeros(5, dtype=np.int64), ts, None)
    assert arrival_watermarks(routed, 4, 10).tolist() == [5, 5, 9, 9, 10]
    assert arrival_watermarks(routed, NO_TIME, NO_TIME).tolist() == [NO_TIME] * 5
    high = np.array([8, 8, 9, 9, 12], dtype=np.int64)  # the partition's, other fields included
    assert arrival_watermarks(Routed(routed.area, ts, None, high), 0, 99).tolist() == [
        8, 8, 9, 9, 12
    ]  # fmt: skip


@st.composite
def streams(draw: st.DrawFn) -> tuple[WindowSpec, str, list[Event], list[list[Event]]]:
    """Events of up to three partitions, out of order by up to three windows' time (so that
    many are late or partly late), each time unique; and the same arrival order cut into
    batches at random (a batch holds consecutive events of one partition)."""
    step = draw(st.sampled_from([60, 300]))
    spec = WindowSpec(step * draw(st.sampled_from([1, 2, 4])), step,
                      draw(st.sampled_from([0, 30, 120])))  # fmt: skip
    agg = draw(st.sampled_from(["mean", "count", "max", "p50"]))
    parts = draw(st.integers(1, 3))
    n = draw(st.integers(1, 150))
    events: list[Event] = []
    t = T0
    for i in range(n):
        t += draw(st.integers(0, 90)) * 1000
        back = draw(st.sampled_from([0, 0, 0, 1])) * draw(st.integers(0, 3 * spec.length))
        part = f"p{draw(st.integers(0, parts - 1))}"
        ts = t - back * 1000 + i  # + i: unique times, to find the late events back
        events.append((part, draw(st.integers(0, 3)), ts, float(draw(st.integers(0, 9)))))
    batches: list[list[Event]] = []
    for run in one_batch_per_run(events):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(run) - 1)), max_size=3)))
        bounds = [0, *[c for c in cuts if c < len(run)], len(run)]
        batches += [run[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    return spec, agg, events, batches


@settings(max_examples=150, deadline=None)
@given(streams())
def test_the_cut_of_the_batches_changes_nothing(
    case: tuple[WindowSpec, str, list[Event], list[list[Event]]],
) -> None:
    spec, agg, events, batches = case
    parts = len({e[0] for e in events})
    one_by_one = replay(runtime(spec, agg, parts), [[e] for e in events])
    assert replay(runtime(spec, agg, parts), batches) == one_by_one
    assert replay(runtime(spec, agg, parts), one_batch_per_run(events)) == one_by_one
