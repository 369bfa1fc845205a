"""The flow's event counters, read from a real run's exposition: accepted sensor readings per
sensor kind, every source's counters exported from the start at 0."""

from __future__ import annotations

import itertools
import json
import urllib.request
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from citysigns.run import run, start_metrics
from flows import instrument
from flows.city import load_default_registry
from flows.city.registry import sensor_kinds
from flows.decode import CHANNELS
from flows.flow import FlowConfig
from flows.metrics import EVENTS
from flows.realdata import beijing_records

AIR_FIELDS = 6  # pm25, pm10, so2, no2, co, o3 in every Beijing record


def events(url: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        text = resp.read().decode("utf-8")
    return {
        (s.labels["source"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == EVENTS
        for s in family.samples
    }


def scrape_after(cfg: FlowConfig) -> str:
    """The exposition of a run of `cfg`, scraped from its exporter once the run has ended."""
    _metrics, server = start_metrics(cfg, 0)
    try:
        run(cfg)
        with urllib.request.urlopen(server.url, timeout=30) as resp:
            return resp.read().decode("utf-8")
    finally:
        server.stop()
        instrument.install(None)


def test_sensor_readings_are_counted_per_kind(tmp_path: Path) -> None:
    air = list(itertools.islice(beijing_records(load_default_registry()), 3))
    noise = [
        {"sensor_id": f"NS-310101-00000{i}", "ts": "2017-01-01T00:00:00+08:00",
         "LAeq": 55.0 + i, "LAmax": 70.0}
        for i in (1, 2)
    ]  # fmt: skip
    lines = [json.dumps(r) for r in [*air, *noise, air[0]]]  # the last: a repeat
    lines += ["{not json", json.dumps({**noise[0], "sensor_id": "NS-310101-999999"})]
    inputs = tmp_path / "sensors.ndjson"
    inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = FlowConfig((str(inputs),), str(tmp_path / "out"))
    _metrics, server = start_metrics(cfg, 0)
    try:
        before = events(server.url)
        run(cfg)
        after = events(server.url)
    finally:
        server.stop()
        instrument.install(None)

    expected = set(instrument.event_series(sensor_kinds(), CHANNELS))
    assert set(before) == expected and not any(before.values())
    assert after[("air_quality", "accepted")] == 3 * AIR_FIELDS
    assert after[("noise", "accepted")] == 2 * 2
    assert after[("sensor", "duplicate")] == AIR_FIELDS  # counted per reading
    assert after[("sensor", "dead_letter")] == 2  # the broken line, the unknown sensor
    assert ("sensor", "accepted") not in after  # readings are counted under their kind
    untouched = expected - {
        ("air_quality", "accepted"), ("noise", "accepted"),
        ("sensor", "duplicate"), ("sensor", "dead_letter"),
    }  # fmt: skip
    assert {after[s] for s in untouched} == {0.0}


def test_the_watermark_is_exported_in_event_time(tmp_path: Path) -> None:
    """`citysigns_watermark_timestamp_seconds` is the flow's watermark in the data's time (so
    `time() -` it says how far the flow trails real time): within the replayed hours, ahead of
    their start."""
    from datetime import datetime

    air = list(itertools.islice(beijing_records(load_default_registry()), 3_000))
    stamps = sorted(datetime.fromisoformat(r["ts"]).timestamp() for r in air)
    inputs = tmp_path / "air.ndjson"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in air), encoding="utf-8")
    cfg = FlowConfig((str(inputs),), str(tmp_path / "out"), chunk_bytes=64 << 10)
    families = text_string_to_metric_families(scrape_after(cfg))
    (watermark,) = [s.value for f in families for s in f.samples
                    if f.name == "citysigns_watermark_timestamp_seconds"]  # fmt: skip
    assert stamps[0] < watermark <= stamps[-1]


def test_the_watermark_lag_is_zero_once_every_input_has_ended(tmp_path: Path) -> None:
    """The lag is the newest event read minus the slowest unfinished partition's time, and
    each indicator sets it as its windows close: the last to report after the inputs ended
    left the lag it measured while a file was behind (16,930 s after the first 3,000 lines
    of the demo city's files), so a replay kept up with --linger for Prometheus to scrape
    fired CitySignsWatermarkLagCritical at pipeline on-call.  Once every input has ended
    nothing trails: the lag reads 0."""
    from datetime import datetime, timedelta

    air = list(itertools.islice(beijing_records(load_default_registry()), 600))
    start = datetime.fromisoformat(air[0]["ts"])
    orders = [
        {"service_request_id": f"12345-2017-{i:06d}", "service_code": "noise_complaint",
         "description": "楼上装修噪声扰民", "lat": 31.2316, "long": 121.4800,
         "requested_datetime": (start + timedelta(minutes=37 * i)).isoformat()}
        for i in range(1, 120)
    ]  # fmt: skip
    sensors, hotline = tmp_path / "sensors.ndjson", tmp_path / "hotline.ndjson"
    sensors.write_text("".join(json.dumps(r) + "\n" for r in air), encoding="utf-8")
    hotline.write_text("".join(json.dumps(r) + "\n" for r in orders), encoding="utf-8")
    cfg = FlowConfig((str(sensors), str(hotline)), str(tmp_path / "out"), chunk_bytes=4 << 10)
    families = text_string_to_metric_families(scrape_after(cfg))
    (lag,) = [s.value for f in families for s in f.samples
              if f.name == "citysigns_watermark_lag_seconds"]  # fmt: skip
    assert lag == 0.0


def test_an_area_without_a_window_at_the_last_close_shows_no_value(tmp_path: Path) -> None:
    """Street 310101001's noise sensor reports in the first 15 minutes only, 310101002's in
    both.  The flow has no second window for 310101001 (a break, for its warnings), and the
    exporter no longer shows the first window's value for it, which Prometheus took as the
    level still holding (a `for` counted across the gap)."""

    def reading(sensor: str, minute: int) -> str:
        return json.dumps({"sensor_id": sensor, "ts": f"2026-03-02T08:{minute:02d}:00+08:00",
                           "LAeq": 60.0 + minute / 10, "LAmax": 70.0})  # fmt: skip

    lines = [reading("NS-310101-000001", 5), reading("NS-310101-000002", 5),
             reading("NS-310101-000002", 20)]  # fmt: skip
    inputs = tmp_path / "noise.ndjson"
    inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = FlowConfig((str(inputs),), str(tmp_path / "out"))
    text = scrape_after(cfg)
    shown = {
        (family.name, s.labels["area"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name in ("citysigns_indicator_value", "citysigns_indicator_warning_level")
        for s in family.samples
        if s.labels["indicator"] == "noise.laeq" and s.labels["area_level"] == "street"
    }
    assert shown == {
        ("citysigns_indicator_value", "310101002"): 62.0,
        ("citysigns_indicator_warning_level", "310101001"): 0.0,
        ("citysigns_indicator_warning_level", "310101002"): 0.0,
    }


def test_a_close_no_area_had_a_window_in_leaves_every_area_without_a_value() -> None:
    """Traffic sensors that all report every 20 min into windows sliding by 5: at some closes
    no area has a window, so the flow emits nothing, while its warnings see the gap.  The
    exporter kept every area's older score, and Prometheus fired blue across the gap where
    the flow raised nothing (traffic.occupancy_p95, district 310101, in the demo city).  Once
    the watermark has closed such a window every area is shown without a value; the next
    window shows its areas again, and the warning levels stay throughout."""
    from prometheus_client import generate_latest

    from alerts.scored import ScoredBatch
    from flows.city import load_city
    from flows.flow import CATALOG_DIR
    from flows.metrics import CitySignsMetrics, MetricsConfig, make_registry
    from flows.plan import compile_plan
    from flows.windows import ClosedWindows
    from indicators.language.validate import load_catalog_or_raise

    catalog = load_catalog_or_raise([str(CATALOG_DIR)])
    city = load_city()
    plan = compile_plan(catalog, city, load_default_registry()).by_id()["noise.laeq"]
    metrics = CitySignsMetrics.for_catalog(catalog, MetricsConfig())
    gauges = instrument.IndicatorGauges(plan)
    streets = plan.spaces["street"].codes
    areas = np.array([0, 1])
    start = 1_772_409_600  # 2026-03-02 08:00 +08:00, on the 15-minute grid
    length, lateness = plan.spec.length, plan.spec.lateness

    def close(end: int, values: list[float]) -> None:
        n = len(values)
        closed = [ClosedWindows("noise.laeq", "street", end - length, end, areas[:n],
                                np.array(values), np.ones(n, np.int64))]  # fmt: skip
        scored = ScoredBatch(
            np.full(n, "noise.laeq"), streets[areas[:n]].astype(str), np.full(n, "street"),
            np.full(n, end - length), np.full(n, end), np.array(values), np.full(n, 0.5),
            np.full(n, 50.0), np.full(n, 70.0), np.full(n, ""),
        )  # fmt: skip
        gauges.report(closed, scored, [], (end + lateness) * 1000, None, end)

    def shown() -> dict[tuple[str, str], float]:
        text = generate_latest(make_registry(metrics)).decode("utf-8")
        return {
            (family.name, s.labels["area"]): s.value
            for family in text_string_to_metric_families(text)
            if family.name in ("citysigns_indicator_value", "citysigns_indicator_warning_level")
            for s in family.samples
            if s.labels["indicator"] == "noise.laeq"
        }

    a, b = (str(c) for c in streets[:2])
    instrument.install(metrics)
    try:
        close(start + length, [61.0, 62.0])
        assert shown()[("citysigns_indicator_value", a)] == 61.0
        # the watermark passes the next window's close: no area had data in it
        through = start + 2 * length
        gauges.report([], None, [], (through + lateness) * 1000, None, through)
        assert shown() == {("citysigns_indicator_warning_level", a): 0.0,
                           ("citysigns_indicator_warning_level", b): 0.0}  # fmt: skip
        close(start + 3 * length, [63.0])
        assert shown()[("citysigns_indicator_value", a)] == 63.0
        assert ("citysigns_indicator_value", b) not in shown()
    finally:
        instrument.install(None)
