"""Lateness, no-signal, rollups, recovery and the multi-partition watermark."""

from __future__ import annotations

import pickle

import numpy as np

from flows.windows import IndicatorWindows, PartitionProgress, WindowSpec
from flows.windows.progress import END_OF_TIME, NO_TIME

T0 = 1_770_000_000_000  # ms, a multiple of ten minutes: a boundary of every window here


def make(agg: str = "mean", **kw: object) -> IndicatorWindows:
    spec = kw.pop("spec", WindowSpec(60, 60, 30))
    return IndicatorWindows(
        "ind", agg, spec, ["sensor", "district"], {"sensor": 4, "district": 2},
        {"district": np.array([0, 0, 1, 1])}, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def add(w: IndicatorWindows, area: list[int], ts_s: list[float], v: list[float]) -> np.ndarray:
    return w.add(
        np.array(area, dtype=np.int64),
        T0 + (np.array(ts_s) * 1000).astype(np.int64),
        np.array(v, dtype=float),
    )


def test_events_after_their_window_closed_are_late_and_not_counted() -> None:
    w = make()
    assert not add(w, [0, 1], [10, 20], [1.0, 3.0]).any()
    closed = w.close_until(T0 + 95_000)  # window [0, 60) + 30 s lateness closes at 90 s
    assert [(c.level, c.start - T0 // 1000, list(c.value)) for c in closed] == [
        ("sensor", 0, [1.0, 3.0]),
        ("district", 0, [2.0]),
    ]
    late = add(w, [0, 0], [59, 61], [100.0, 5.0])
    assert list(late) == [True, False]
    fine, _coarse = w.close_until(END_OF_TIME)
    assert list(fine.value) == [5.0] and fine.start - T0 // 1000 == 60


def test_district_rollup_is_computed_from_events_not_from_means() -> None:
    w = make()
    add(w, [0, 0, 0, 1], [1, 2, 3, 4], [1.0, 1.0, 1.0, 5.0])
    fine, coarse = w.close_until(END_OF_TIME)
    assert list(fine.value) == [1.0, 5.0]
    assert list(coarse.value) == [2.0] and list(coarse.count) == [4]  # (1+1+1+5)/4


def test_silent_sensor_yields_no_signal_values_after_n_windows() -> None:
    w = make("count", silence_after=2, spec=WindowSpec(60, 60, 0))
    add(w, [0, 1], [1, 1], [1.0, 1.0])
    rows = []
    for minute in range(1, 5):
        add(w, [1], [minute * 60 + 1], [1.0])  # sensor 0 goes silent after minute 0
        rows += [c for c in w.close_until(T0 + (minute * 60 + 1) * 1000) if c.level == "sensor"]
    by_start = {
        c.start - T0 // 1000: dict(zip(c.area.tolist(), c.value.tolist(), strict=True))
        for c in rows
    }
    assert by_start[0] == {0: 1.0, 1: 1.0}
    assert by_start[60] == {1: 1.0}  # one silent window: not yet
    assert 0 in by_start[120] and np.isnan(by_start[120][0])  # two: no-signal
    assert np.isnan(by_start[180][0])


def test_counts_go_back_to_zero_after_the_last_event_then_stop() -> None:
    w = make("count", zero_fill=2, spec=WindowSpec(60, 60, 0))
    add(w, [0, 0, 2], [1, 2, 3], [1.0, 1.0, 1.0])
    add(w, [2], [61], [1.0])
    rows = [c for c in w.close_until(T0 + 600_000) if c.level == "sensor"]
    by_start = {
        c.start - T0 // 1000: dict(zip(c.area.tolist(), c.value.tolist(), strict=True))
        for c in rows
    }
    assert by_start == {
        0: {0: 2.0, 2: 1.0},
        60: {2: 1.0, 0: 0.0},  # area 0 had no events: 0, not "no window"
        120: {0: 0.0, 2: 0.0},
        180: {2: 0.0},  # area 0's two zero windows are over
    }
    assert max(by_start) == 180  # then nothing more: the engine is quiet again


def test_zero_fill_survives_a_snapshot() -> None:
    def run(split: bool) -> list[tuple[str, int, list[float]]]:
        w = make("count", zero_fill=3, spec=WindowSpec(60, 60, 0))
        add(w, [1, 3], [5, 6], [1.0, 1.0])
        out = w.close_until(T0 + 130_000)
        if split:
            state = pickle.loads(pickle.dumps(w.snapshot()))
            w = make("count", zero_fill=3, spec=WindowSpec(60, 60, 0))
            w.restore(state)
        out += w.close_until(T0 + 600_000)
        return [(c.level, c.start, c.value.tolist()) for c in out]

    assert run(True) == run(False)
    assert len(run(False)) == 2 * 4  # the event window and three zero windows, at two levels


def test_snapshot_restore_gives_the_same_windows_as_an_uninterrupted_run() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    area = rng.integers(0, 4, n)
    ts = np.sort(rng.integers(0, 3600, n)).astype(float)
    val = rng.normal(size=n)
    spec = WindowSpec(600, 300, 60)

    def run(split: int | None) -> list[tuple[str, int, list[float]]]:
        w = make("p95", spec=spec)
        out = []
        for i in range(0, n, 100):
            if split is not None and i == split:
                state = pickle.loads(pickle.dumps(w.snapshot()))
                w = make("p95", spec=spec)
                w.restore(state)
            add(w, area[i : i + 100].tolist(), ts[i : i + 100].tolist(), val[i : i + 100].tolist())
            out += w.close_until(T0 + int(ts[min(i + 99, n - 1)] * 1000))
        out += w.close_until(END_OF_TIME)
        return [(c.level, c.start, c.value.round(12).tolist()) for c in out]

    assert run(None) == run(1000)


def test_watermark_is_the_slowest_partition() -> None:
    p = PartitionProgress(2)
    p.update("a", 500)
    assert p.watermark == NO_TIME  # b has not reported: hold everything
    p.update("b", 100)
    assert p.watermark == 100
    p.update("b", 900)
    assert p.watermark == 500
    p.update("a", None, finished=True)
    assert p.watermark == 900
    p.update("b", None, finished=True)
    assert p.watermark == END_OF_TIME
    assert PartitionProgress.restore(p.snapshot()) == p


def test_quiet_gap_does_not_skip_windows_that_may_still_fill() -> None:
    w = make("count", spec=WindowSpec(60, 60, 120))
    add(w, [0], [0], [1.0])
    add(w, [0], [183], [1.0])
    add(w, [0], [243], [1.0])
    w.close_until(T0 + 243_000)
    assert not add(w, [0], [149], [1.0]).any()  # its window [120, 180) closes at 300 s


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_live_partition_stops_holding_the_watermark() -> None:
    clock = _Clock()
    p = PartitionProgress(3, idle_after_ms=60_000, clock=clock)
    p.update("a", 5_000)
    assert p.watermark == NO_TIME  # b and c have a minute to show up
    p.update("b", 3_000)
    clock.now += 30
    assert p.watermark == NO_TIME
    clock.now += 31  # c never reported: idle
    p.update("a", 9_000)
    p.update("b", 8_000)
    assert p.watermark == 8_000
    clock.now += 45
    p.update("a", 20_000)  # b silent for 45 s: still counts
    assert p.watermark == 8_000
    clock.now += 20  # b silent for 65 s: idle
    p.update("a", 21_000)
    assert p.watermark == 21_000
    p.update("b", 9_000)  # b is back, behind: its old events are late; time never goes back
    assert p.watermark == 21_000
    p.update("a", 30_000)
    p.update("b", 25_000)
    assert p.watermark == 25_000  # and b holds it again


def test_without_idleness_a_silent_partition_holds_everything() -> None:
    clock = _Clock()
    p = PartitionProgress(2, clock=clock)
    p.update("a", 5_000)
    clock.now += 10_000
    p.update("a", 50_000)
    assert p.watermark == NO_TIME  # replays: deterministic, whatever the wall clock says


def test_after_a_restart_every_partition_gets_its_time_again() -> None:
    clock = _Clock()
    p = PartitionProgress(2, idle_after_ms=60_000, clock=clock)
    p.update("a", 5_000)
    p.update("b", 4_000)
    clock.now += 600
    restored = PartitionProgress.restore(p.snapshot(), idle_after_ms=60_000, clock=clock)
    restored.update("a", 6_000)
    assert restored.watermark == 4_000  # b is not taken for idle at once


def test_renumbered_areas_resume_their_open_windows() -> None:
    """A registry change between a snapshot and the restart: sensor 2 is removed, two new
    sensors join and every other sensor gets a new number.  The windows closed after the
    restart equal those of a run that used the new numbering from the start (sensor 2 falls
    silent long before the snapshot, so it held nothing in the open windows), for means with
    no-signal, raw-value aggregates, maxima and zero-filled counts."""
    rng = np.random.default_rng(8)
    n, split = 1500, 1000
    area = rng.integers(0, 4, n)
    ts = np.sort(rng.integers(0, 3600, n)).astype(float)
    area[(area == 2) & (ts >= 1500)] = 3  # sensor 2 falls silent well before the snapshot
    val = rng.normal(size=n).round(3)
    source = np.array([3, -1, 0, -1, 1])  # new sensor i continues old sensor source[i]
    new_of_old = np.array([2, 4, -1, 0])
    spec = WindowSpec(600, 300, 60)

    def make_new(agg: str, **kw: object) -> IndicatorWindows:
        return IndicatorWindows(
            "ind", agg, spec, ["sensor", "district"], {"sensor": 5, "district": 2},
            {"district": np.array([1, 0, 0, 1, 0])}, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    def after_split(agg: str, restarted: bool, **kw: object) -> list[tuple[object, ...]]:
        """The windows closed from batch `split` on; with `restarted`, the run used the old
        numbering before it and was snapshot, restored and renumbered there."""
        w = make(agg, spec=spec, **kw) if restarted else make_new(agg, **kw)
        out = []
        for i in range(0, n, 100):
            if restarted and i == split:
                state = pickle.loads(pickle.dumps(w.snapshot()))
                w = make_new(agg, **kw)
                w.restore(state)
                w.remap({"sensor": source, "district": np.array([0, 1])})
            rows = np.arange(i, min(i + 100, n))
            if i >= split or not restarted:  # the new numbering, without the removed sensor
                rows = rows[new_of_old[area[rows]] >= 0]
                a = new_of_old[area[rows]]
            else:
                a = area[rows]
            add(w, a.tolist(), ts[rows].tolist(), val[rows].tolist())
            closed = w.close_until(T0 + int(ts[min(i + 99, n - 1)] * 1000))
            out += closed if i >= split else []
        out += w.close_until(END_OF_TIME)
        return [(c.level, c.start, c.area.tolist(), c.value.round(9).tolist()) for c in out]

    for agg, kw in (("mean", {"silence_after": 2}), ("p95", {}), ("distinct", {}),
                    ("count", {"zero_fill": 3}), ("max", {})):  # fmt: skip
        straight = after_split(agg, False, **kw)
        assert straight == after_split(agg, True, **kw), agg
        assert len(straight) >= 8, agg


def test_closed_through_counts_the_windows_closed_without_data() -> None:
    """The exporter learns from `closed_through` that a window closed with no area in it
    (it emits nothing), so it stops showing the older values (flows/instrument.py)."""
    w = make(spec=WindowSpec(60, 20, 30))  # 1-minute windows sliding by 20 s
    assert w.closed_through() is None
    add(w, [0], [10], [1.0])
    assert [c.end - T0 // 1000 for c in w.close_until(T0 + 95_000)][-1] == 60
    assert w.closed_through() == T0 // 1000 + 60
    add(w, [0], [150], [2.0])  # nothing from 60 s to 150 s
    w.close_until(T0 + 175_000)  # the window [80, 140) closes at 170 s, with no data
    assert w.closed_through() == T0 // 1000 + 140
