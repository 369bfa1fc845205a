"""An input that ends early stops holding the watermark back: its source says it has ended,
and the flow's outputs are those of a run without it (apart from what it brings)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np

from citysigns.run import run
from flows.flow import FlowConfig
from flows.plan import IndicatorPlan, Routed
from flows.runtime import IndicatorRuntime
from flows.windows import ClosedWindows, IndicatorWindows, WindowSpec
from flows.windows.progress import END_OF_TIME
from tests.reliability.fuzz_inputs import good_reading, hotline_warm_up

T0 = 1_769_997_600_000  # ms, on the hour


def _outputs(out: Path) -> dict[str, list[str]]:
    names = ("windows", "warnings", "orders", "dead_letters")
    return {n: sorted((out / f"{n}.ndjson").read_text().splitlines()) for n in names}


def test_a_short_hotline_file_changes_no_output(tmp_path: Path) -> None:
    """Water-outage calls every 10 minutes for 16 hours, air readings for 24, and a file of
    the first three calls again (repeats: it brings nothing).  The short file held every
    window open until the replay ended, and the end closed only windows with calls in them:
    the zero-count windows after the last call were missing."""
    orders = hotline_warm_up(100, step_s=600)
    hotline, short = tmp_path / "hotline.ndjson", tmp_path / "first3.ndjson"
    hotline.write_bytes(b"\n".join(orders) + b"\n")
    short.write_bytes(b"\n".join(orders[:3]) + b"\n")
    sensors = tmp_path / "sensors.ndjson"
    readings = [
        good_reading(k, shift=timedelta(minutes=10 * m)) for m in range(6 * 24) for k in range(3)
    ]
    sensors.write_text("".join(json.dumps(r) + "\n" for r in readings))
    run(FlowConfig((str(sensors), str(hotline)), str(tmp_path / "alone")))
    run(FlowConfig((str(sensors), str(hotline), str(short)), str(tmp_path / "both")))
    alone, both = _outputs(tmp_path / "alone"), _outputs(tmp_path / "both")
    windows = [json.loads(w) for w in alone["windows"]]
    assert [w for w in windows if w["indicator"] == "hotline.water_outage" and not w["count"]]
    assert both == alone


def _runtime(
    spec: WindowSpec, partitions: int, silence_after: int | None = None
) -> IndicatorRuntime:
    def new_windows() -> IndicatorWindows:
        return IndicatorWindows("ind", "count", spec, ["sensor"], {"sensor": 2},
                                silence_after=silence_after)  # fmt: skip

    plan = cast(IndicatorPlan, SimpleNamespace(new_windows=new_windows))
    return IndicatorRuntime(plan, n_partitions=partitions)


def _step(
    rt: IndicatorRuntime, part: str, ts_ms: list[int], high: int | None = None, end: bool = False
) -> list[ClosedWindows]:
    """A batch of `part` with events of sensor 0 at `ts_ms` (its largest time `high`, other
    indicators' events included), or its end."""
    ts = np.array(ts_ms, dtype=np.int64)
    routed = Routed(np.zeros(len(ts), dtype=np.int64), ts, None)
    high = high if high is not None or not len(ts) else int(ts.max())
    return rt.on_batch(routed, part, high, end).closed


def test_a_finished_partition_lets_the_others_close_their_windows() -> None:
    """Minute windows: b's input ends at its first minute; a's windows close as a goes on."""
    rt = _runtime(WindowSpec(60, 60, 0), partitions=2)
    assert not _step(rt, "b", [T0])
    assert not _step(rt, "a", [T0 + 10_000, T0 + 100_000])  # held at b's time
    assert _step(rt, "b", [], end=True)  # the first minute closes
    assert _step(rt, "a", [T0 + 300_000])
    assert rt.progress.watermark == T0 + 300_000


def test_the_end_closes_the_same_windows_whichever_input_ends_last() -> None:
    """Once every input has ended, the windows that the latest time seen completes close as
    a watermark there would close them (a quiet sensor's no-signal rows included), then the
    rest.  Before, when the short input ended last, the end went straight to the final close,
    which stops at the last window with events: the no-signal rows after it were missing."""

    def rows(last: str) -> list[tuple[int, int, float]]:
        rt = _runtime(WindowSpec(60, 60, 0), partitions=2, silence_after=1)
        closed = _step(rt, "long", [T0 + 1000, T0 + 61_000], high=T0 + 300_000)
        closed += _step(rt, "short", [T0 + 2000])
        for part in sorted(("long", "short"), key=lambda p: p == last):
            closed += _step(rt, part, [], end=True)
        assert rt.progress.watermark == END_OF_TIME
        return sorted(
            (c.start, a, None if v != v else v)  # (NaN: no signal)
            for c in closed
            for a, v in zip(c.area.tolist(), c.value.tolist(), strict=True)
        )

    assert rows("short") == rows("long")
    assert len(rows("short")) == 5  # minutes 0, 1, then sensor 0 silent in minutes 2, 3, 4
