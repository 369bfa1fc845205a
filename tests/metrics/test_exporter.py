"""The Prometheus exporter: golden exposition text, naming conventions, the cardinality budget,
label hygiene, ticket counts, and serving on its own registry bound to 127.0.0.1.

Regenerate the golden file after an intended change with
`CITYSIGNS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/metrics` and review the diff."""

from __future__ import annotations

import math
import os
import urllib.request
from pathlib import Path

import numpy as np
import prometheus_client
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flows.metrics import (
    DROP_BUDGET,
    DROP_FINER_LEVEL,
    AreaInfo,
    CitySignsMetrics,
    IndicatorInfo,
    MetricsConfig,
    TicketCounts,
    district_codes,
    make_registry,
    serve,
)

GOLDEN = Path(__file__).parent / "golden" / "exposition.txt"
NOW = 1_772_330_400.0  # 2026-03-01 10:00 +08:00

INDICATORS = {
    "air.pm25": IndicatorInfo("air", "ug/m3", "env", "env"),
    "flood.ponding_depth": IndicatorInfo("flood", "cm", "water", "drainage"),
    "flood.rainfall_hourly": IndicatorInfo("flood", "mm", "water", "none"),
}
AREAS = {
    "310000": AreaInfo("city", "", "上海市", "Shanghai", 31.2, 121.45),
    "310106": AreaInfo("district", "310106", "静安区", "Jing'an", 31.26, 121.456),
    "310101": AreaInfo("district", "310101", "黄浦区", "Huangpu", 31.2316, 121.48),
    "310106001": AreaInfo("street", "310106", "江宁路街道", "Jiangning Road", 31.24, 121.45),
}


def golden_state() -> CitySignsMetrics:
    """Every family with samples, from fixed inputs and a fixed clock."""
    m = CitySignsMetrics(
        INDICATORS, MetricsConfig(max_series=30), AREAS, clock=lambda: NOW, version="0.1.0"
    )
    m.update_indicator(
        "air.pm25", "district", np.array(["310106", "310101"]),
        value=[182.5, 41.0], lower=[20.0, 18.5], upper=[95.0, 90.0], score=[0.97, 0.12],
        warning_level_index=[3, 0], window_end=NOW - 600,
    )  # fmt: skip
    m.update_indicator(
        "air.pm25", "city", ["310000"], value=[88.0], lower=[25.0], upper=[100.0],
        score=[math.nan], warning_level_index=[1], window_end=NOW - 600,
    )  # fmt: skip
    # a street with no band (NaN): value, score and level only
    m.update_indicator(
        "flood.ponding_depth", "street", ["310106001"], value=[27.0], lower=[math.nan],
        upper=[math.nan], score=[1.0], warning_level_index=[3], window_end=NOW - 300,
    )  # fmt: skip
    # finer than max_area_level (street): not exported, counted
    m.update_indicator("flood.ponding_depth", "sensor", ["FL-310106-000001"], [30.0], [0.0],
                       [10.0], [1.0], [4])  # fmt: skip
    # over the budget (30 samples = 6 areas; 4 exported so far): 2 of 3 new areas fit
    m.update_indicator(
        "flood.rainfall_hourly", "district", ["310101", "310104", "310106"],
        value=[12.0, 8.5, 31.0], lower=[0.0] * 3, upper=[20.0] * 3, score=[0.1, 0.05, 0.9],
        warning_level_index=[0, 0, 2],
    )  # fmt: skip
    m.record_events("air_quality", "accepted", 120_000)
    m.record_events("air_quality", "dead_letter", 37)
    m.record_events("hotline", "accepted", 420)
    m.record_events("hotline", "duplicate", 12)
    m.record_dead_letters("bad_json", 30)
    m.record_dead_letters("unknown_sensor", 7)
    m.set_watermark_lag(42.5)
    m.set_watermark(NOW - 600)  # ten minutes behind real time
    m.observe_window_close_latency([0.004, 0.03, 0.2, 0.2, 1.5, 75.0])
    for n in (10_000, 10_000, 512, 3):
        m.observe_batch_size(n)
    m.set_tracked_series("air.pm25", 1_620)
    m.set_tracked_series("flood.ponding_depth", 2_400)
    m.record_recovery_reset("air.pm25", "detectors")  # resumed after a catalog change
    m.set_ticket_counts(
        TicketCounts(
            open={("dispatched", "drainage", "street", "orange"): 2,
                  ("accepted", "env", "district", "blue"): 1},
            overdue={("drainage", "street", "orange"): 1},
            supervised={("drainage", "district", "orange"): 1},
            closed={("env", "met"): 14, ("env", "missed"): 2},
        )
    )  # fmt: skip
    m.set_ticket_store(up=False, pending=17, errors_total=3)  # during a store outage
    return m


def exposition(m: CitySignsMetrics) -> str:
    return generate_latest(make_registry(m)).decode("utf-8")


def test_golden_exposition() -> None:
    text = exposition(golden_state())
    if os.environ.get("CITYSIGNS_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "the exposition changed; if intended, regenerate with CITYSIGNS_UPDATE_GOLDEN=1"
    )


def test_names_follow_prometheus_conventions() -> None:
    families = list(text_string_to_metric_families(exposition(golden_state())))
    assert len(families) >= 20
    for fam in families:
        assert fam.name.startswith("citysigns_"), fam.name
        for s in fam.samples:
            if fam.type == "counter":
                assert s.name.endswith(("_total", "_created")), s.name
            # no ids of people, no free text: label values are codes or lower-case words,
            # except the names and coordinates of places in citysigns_area_info
            for key, value in s.labels.items():
                if fam.name == "citysigns_area_info" and key in ("name", "name_en"):
                    continue
                assert " " not in value, (fam.name, key, value)
        if fam.name.endswith(("_seconds", "_timestamp_seconds")):
            assert fam.type in ("gauge", "histogram"), fam.name
    names = {f.name for f in families}
    assert "citysigns_window_close_latency_seconds" in names  # seconds, not ms
    assert "citysigns_watermark_lag_seconds" in names


def test_nan_is_left_out_and_levels_are_numbers() -> None:
    fams = {f.name: f for f in text_string_to_metric_families(exposition(golden_state()))}
    lower = fams["citysigns_indicator_expected_lower"].samples
    assert all(s.labels["area"] != "310106001" for s in lower)  # NaN band: not exported
    score = fams["citysigns_indicator_anomaly_score"].samples
    assert all(s.labels["area"] != "310000" for s in score)
    level = {s.labels["area"]: s.value for s in fams["citysigns_indicator_warning_level"].samples
             if s.labels["indicator"] == "air.pm25"}  # fmt: skip
    assert level == {"310106": 3.0, "310101": 0.0, "310000": 1.0}


def test_budget_and_area_level_are_enforced_and_counted() -> None:
    m = golden_state()
    fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
    dropped = {s.labels["reason"]: s.value for s in fams["citysigns_metric_updates_dropped"].samples
               if s.name.endswith("_total")}  # fmt: skip
    assert dropped == {DROP_FINER_LEVEL: 1.0, DROP_BUDGET: 1.0}
    exported = fams["citysigns_metric_series"].samples[0].value
    assert exported == 30.0 == fams["citysigns_metric_series_budget"].samples[0].value
    rain = {s.labels["area"] for s in fams["citysigns_indicator_value"].samples
            if s.labels["indicator"] == "flood.rainfall_hourly"}  # fmt: skip
    assert rain == {"310101", "310104"}
    # a known area still updates at the budget; a new one is refused
    n = m.update_indicator("flood.rainfall_hourly", "district", ["310104", "310115"],
                           [9.0, 1.0], [0, 0], [20, 20], [0.2, 0.1], [0, 0])  # fmt: skip
    assert n == 1
    fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
    rain_values = {s.labels["area"]: s.value for s in fams["citysigns_indicator_value"].samples
                   if s.labels["indicator"] == "flood.rainfall_hourly"}  # fmt: skip
    assert rain_values == {"310101": 12.0, "310104": 9.0}


def test_updates_overwrite_and_keep_districts() -> None:
    m = CitySignsMetrics(INDICATORS, MetricsConfig(), clock=lambda: NOW)
    codes = np.array(["310106001", "310101002", "310106003"])
    m.update_indicator("flood.ponding_depth", "street", codes, [1, 2, 3], [0] * 3, [5] * 3,
                       [0.1, 0.2, 0.3], [0, 0, 0])  # fmt: skip
    m.update_indicator("flood.ponding_depth", "street", codes[::-1], [30, 20, 10], [0] * 3,
                       [5] * 3, [0.9, 0.8, 0.7], [4, 0, 0])  # fmt: skip
    fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
    got = {(s.labels["area"], s.labels["district"]): s.value
           for s in fams["citysigns_indicator_value"].samples}  # fmt: skip
    assert got == {("310106001", "310106"): 10.0, ("310101002", "310101"): 20.0,
                   ("310106003", "310106"): 30.0}  # fmt: skip


def test_an_area_without_a_window_at_a_close_shows_no_value_but_keeps_its_level() -> None:
    """Sensors every 20 min in 15-min windows sliding by 5: some windows of an area are
    empty.  The flow's warning takes the missing window as a break in a run towards a level,
    but the exporter kept showing the area's older value, so Prometheus counted the level's
    `for` across the gap and fired blue where the flow raised nothing (traffic.occupancy_p95
    in the demo city).  A whole window's update now leaves such an area without a value,
    band or score until its next window; its warning level stays."""
    m = CitySignsMetrics(INDICATORS, MetricsConfig(), clock=lambda: NOW)
    codes = np.array(["310106001", "310101002"])
    m.update_indicator("flood.ponding_depth", "street", codes, [30, 20], [0, 0], [5, 5],
                       [0.999, 0.2], [1, 0], window_end=NOW, whole_window=True)  # fmt: skip
    m.update_indicator("flood.ponding_depth", "street", codes[1:], [21], [0], [5], [0.3], [0],
                       window_end=NOW + 300, whole_window=True)  # fmt: skip

    def samples(name: str) -> dict[str, float]:
        fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
        return {s.labels["area"]: s.value for s in fams[name].samples}

    assert samples("citysigns_indicator_value") == {"310101002": 21.0}
    assert samples("citysigns_indicator_anomaly_score") == {"310101002": 0.3}
    assert samples("citysigns_indicator_expected_upper") == {"310101002": 5.0}
    assert samples("citysigns_indicator_warning_level") == {"310106001": 1.0, "310101002": 0.0}
    # an update that is not a whole window (one area's) leaves the others as they were
    m.update_indicator("flood.ponding_depth", "street", codes[:1], [31], [0], [5], [0.5], [1])
    assert samples("citysigns_indicator_value") == {"310106001": 31.0, "310101002": 21.0}


def test_district_codes_of_every_level() -> None:
    assert district_codes("street", np.array(["310106001", "310101002"])).tolist() == [
        "310106", "310101"]  # fmt: skip
    assert district_codes("sensor", ["AQ-310115-000123", "bogus"]).tolist() == ["310115", ""]
    assert district_codes("city", ["310000"]).tolist() == [""]


def test_bad_labels_and_arguments_are_refused_with_a_message() -> None:
    m = CitySignsMetrics(INDICATORS)
    with pytest.raises(ValueError, match="no ids, no free text"):
        m.record_events("hotline", "Caller 13812345678 complained")
    with pytest.raises(ValueError, match="not in the catalog"):
        m.update_indicator("air.nope", "district", ["310106"], [1], [1], [1], [1], [0])
    with pytest.raises(ValueError, match="one entry per area"):
        m.update_indicator("air.pm25", "district", ["310106", "310101"], [1], [1], [1], [1], [0])
    with pytest.raises(ValueError, match="max_area_level"):
        MetricsConfig(max_area_level="building")
    with pytest.raises(ValueError, match="cannot be a metric label"):
        m.set_ticket_counts(TicketCounts(overdue={("Water Dept", "street", "red"): 1}))


def test_recovery_resets_take_known_reasons_only() -> None:
    m = golden_state()
    m.record_recovery_reset("air.pm25", "detectors")
    fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
    (sample,) = fams["citysigns_recovery_resets"].samples
    assert sample.labels == {"indicator": "air.pm25", "reason": "detectors"}
    assert sample.value == 2.0
    with pytest.raises(ValueError, match="not one of removed, geometry, areas, detectors"):
        m.record_recovery_reset("air.pm25", "because")


def test_ticket_families_appear_only_where_they_are_set() -> None:
    """Only `citysigns serve` reads the store's ticket counts, only the dispatch path reports
    the store's health: the flow's exporter shows neither group, the dispatcher's the health
    alone, not an empty HELP/TYPE of counts it never has (and a second, empty series of
    `citysigns_tickets` beside the API's)."""

    def families(m: CitySignsMetrics) -> set[str]:
        return {f.name for f in text_string_to_metric_families(exposition(m)) if f.samples or
                "citysigns_ticket" in f.name}  # fmt: skip

    counts = {"citysigns_tickets", "citysigns_tickets_overdue", "citysigns_tickets_supervised",
              "citysigns_tickets_closed"}  # fmt: skip
    health = {"citysigns_ticket_store_up", "citysigns_ticket_outbox_pending",
              "citysigns_ticket_store_errors"}  # fmt: skip
    flow = CitySignsMetrics(INDICATORS, areas=AREAS, clock=lambda: NOW, version="0.1.0")
    assert not families(flow) & (counts | health)
    dispatcher = CitySignsMetrics(INDICATORS, clock=lambda: NOW, tickets_only=True)
    assert not families(dispatcher) & (counts | health)
    dispatcher.set_ticket_store(True, 0, 0)
    assert families(dispatcher) & (counts | health) == health
    dispatcher.set_ticket_counts(TicketCounts(open={("dispatched", "water", "street", "blue"): 1}))
    assert families(dispatcher) & (counts | health) == counts | health


def test_ticket_counts_from_store_rows() -> None:
    now = 1_000_000
    base = {"department": "drainage", "tier": "street", "level": "orange", "supervised": False,
            "accepted_at": None, "feedback_at": None, "closed_at": None,
            "accept_due": now + 60, "handle_due": now + 3600}  # fmt: skip
    rows = [
        {**base, "status": "dispatched"},
        {**base, "status": "dispatched", "accept_due": now - 1},  # late to accept
        {**base, "status": "accepted", "accepted_at": now - 10, "handle_due": now - 5,
         "supervised": True},  # late to handle, supervised
        {**base, "status": "closed", "feedback_at": now - 100, "handle_due": now},
        {**base, "status": "closed", "feedback_at": now + 100, "handle_due": now},
    ]  # fmt: skip
    c = TicketCounts.from_rows(rows, now)
    assert c.open == {("dispatched", "drainage", "street", "orange"): 2,
                      ("accepted", "drainage", "street", "orange"): 1}  # fmt: skip
    assert c.overdue == {("drainage", "street", "orange"): 2}
    assert c.supervised == {("drainage", "street", "orange"): 1}
    assert c.closed == {("drainage", "met"): 1, ("drainage", "missed"): 1}


def test_closed_tickets_are_judged_on_the_handling_deadline_first_given() -> None:
    """A supervision restarted `handle_due` after the original one was missed: the feedback
    that came before the restarted deadline but after the original one was late."""
    now = 1_000_000
    row = {"department": "drainage", "tier": "district", "level": "orange", "supervised": True,
           "status": "closed", "accepted_at": now - 9000, "feedback_at": now,
           "closed_at": now + 7200, "accept_due": now - 9000, "handle_due": now + 3600,
           "handle_due_original": now - 3600}  # fmt: skip
    assert TicketCounts.from_rows([row], now).closed == {("drainage", "missed"): 1}
    on_time = {**row, "handle_due_original": now}
    assert TicketCounts.from_rows([on_time], now).closed == {("drainage", "met"): 1}


def test_serve_binds_loopback_with_its_own_registry() -> None:
    m = golden_state()
    server = serve(m, port=0)
    try:
        assert server.server.server_address[0] == "127.0.0.1"
        body = urllib.request.urlopen(server.url, timeout=5).read().decode("utf-8")
    finally:
        server.stop()
    assert body == exposition(m)
    # the process-wide default registry knows nothing of citysigns
    assert prometheus_client.REGISTRY.get_sample_value("citysigns_metric_series") is None
    assert "citysigns_indicator_value" not in generate_latest(prometheus_client.REGISTRY).decode()


def test_the_watermark_gauge_never_goes_back() -> None:
    """Each indicator reports the watermark as its windows close, in no fixed order: one that
    reported late set the gauge back to an older watermark, and `time() -` it jumped."""
    m = CitySignsMetrics(INDICATORS, MetricsConfig(), clock=lambda: NOW)

    def watermark() -> float:
        fams = {f.name: f for f in text_string_to_metric_families(exposition(m))}
        return fams["citysigns_watermark_timestamp_seconds"].samples[0].value

    m.set_watermark(NOW - 600)
    m.set_watermark(NOW - 300)
    m.set_watermark(NOW - 900)  # an indicator reporting late
    assert watermark() == NOW - 300
