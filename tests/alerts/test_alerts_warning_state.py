"""The warning state machine: for durations, levels, hysteresis, gaps, and that a whole batch
over many series gives exactly what one-window-at-a-time processing gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.events import WarningEvent
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
from indicators.language.detection import Detection
from indicators.language.model import Indicator, Value
from tests.alerts.alerts_helpers import T0, concat, make_indicator, surge_indicator, windows


def run(machine: WarningStateMachine, values: list[float], **kw: object) -> list[WarningEvent]:
    out: list[WarningEvent] = []
    for b in windows(values, **kw):  # type: ignore[arg-type]
        out.extend(machine.process(b))
    return out


def kinds(events: list[WarningEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.level) for e in events]


def test_blue_needs_its_for_duration_and_is_pending_meanwhile() -> None:
    m = WarningStateMachine([make_indicator()])
    b1, b2 = windows([0.19, 0.19])
    assert m.process(b1) == []
    assert m.state_of("water.pressure", "310106001").state == "pending"
    events = m.process(b2)  # two 15-minute windows = the 30 minutes blue asks for
    assert kinds(events) == [("firing", "blue")]
    assert events[0].since == T0
    assert m.state_of("water.pressure", "310106001").level == "blue"


def test_a_run_shorter_than_for_goes_back_to_normal() -> None:
    m = WarningStateMachine([make_indicator()])
    assert run(m, [0.19, 0.3, 0.19, 0.3]) == []
    assert m.state_of("water.pressure", "310106001").state == "normal"


def test_escalates_straight_to_the_highest_level_that_held() -> None:
    m = WarningStateMachine([make_indicator()])
    # 0.09 is below red (0s), orange (15m) and yellow (15m) at once: red wins
    assert kinds(run(m, [0.3, 0.09])) == [("firing", "red")]


def test_escalation_then_calm_down_then_hysteresis_then_resolve() -> None:
    m = WarningStateMachine([make_indicator()])
    events = run(m, [0.19, 0.19, 0.16, 0.19, 0.19, 0.22, 0.22, 0.26, 0.26, 0.3])
    assert kinds(events) == [
        ("firing", "blue"),
        ("escalated", "yellow"),
        # yellow's condition false for clear.for = 30m -> down to blue (still below 0.2)
        ("deescalated", "blue"),
        # 0.22: above blue but not above clear 0.25: stays firing (hysteresis)
        # 0.26 twice = 30 minutes above 0.25 -> resolved
        ("resolved", "blue"),
    ]
    assert events[-1].at == T0 + 9 * 900
    assert m.state_of("water.pressure", "310106001").state == "normal"
    # one warning id for the whole episode, from the first firing window
    assert len({e.warning_id for e in events}) == 1


def test_the_resolution_says_the_worst_window_while_firing() -> None:
    """The value a warning resolves on is normal by then ("0.30 MPa ... cleared"): the event
    also gives the worst window of the episode, here the lowest pressure, for the ticket."""
    m = WarningStateMachine([make_indicator()])
    events = run(m, [0.19, 0.19, 0.16, 0.19, 0.19, 0.22, 0.22, 0.26, 0.26, 0.3])
    firing, resolved = events[0], events[-1]
    assert firing.peak is None and resolved.kind == "resolved"
    assert resolved.peak == pytest.approx(0.16) and resolved.peak_at == T0 + 3 * 900
    assert "lowest 0.16 MPa at " in resolved.text_en and "最低 0.16 MPa (" in resolved.text_zh
    assert resolved.explanation()["peak"] == pytest.approx(0.16)
    # the next episode starts its own worst window: 0.18 is not worse than 0.16, yet it is
    # this episode's worst, counted from the window that fired it (the second)
    again = run(m, [0.18, 0.18, 0.3, 0.3, 0.3], start=T0 + 10 * 900)
    assert kinds(again) == [("firing", "blue"), ("resolved", "blue")]
    assert again[-1].peak == pytest.approx(0.18) and again[-1].peak_at == T0 + 12 * 900


def test_the_worst_window_survives_a_snapshot_and_an_older_snapshot_restores() -> None:
    m = WarningStateMachine([make_indicator()])
    run(m, [0.09, 0.3], area="a1")  # red at 0.09, then calm: not yet resolved
    snap = m.snapshot()
    m2 = WarningStateMachine([make_indicator()])
    m2.restore(snap)
    (ev,) = run(m2, [0.3], area="a1", start=T0 + 2 * 900)
    assert ev.kind == "resolved" and ev.peak == pytest.approx(0.09) and ev.peak_at == T0 + 900
    # a snapshot taken before the worst window was kept: the warning resolves without one
    old = {k: v for k, v in snap.items() if not k.startswith("peak")}
    m3 = WarningStateMachine([make_indicator()])
    m3.restore(old)
    (ev,) = run(m3, [0.3], area="a1", start=T0 + 2 * 900)
    assert ev.kind == "resolved" and ev.peak is None and "peak" not in ev.text_en


def test_a_resolution_without_a_value_says_why_not_the_detectors_band() -> None:
    """Windows too thin to judge (`min_count`) are calm and resolve the warning with no value:
    its sentence gave the detectors' band ("expected 0.28-0.35"), which is not what the
    warning judged; it says why there is no value (the count, when the batch gives it)."""
    value = {"field": "pressure", "aggregate": "mean", "window": {"length": "15m"},
             "levels": ["street", "district"], "min_count": 3}  # fmt: skip
    m = WarningStateMachine([make_indicator(value=value)])
    events = run(m, [0.09, float("nan"), float("nan"), float("nan")])
    assert kinds(events) == [("firing", "red"), ("resolved", "red")]
    assert "too few readings to judge since 10:15," in events[-1].text_en
    assert "0.28" not in events[-1].text_en and "0.25" not in events[-1].text_en
    assert "读数过少无法判断 自 10:15," in events[-1].text_zh
    assert "expected 0.28-0.35" in events[0].text_en  # (a value outside the band keeps it)


def test_a_resolution_on_windows_too_thin_to_judge_says_so() -> None:
    """A warning that clears on windows with too few records to judge (counted as calm, see
    docs/analysts.md) has no value to show: its sentence says why, with the count against
    `min_count` and since when, in both languages ("场所核验异常率, 预期 < 2%, 蓝色预警已解除"
    gave no reason at all)."""
    value = {"field": "abnormal", "aggregate": "mean", "window": {"length": "1h"},
             "levels": ["street", "district"], "min_count": 20}  # fmt: skip
    ind = make_indicator(
        id="checkpoint.abnormal_rate", unit="1", source={"kind": "checkpoint"}, value=value,
        title={"zh": "场所核验异常率", "en": "Checkpoint abnormal-verification rate"},
        detection={"detectors": [{"type": "threshold", "upper": 0.05}],
                   "warnings": {"on": "value", "levels": {"blue": {"threshold": 0.02, "for": "1h"}},
                                "clear": {"threshold": 0.01, "for": "2h"}}},
    )  # fmt: skip
    m = WarningStateMachine([ind])
    nan = float("nan")
    events = run(m, [0.04, nan, nan], indicator_id=ind.id, step=3600, upper=0.05,
                 counts=[25, 17, 15])  # fmt: skip
    assert kinds(events) == [("firing", "blue"), ("resolved", "blue")]
    ev = events[-1]
    assert ev.value is None
    assert "too few checks to judge (15 < 20) since 11:00" in ev.text_en, ev.text_en
    assert "核验过少无法判断 (15 < 20) 自 11:00" in ev.text_zh, ev.text_zh
    # and it says the window was not judged, which a ticket's verification must not take
    # for normal data
    assert ev.judged is False and ev.explanation()["judged"] is False
    assert events[0].judged is True


def test_a_resolution_says_the_condition_it_cleared_by_not_the_detectors_band() -> None:
    """A warning clears once its `clear` condition has held for its `for`: the resolution says
    that condition.  It gave the detectors' band, which the value that cleared the warning
    may lie outside of ("50.2%, expected 51.7%-67.1%, yellow warning cleared")."""
    m = WarningStateMachine([make_indicator()])
    events = run(m, [0.09, 0.3, 0.3], lower=0.31, upper=0.35)
    assert kinds(events) == [("firing", "red"), ("resolved", "red")]
    en, zh = events[-1].text_en, events[-1].text_zh
    assert "water pressure 0.3 MPa, above 0.25 for 30 min, red warning cleared" in en, en
    assert "供水压力 0.3 MPa, 高于 0.25 持续30分钟, 红色预警已解除" in zh, zh
    assert "0.31" not in en


def test_a_sentence_names_windows_by_their_start_and_dates_its_times() -> None:
    """Daily windows: the warning is "since 03-01" (the first window's start) and its worst
    window "on 03-01", where the peak was named by its window's end ("at 03-02 00:00", a day
    after it happened); "cleared at 00:00" beside a dated peak said no day."""
    value = {"field": "pressure", "aggregate": "mean", "window": {"length": "1d"},
             "levels": ["street", "district"]}  # fmt: skip
    m = WarningStateMachine([make_indicator(value=value)])
    midnight = T0 - 10 * 3600  # 2026-03-01 00:00 +08:00
    fired, cleared = run(m, [0.09, 0.3], step=86400, start=midnight)
    assert fired.kind == "firing" and "red since 03-01" in fired.text_en, fired.text_en
    assert "红色预警 自 03-01" in fired.text_zh, fired.text_zh
    assert cleared.kind == "resolved" and cleared.peak_at == midnight + 86400
    assert cleared.text_en.endswith("red warning cleared at 03-03 00:00, lowest 0.09 MPa on 03-01")
    assert cleared.text_zh.endswith("红色预警已解除 (03-03 00:00), 最低 0.09 MPa (03-01)")


def test_a_peak_is_named_by_its_windows_start() -> None:
    """15-minute windows: the warning since 10:00 peaked in the window 10:00-10:15, named as
    the sentence's other times are, by its start."""
    m = WarningStateMachine([make_indicator()])
    fired, cleared = run(m, [0.09, 0.3, 0.3])
    assert "red since 10:00" in fired.text_en
    assert cleared.text_en.endswith("cleared at 10:45, lowest 0.09 MPa at 10:00"), cleared.text_en


def test_a_sliding_window_is_named_by_its_end_in_since_and_peak_alike() -> None:
    """2-hour windows every 15 minutes: the warning fired on the window 08:15-10:15 and said
    "since 10:00" (its end minus the step) while its peak, the same window, read "at 08:15"
    (its start), hours before the warning started.  A sliding window is named by its end,
    the moment its moving value was read, and the peak with its length."""
    value = {"field": "pressure", "aggregate": "mean",
             "window": {"type": "sliding", "length": "2h", "step": "15m"},
             "levels": ["street", "district"]}  # fmt: skip
    m = WarningStateMachine([make_indicator(value=value)])
    fired, cleared = run(m, [0.09, 0.3, 0.3])
    assert fired.kind == "firing" and "red since 10:15" in fired.text_en, fired.text_en
    assert "红色预警 自 10:15" in fired.text_zh, fired.text_zh
    assert cleared.kind == "resolved" and cleared.peak_at == T0 + 900
    assert cleared.text_en.endswith(
        "red warning cleared at 10:45, lowest 0.09 MPa in the 2 h to 10:15"
    ), cleared.text_en
    assert cleared.text_zh.endswith("红色预警已解除 (10:45), 最低 0.09 MPa (截至10:15的2小时)")
    # the event's `since` stays the run's measure (first window's end minus the step)
    assert fired.since == T0


def test_a_value_is_told_apart_from_the_threshold_of_the_level_it_left() -> None:
    """Yellow holds at <= 0.17; the warning steps down to blue on 0.1705, which printed
    "0.17 MPa ... down to blue" read as if it still held yellow: the value takes the digits
    that tell it apart from the thresholds of the level it left and the one it is at."""
    m = WarningStateMachine([make_indicator()])
    events = run(m, [0.165, 0.1705, 0.1705])
    assert kinds(events) == [("firing", "yellow"), ("deescalated", "blue")]
    fired, down = events
    assert "water pressure 0.165 MPa" in fired.text_en, fired.text_en
    assert "water pressure 0.171 MPa, expected 0.28-0.35, down to blue" in down.text_en, (
        down.text_en
    )
    assert "供水压力 0.171 MPa" in down.text_zh, down.text_zh
    # a value printed apart already keeps its usual digits
    (red,) = run(WarningStateMachine([make_indicator()]), [0.09])
    assert "water pressure 0.09 MPa" in red.text_en, red.text_en


def test_a_missing_window_breaks_the_run() -> None:
    m = WarningStateMachine([make_indicator()])
    first = windows([0.19])[0]
    later = windows([0.19], start=T0 + 2 * 900)[0]  # one window missing in between
    assert m.process(first) == [] and m.process(later) == []
    assert m.state_of("water.pressure", "310106001").state == "pending"


def test_a_missing_window_does_not_break_the_calm() -> None:
    """A sensor reporting every 20 minutes into short windows leaves a gap between all its
    windows: its warning must still resolve once clear windows span clear.for (30 minutes),
    where the gaps used to restart the clock at every window and it never ended."""
    m = WarningStateMachine([make_indicator()])
    sparse = [windows([v], start=T0 + 2 * k * 900)[0] for k, v in enumerate([0.3, 0.09, 0.3, 0.3])]
    events = [e for b in sparse for e in m.process(b)]
    assert kinds(events) == [("firing", "red"), ("resolved", "red")]
    assert events[-1].at == T0 + 7 * 900  # clear since T0 + 4 * 900 (the window's start)
    assert m.state_of("water.pressure", "310106001").state == "normal"


def test_nan_values_neither_fire_nor_clear() -> None:
    m = WarningStateMachine([make_indicator()])
    events = run(m, [0.09, float("nan"), float("nan"), float("nan")])
    assert kinds(events) == [("firing", "red")]
    assert m.state_of("water.pressure", "310106001").state == "firing"


def test_score_based_rules_read_the_score_column() -> None:
    ind = make_indicator(detection={
        "detectors": [{"type": "ewma"}],
        "warnings": {"on": "score", "levels": {"orange": {"threshold": 0.99, "for": "0s"}}},
    })  # fmt: skip
    m = WarningStateMachine([ind])
    b = ScoredBatch.from_columns(indicator_id=["water.pressure"] * 2, area_code=["a1", "a2"],
                                 window_start=[T0, T0], window_end=[T0 + 900] * 2,
                                 value=[0.0, 0.0], score=[0.995, 0.5])  # fmt: skip
    events = m.process(b)
    assert [(e.area_code, e.level) for e in events] == [("a1", "orange")]
    # without `clear:` the warning resolves as soon as the lowest level no longer holds
    b2 = ScoredBatch.from_columns(indicator_id=["water.pressure"], area_code=["a1"],
                                  window_start=[T0 + 900], window_end=[T0 + 1800],
                                  value=[0.0], score=[0.98])  # fmt: skip
    assert kinds(m.process(b2)) == [("resolved", "orange")]


def test_stale_and_unknown_rows_are_counted_not_applied() -> None:
    m = WarningStateMachine([make_indicator()])
    (b,) = windows([0.09])
    assert len(m.process(b)) == 1
    assert m.process(b) == []  # the same window again (a replay or a late re-emit)
    assert m.stale_rows == 1
    other = ScoredBatch.from_columns(
        indicator_id=["no.such"],
        area_code=["x"],
        window_start=[T0],
        window_end=[T0 + 60],
        value=[1.0],
    )
    assert m.process(other) == []
    assert m.unknown_rows == 1


def test_several_windows_of_one_series_in_one_batch_are_taken_in_time_order() -> None:
    m1 = WarningStateMachine([make_indicator()])
    one_by_one = run(m1, [0.19, 0.19, 0.16, 0.3])
    m2 = WarningStateMachine([make_indicator()])
    bs = windows([0.19, 0.19, 0.16, 0.3])
    shuffled = concat([bs[2], bs[0], bs[3], bs[1]])
    assert m2.process(shuffled) == one_by_one


def test_event_carries_its_explanation() -> None:
    m = WarningStateMachine([make_indicator()])
    (ev,) = run(m, [0.09])
    assert ev.value == pytest.approx(0.09)
    assert (ev.lower, ev.upper) == (0.28, 0.35)
    assert ev.detectors == ("threshold",)
    assert ev.thresholds["red"] == {"threshold": 0.1, "for": 0.0}
    assert ev.thresholds["clear"]["threshold"] == 0.25
    assert ev.window_end - ev.window_start == 900
    assert "0.09 MPa" in ev.text_en and "红色预警" in ev.text_zh


def test_counts_and_snapshot_restore() -> None:
    m = WarningStateMachine([make_indicator()])
    run(m, [0.09], area="a1")
    run(m, [0.19], area="a2")
    assert m.counts()["firing_red"] == 1 and m.counts()["pending"] == 1
    snap = m.snapshot()
    m2 = WarningStateMachine([make_indicator()])
    m2.restore(snap)
    assert m2.state_of("water.pressure", "a1") == m.state_of("water.pressure", "a1")
    # the restored machine continues where the old one was: a2 fires blue at the next window
    nxt = windows([0.19], area="a2", start=T0 + 900)
    assert kinds(m2.process(nxt[0])) == [("firing", "blue")]


def test_withdrawn_areas_end_their_firing_warnings_and_are_forgotten() -> None:
    """A sensor removed from the registry: its firing warning ends with a resolved event that
    says why, its pending state goes without an event, and the other areas carry on."""
    m = WarningStateMachine([make_indicator()])
    (fired,) = run(m, [0.3, 0.09], area="a1")  # red from the second window
    run(m, [0.19], area="a2")  # pending
    run(m, [0.09], area="a3")  # red, stays
    events = m.withdraw({"sensor": ["a1", "a2", "gone-already"]}, "已移除", "removed")
    (ev,) = events
    assert (ev.kind, ev.level, ev.previous_level) == ("resolved", "red", "red")
    assert ev.warning_id == fired.warning_id  # the same warning, so its ticket hears of it
    assert (ev.area_code, ev.area_level) == ("a1", "sensor")
    assert ev.at == ev.window_end == T0 + 2 * 900  # its last window
    assert ev.value is None and ev.score is None
    assert "withdrawn" in ev.text_en and "removed" in ev.text_en and "撤销" in ev.text_zh
    # ... and what happened, as a resolution says it: the worst window while it fired
    assert ev.peak == pytest.approx(0.09) and ev.peak_at == T0 + 2 * 900
    assert "removed; lowest 0.09 MPa at " in ev.text_en and "; 最低 0.09 MPa (" in ev.text_zh
    assert m.state_of("water.pressure", "a1").state == "normal"
    assert m.state_of("water.pressure", "a2").state == "normal"
    assert m.state_of("water.pressure", "a3").level == "red"
    assert len(m) == 1
    # the remaining series keep their place in the index: a3 resolves as it would have
    later = windows([0.3, 0.3], area="a3", start=T0 + 900)
    assert kinds([e for b in later for e in m.process(b)]) == [("resolved", "red")]
    # a removed area that comes back starts as new
    assert run(m, [0.19], area="a1", start=T0 + 3 * 900) == []
    assert m.state_of("water.pressure", "a1").state == "pending"
    assert m.withdraw({"sensor": ["nowhere"]}, "", "") == []


series_values = st.lists(
    st.lists(st.sampled_from([0.05, 0.12, 0.15, 0.18, 0.21, 0.24, 0.3, float("nan")]),
             min_size=1, max_size=14),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(series_values)
def test_vectorised_batches_equal_one_window_at_a_time(all_values: list[list[float]]) -> None:
    """The state machine over a batch of many series (several windows each) must agree event
    for event with feeding every window alone."""
    ind = make_indicator()
    slow = WarningStateMachine([ind])
    expected: list[WarningEvent] = []
    batches = []
    for s, values in enumerate(all_values):
        bs = windows(values, area=f"31010600{s}")
        batches.extend(bs)
        for b in bs:
            expected.extend(slow.process(b))
    fast = WarningStateMachine([ind])
    order = np.random.default_rng(len(batches)).permutation(len(batches))
    got = fast.process(concat([batches[i] for i in order]))
    key = lambda e: (e.at, e.area_code, e.kind)  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)


def per_level_surge() -> Indicator:
    """Water-outage orders per street and per district, the district judged by its own
    numbers: blue at 5 in a street, 15 in a district; clear below 2 and 6."""
    return surge_indicator().model_copy(
        update={
            "value": Value.model_validate(
                {"aggregate": "count", "window": {"length": "1h"}, "levels": ["street", "district"]}
            ),
            "detection": Detection.model_validate({
                "detectors": [{"type": "threshold", "upper": {"street": 5, "district": 15}}],
                "warnings": {"on": "value",
                             "levels": {"blue": {"threshold": {"street": 5, "district": 15}},
                                        "yellow": {"threshold": 40}},
                             "clear": {"threshold": {"street": 2, "district": 6}, "for": "2h"}},
            }),
        }
    )  # fmt: skip


def surge_run(
    m: WarningStateMachine, values: list[float], area: str, level: str, after: int = 0
) -> list[WarningEvent]:
    """Hourly windows of `values` orders in `area`, the first ending `after` hours + 1 past
    T0, with the band of the level's threshold detector."""
    out = []
    upper = {"street": 5.0, "district": 15.0}[level]
    for b in windows(values, area=area, indicator_id="hotline.water_outage", step=3600,
                     start=T0 + 3600 * after, level=level, lower=float("nan"),
                     upper=upper):  # fmt: skip
        out.extend(m.process(b))
    return out


def test_thresholds_per_area_level_judge_each_series_by_its_own_level() -> None:
    """Before, a district was judged by the street's numbers: 5 scattered no-water calls in a
    district of dozens of streets warned blue (the demo's Pudong).  Now a district warns at
    its own 15, says so, and clears below its own 6; the street keeps 5 and 2; a number
    written once (yellow's 40) holds at both."""
    m = WarningStateMachine([per_level_surge()])
    assert surge_run(m, [8, 14], "310115", "district") == []
    street = surge_run(m, [5], "310115001", "street")
    assert kinds(street) == [("firing", "blue")]
    assert "expected < 5," in street[0].text_en
    (district,) = surge_run(m, [15], "310115", "district", after=2)
    assert (district.kind, district.level, district.area_level) == ("firing", "blue", "district")
    assert "15 orders, expected < 15, blue" in district.text_en
    assert district.thresholds["blue"]["threshold"] == 15
    assert district.thresholds["yellow"]["threshold"] == 40
    assert district.thresholds["clear"]["threshold"] == 6
    assert street[0].thresholds["blue"]["threshold"] == 5
    assert street[0].thresholds["clear"]["threshold"] == 2
    # 5 orders for two hours: below a district's clear (6), not below a street's (2)
    assert kinds(surge_run(m, [5, 5], "310115", "district", after=3)) == [("resolved", "blue")]
    assert surge_run(m, [3, 3, 3], "310115001", "street", after=1) == []
    assert m.state_of("hotline.water_outage", "310115001").level == "blue"
    assert kinds(surge_run(m, [40], "310115002", "street")) == [("firing", "yellow")]


def test_thresholds_per_area_level_survive_a_snapshot_of_the_rules() -> None:
    """A removed indicator's warnings are worded from the rules the snapshot recorded: the
    district's numbers are among them (and a snapshot of the earlier version, without
    them, still loads)."""
    m = WarningStateMachine([per_level_surge()])
    surge_run(m, [15], "310115", "district")
    snap = m.snapshot()
    again = WarningStateMachine.from_snapshot(snap)
    assert again is not None
    assert again.rules[0].thresholds_at("district")[0] == 15
    assert again.rules[0].thresholds_at("street")[0] == 5
    old = dict(snap["rules"][0])
    del old["area_thresholds"]
    legacy = WarningStateMachine.from_snapshot({**snap, "rules": [old]})
    assert legacy is not None and legacy.rules[0].thresholds_at("district")[0] == 5


def test_events_round_trip_and_a_reader_skips_fields_it_does_not_know() -> None:
    """An event written by a later version (a field this one lacks) still reads, so a
    dispatcher rolled back can drain what the newer flow wrote; one written before the worst
    window was kept reads with none."""
    m = WarningStateMachine([make_indicator()])
    *_, ev = run(m, [0.09, 0.3, 0.3, 0.3])
    assert ev.kind == "resolved" and ev.peak is not None
    d = json.loads(json.dumps(ev.to_dict()))
    assert WarningEvent.from_dict(d) == ev
    assert WarningEvent.from_dict({**d, "added_by_a_later_version": 1}) == ev
    older = {k: v for k, v in d.items() if k not in ("peak", "peak_at")}
    assert WarningEvent.from_dict(older).peak is None
    with pytest.raises(TypeError):  # a required field missing is still no event
        WarningEvent.from_dict({k: v for k, v in d.items() if k != "level"})


def test_a_warning_on_the_score_peaking_on_a_window_without_a_value_names_no_peak() -> None:
    """A score's warning may fire on a window whose value is missing (a silent sensor that a
    detector scores): its resolution then names no peak rather than a time without a value."""
    ind = make_indicator(detection={
        "detectors": [{"type": "ewma"}],
        "warnings": {"on": "score", "levels": {"orange": {"threshold": 0.99, "for": "0s"}}},
    })  # fmt: skip
    m = WarningStateMachine([ind])
    fired = m.process(ScoredBatch.from_columns(
        indicator_id=["water.pressure"], area_code=["a1"], window_start=[T0],
        window_end=[T0 + 900], value=[float("nan")], score=[0.995]))  # fmt: skip
    (ev,) = m.process(ScoredBatch.from_columns(
        indicator_id=["water.pressure"], area_code=["a1"], window_start=[T0 + 900],
        window_end=[T0 + 1800], value=[0.3], score=[0.5]))  # fmt: skip
    assert kinds(fired) == [("firing", "orange")] and ev.kind == "resolved"
    assert ev.peak is None and ev.peak_at is None and "peak" not in ev.text_en
