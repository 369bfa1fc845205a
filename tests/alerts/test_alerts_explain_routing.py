"""Explanations, area codes and names, routing rules and working-time deadlines."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from alerts.areas import (
    CityAreaNames,
    DictAreaNames,
    ancestor_at,
    area_label,
    common_area,
    covers,
    effective_tier,
    in_scope,
    tier_of_code,
)
from alerts.clock import ManualClock
from alerts.explain import format_number, local_time, sentence, worst_clause
from alerts.hotline import HotlineOrder
from alerts.routing import Router, RoutingConfig, RoutingError, load_routing
from alerts.scored import ScoredBatch, clip_band
from alerts.service import TicketService
from alerts.warning_state import WarningStateMachine
from alerts.workcal import WorkingCalendar
from indicators.language.model import Dispatch, Indicator
from tests.alerts.alerts_helpers import T0, make_indicator, windows

SH = ZoneInfo("Asia/Shanghai")
NAMES = DictAreaNames({"310106": ("静安区", "Jing'an"),
                       "310106003": ("南京西路街道", "Nanjing West Road")})  # fmt: skip


def ts(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=SH).timestamp())


def test_the_sentence_of_the_issue() -> None:
    zh, en = sentence(
        area_zh="静安区 南京西路街道", area_en="Jing'an, Nanjing West Road", title_zh="供水压力",
        title_en="Water pressure", unit="MPa", value=0.12, lower=0.28, upper=0.35,
        kind="firing", level="red", since=ts(2026, 3, 1, 14, 5), at=ts(2026, 3, 1, 14, 30),
    )  # fmt: skip
    assert zh == "静安区 南京西路街道: 供水压力 0.12 MPa, 预期 0.28-0.35, 红色预警 自 14:05"
    assert en == ("Jing'an, Nanjing West Road: water pressure 0.12 MPa, expected 0.28-0.35, "
                  "red since 14:05")  # fmt: skip


def test_state_machine_events_name_the_area() -> None:
    m = WarningStateMachine([make_indicator()], NAMES)
    (ev,) = m.process(windows([0.09], area="310106003")[0])
    assert ev.text_zh.startswith("静安区 南京西路街道: 供水压力 0.09 MPa, 预期 0.28-0.35, 红色预警")
    assert ev.text_en.startswith("Jing'an, Nanjing West Road: water pressure 0.09 MPa")


@pytest.mark.parametrize(
    ("v", "text"),
    [(0.12, "0.12"), (41.0, "41"), (251.3, "251"), (12.25, "12.2"), (0.004, "0.004"), (None, "—")],
)
def test_numbers_read_naturally(v: float | None, text: str) -> None:
    assert format_number(v) == text


def test_one_sided_bands_and_other_days() -> None:
    zh, en = sentence(area_zh="a", area_en="a", title_zh="t", title_en="PM2.5", unit="ug/m3",
                      value=80, lower=None, upper=75, kind="escalated", level="blue",
                      since=ts(2026, 3, 1, 23, 0), at=ts(2026, 3, 2, 1, 0))  # fmt: skip
    assert "expected < 75" in en and "预期 < 75" in zh
    assert "PM2.5 80 ug/m3" in en  # acronyms keep their case
    assert "blue since 03-01 23:00" in en


def test_bands_that_read_badly_are_written_plainly() -> None:
    """A lower edge below zero read as a subtraction ("expected -0.12-0.24"), a band of one
    value said nothing ("expected 3-3"), and a warning without a value showed "—"."""

    def en(value: float | None, lower: float, upper: float) -> str:
        return sentence(area_zh="a", area_en="A", title_zh="t", title_en="calls", unit="",
                        value=value, lower=lower, upper=upper, kind="firing", level="blue",
                        since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 9, 0))[1]  # fmt: skip

    assert en(0.27, -0.12, 0.24) == "A: calls 0.27, expected -0.12 to 0.24, blue since 09:00"
    assert en(5, 3, 3) == "A: calls 5, blue since 09:00"
    assert en(None, 3, 8) == "A: calls, expected 3-8, blue since 09:00"


def hotline_sentence(unit: str, value: float) -> tuple[str, str]:
    """A blue warning's sentences for a Jing'an count of `value` in `unit`."""
    return sentence(area_zh="静安区", area_en="Jing'an", title_zh="12345工单量",
                    title_en="Hotline orders", unit=unit, value=value, lower=None, upper=None,
                    kind="firing", level="blue", since=ts(2026, 3, 1, 9, 0),
                    at=ts(2026, 3, 1, 9, 0))  # fmt: skip


@pytest.mark.parametrize(
    ("unit", "zh_value", "en_value"),
    [
        ("orders", "41件", "41 orders"),
        ("orders/min", "41件/分钟", "41 orders/min"),
        ("veh", "41辆", "41 veh"),
        ("ug/m3", "41 μg/m³", "41 ug/m3"),
        ("MPa", "41 MPa", "41 MPa"),
    ],
)
def test_chinese_sentences_read_units_in_chinese(unit: str, zh_value: str, en_value: str) -> None:
    """A count reads "41件" in Chinese, not "41 orders"; units both languages share stay."""
    zh, en = hotline_sentence(unit, 41)
    assert zh.startswith(f"静安区: 12345工单量 {zh_value}, ")
    assert en.startswith(f"Jing'an: hotline orders {en_value}, ")


@pytest.mark.parametrize(
    ("unit", "value", "en_value"),
    [("orders", 1, "1 order"), ("categories", 1.0, "1 category"), ("orders", 1.5, "1.5 orders"),
     ("orders", 0, "0 orders"), ("orders/min", 1, "1 orders/min"), ("MPa", 1, "1 MPa")],
)  # fmt: skip
def test_one_of_a_count_reads_in_the_singular(unit: str, value: float, en_value: str) -> None:
    assert hotline_sentence(unit, value)[1].startswith(f"Jing'an: hotline orders {en_value}, ")


def test_a_value_at_a_threshold_limit_reads_as_the_reason_for_its_warning() -> None:
    """Levels are raised at their threshold (>=), and a threshold detector's limit is usually
    that threshold: "10 orders, expected ≤ 10, blue" contradicted itself."""
    zh, en = sentence(area_zh="徐汇区", area_en="Xuhui", title_zh="违法建设举报",
                      title_en="Illegal construction reports", unit="orders", value=10,
                      lower=None, upper=10, kind="firing", level="blue",
                      since=ts(2026, 3, 2, 0, 0), at=ts(2026, 3, 2, 0, 0))  # fmt: skip
    assert en == "Xuhui: illegal construction reports 10 orders, expected < 10, blue since 00:00"
    assert zh == "徐汇区: 违法建设举报 10件, 预期 < 10, 蓝色预警 自 00:00"


def test_shares_read_as_percentages() -> None:
    zh, en = sentence(area_zh="松江区", area_en="Songjiang", title_zh="核验异常率",
                      title_en="Checkpoint abnormal-verification rate", unit="1", value=0.125,
                      lower=None, upper=0.05, kind="firing", level="orange",
                      since=ts(2026, 3, 1, 18, 0), at=ts(2026, 3, 1, 18, 30))  # fmt: skip
    assert en == ("Songjiang: checkpoint abnormal-verification rate 12.5%, expected < 5%, "
                  "orange since 18:00")  # fmt: skip
    assert "核验异常率 12.5%, 预期 < 5%" in zh


def test_area_codes_are_a_hierarchy_of_prefixes() -> None:
    assert ancestor_at("310106003002001", "street") == "310106003"
    assert ancestor_at("310106003", "district") == "310106"
    assert ancestor_at("310106003", "city") == "310000"
    assert ancestor_at("310106", "street") == "310106"  # never finer than the area itself
    assert ancestor_at("AQ-310106-000123", "district") == "310106"
    assert effective_tier("310106", "street") == "district"
    assert tier_of_code("310000") == "city" and tier_of_code("310106003002") == "grid"
    assert covers("310000", "310115001") and covers("310106", "310106003")
    assert not covers("310106003", "310106") and not covers("310106", "310115001")
    assert common_area("310106003001", "310106004") == "310106"
    assert in_scope("*", "310115") and in_scope("310106", "310106003")
    assert not in_scope("310106", "310115001")


def test_area_labels_from_a_dict_and_from_the_city_model() -> None:
    assert area_label("310106003", NAMES) == ("静安区 南京西路街道", "Jing'an, Nanjing West Road")
    assert area_label("310106009", NAMES) == ("静安区 310106009", "Jing'an, 310106009")
    from flows.city.model import load_city

    city = load_city()
    zh, en = area_label("310106", CityAreaNames(city))
    assert (zh, en) == ("静安区", "Jing'an")
    assert CityAreaNames(city).names("310106999") is None


def test_default_routing_file_is_valid_and_routes_every_category() -> None:
    from indicators.language.registry import departments, hotline_categories

    cfg = load_routing()
    assert set(cfg.hotline.services) <= set(hotline_categories())  # no misspelt service
    router = Router(cfg)
    for code in hotline_categories():
        assert router.for_order(code).department in departments()
    assert router.for_order("not_a_service").department == cfg.hotline.fallback_department
    assert cfg.calendar.hours == ("09:00", "17:00")


def test_routing_errors_say_what_was_meant(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text("rules:\n  - {family: water, department: watr}\nmerge: {windw: 1h}\n")
    with pytest.raises(RoutingError) as e:
        load_routing(bad)
    msg = str(e.value)
    assert 'did you mean "water"' in msg
    assert "merge.windw" in msg
    # each at its place, as the catalog's errors are
    assert f"{bad}:2:33: rules.0.department: unknown department 'watr'" in msg
    assert f'{bad}:3:9: merge.windw: unknown key "windw" (did you mean "window"?)' in msg


def test_precedence_rule_then_indicator_then_defaults() -> None:
    cfg = RoutingConfig.model_validate({
        "rules": [{"family": "water", "area": "310115", "department": "water",
                   "tiers": {"blue": "district"}}],
    })  # fmt: skip
    r = Router(cfg)
    d = Dispatch(
        department="water_supply",
        tiers={"blue": "street"},
        deadlines={"blue": {"accept": "2h", "handle": "1d"}},
    )
    jingan = r.for_warning(family="water", indicator_id="x", area_code="310106003",
                           level="blue", dispatch=d)  # fmt: skip
    pudong = r.for_warning(family="water", indicator_id="x", area_code="310115001",
                           level="blue", dispatch=d)  # fmt: skip
    red = r.for_warning(family="water", indicator_id="x", area_code="310106003",
                        level="red", dispatch=d)  # fmt: skip
    assert jingan is not None and pudong is not None and red is not None
    assert (jingan.department, jingan.tier, jingan.accept) == ("water_supply", "street", 7200)
    assert (pudong.department, pudong.tier) == ("water", "district")
    assert (red.tier, red.accept, red.handle) == ("city", 1800, 12 * 3600)  # the defaults
    assert r.for_warning(family="air", indicator_id="x", area_code="310106", level="blue",
                         dispatch=None) is None  # fmt: skip


def test_families_and_hotline_services(router: Router) -> None:
    assert router.family("hotline", "hotline.water_outage", ("water_outage",)) == "water"
    assert router.family("water", "water.pressure") == "water"
    route = router.for_order("gas_smell")
    assert (route.department, route.accept, route.working_hours_only) == ("gas", 900, False)
    assert router.duplicates_for("other") is None
    assert router.duplicates_for("road_damage") is not None


def test_working_calendar_counts_working_days_and_hours() -> None:
    cal = WorkingCalendar(holidays=frozenset({date(2026, 5, 1)}),
                          extra_workdays=frozenset({date(2026, 5, 9)}))  # fmt: skip
    friday_3pm = ts(2026, 3, 6, 15, 0)
    assert cal.add(friday_3pm, 86400) == ts(2026, 3, 9, 15, 0)  # Monday, same time
    assert cal.add(friday_3pm, 4 * 3600) == ts(2026, 3, 9, 11, 0)  # 2h Fri + 2h Mon
    assert cal.add(ts(2026, 3, 7, 10, 0), 3600) == ts(2026, 3, 9, 10, 0)  # from Saturday
    assert cal.add(ts(2026, 3, 9, 8, 0), 8 * 3600) == ts(2026, 3, 9, 17, 0)
    # Thursday 30 April + 1 working day skips the 1 May holiday and the weekend
    assert cal.add(ts(2026, 4, 30, 10, 0), 86400) == ts(2026, 5, 4, 10, 0)
    # Friday 8 May + 1 working day lands on the swapped working Saturday 9 May
    assert cal.add(ts(2026, 5, 8, 10, 0), 86400) == ts(2026, 5, 9, 10, 0)
    with pytest.raises(ValueError, match="close"):
        WorkingCalendar.build("Asia/Shanghai", ["mon"], "18:00", "09:00")


# ------------------------------------------------------- statutory holidays (calendar.statutory)
def routing_with(tmp_path: Path, calendar: str) -> Router:
    path = tmp_path / "routing.yaml"
    path.write_text(f"calendar:\n{calendar}")
    return Router(load_routing(path))


def test_the_shipped_routing_counts_china_s_statutory_holidays() -> None:
    """国庆 + 中秋 2025 (1-8 October) are days off and the 调休 Sunday before them (28
    September) and Saturday after them (11 October) are working days: a 12345 order on 30
    September is due for contact on 9 October, not 1 October."""
    router = Router(load_routing())
    assert router.config.calendar.statutory == "cn"
    cal = router.calendar
    assert not any(cal.is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert cal.is_workday(date(2025, 9, 28)) and cal.is_workday(date(2025, 10, 11))  # 调休
    route = router.for_order("noise_complaint")  # accept 1d, handle 5d in working days
    assert route.working_hours_only
    tuesday = ts(2025, 9, 30, 10, 0)
    assert router.deadline(tuesday, route.accept, True) == ts(2025, 10, 9, 10, 0)
    # 9, 10, 11 (the swapped Saturday), 13, 14 October
    assert router.deadline(tuesday, route.handle, True) == ts(2025, 10, 14, 10, 0)
    # a start inside the holiday counts from its first opening after it
    assert router.deadline(ts(2025, 10, 3, 15, 0), 4 * 3600, True) == ts(2025, 10, 9, 13, 0)
    # Friday 26 September + 1 working day is the swapped Sunday, not Monday 29
    assert router.deadline(ts(2025, 9, 26, 10, 0), 86400, True) == ts(2025, 9, 28, 10, 0)
    # without the statutory calendar the same order was due on the National Day itself
    plain = Router(RoutingConfig.model_validate({"calendar": {"statutory": "none"}}))
    assert plain.deadline(tuesday, route.accept, True) == ts(2025, 10, 1, 10, 0)
    assert plain.deadline(ts(2025, 9, 26, 10, 0), 86400, True) == ts(2025, 9, 29, 10, 0)


def test_a_ticket_opened_before_national_day_is_due_after_it(
    make_service: Callable[..., TicketService],
) -> None:
    at = ts(2025, 9, 30, 10, 0)
    service = make_service(clock=ManualClock(at))
    service.submit_orders([HotlineOrder("o1", "noise_complaint", at, 31.2304, 121.4737)])
    (t,) = service.list_tickets()
    assert (t.accept_due, t.handle_due) == (ts(2025, 10, 9, 10, 0), ts(2025, 10, 14, 10, 0))


def test_listed_dates_win_over_the_statutory_calendar(tmp_path: Path) -> None:
    """A local holiday still counts, also on a 调休 day; a listed working day counts also
    inside a statutory holiday."""
    router = routing_with(
        tmp_path,
        "  statutory: cn\n  holidays: [2025-10-09, 2025-09-28]\n  workdays: [2025-10-08]\n",
    )
    cal = router.calendar
    assert not cal.is_workday(date(2025, 10, 9))  # local holiday on a weekday
    assert not cal.is_workday(date(2025, 9, 28))  # local holiday on the swapped Sunday
    assert cal.is_workday(date(2025, 10, 8))  # worked although 国庆
    assert not cal.is_workday(date(2025, 10, 7))
    assert router.deadline(ts(2025, 9, 26, 10, 0), 86400, True) == ts(2025, 9, 29, 10, 0)
    assert router.deadline(ts(2025, 9, 30, 10, 0), 2 * 86400, True) == ts(2025, 10, 10, 10, 0)


def test_an_unknown_statutory_calendar_is_refused_at_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yaml"
    bad.write_text("version: 1\ncalendar:\n  days: [mon, tue, wed, thu, fri]\n  statutory: CN\n")
    with pytest.raises(RoutingError) as e:
        load_routing(bad)
    msg = str(e.value)
    assert msg.startswith(f"{bad}:4:14: calendar.statutory: unknown statutory calendar 'CN' "
                          '(did you mean "cn"?); write one of: cn: mainland China')  # fmt: skip
    assert "or none" in msg
    bad.write_text("calendar:\n  statutory: [cn]\n")
    with pytest.raises(RoutingError, match=r"routing.yaml:2:14: calendar.statutory: unknown"):
        load_routing(bad)
    for ok in ("  statutory: none\n", "  statutory:\n", "  days: [mon]\n"):
        assert routing_with(tmp_path, ok).calendar.statutory is None


def test_years_beyond_the_statutory_calendar_count_weekdays_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A year the package does not cover (chinesecalendar 1.11 ends with 2026) falls back to
    the weekdays and the listed dates; the first deadline reaching it logs a warning, once;
    the routing check and a service's start say so when the days ahead reach it."""
    router = Router(load_routing())
    s = router.calendar.statutory
    assert s is not None and s.first_year <= 2004 and s.last_year >= 2026
    year = s.last_year + 1
    first_monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    friday = first_monday.replace(day=first_monday.day - 3)
    start = int(datetime(friday.year, friday.month, friday.day, 10, tzinfo=SH).timestamp())
    monday = int(datetime(year, 1, first_monday.day, 10, tzinfo=SH).timestamp())
    with caplog.at_level(logging.WARNING, logger="alerts.workcal"):
        assert router.deadline(start, 86400, True) == monday  # plain weekdays
        router.deadline(start, 2 * 86400, True)
    warned = [r.getMessage() for r in caplog.records if r.name == "alerts.workcal"]
    assert len(warned) == 1, warned
    assert f"working days in {year} count the weekdays only" in warned[0]
    assert f"covers {s.years}" in warned[0] and "pip install -U chinesecalendar" in warned[0]
    listed = routing_with(tmp_path, f"  statutory: cn\n  holidays: [{first_monday}]\n")
    assert listed.deadline(start, 86400, True) == monday + 86400  # the listed date still counts
    # ahead of time: the check and the service's start
    mid_december = datetime(year - 1, 12, 15, 12, tzinfo=SH).timestamp()
    about, uncovered = router.calendar_coverage(mid_december)
    assert f"statutory cn {s.years} (chinesecalendar" in about
    assert uncovered is not None and f"working days in {year}" in uncovered
    assert router.calendar_coverage(datetime(year - 1, 6, 1, tzinfo=SH).timestamp())[1] is None
    from alerts.routing import main, warn_if_uncovered

    with caplog.at_level(logging.WARNING, logger="alerts.routing"):
        warn_if_uncovered(router, mid_december)
    assert any(f"working days in {year}" in r.getMessage() for r in caplog.records
               if r.name == "alerts.routing")  # fmt: skip
    assert main([]) == 0
    assert "statutory cn" in capsys.readouterr().out


def test_a_warning_on_the_value_never_calls_its_own_value_expected() -> None:
    """A threshold detector's limit may be another number than the first level's threshold
    (low voltage: the statutory 198 V, blue at 205): the band would say "expected > 198" of
    203 V under a blue warning.  Then the sentence says the rule, "expected > 205"; a band
    that does not hold the value (water pressure 0.09 MPa, usual 0.28-0.35) is kept."""
    from alerts.warning_state import IndicatorRules

    low = make_indicator()  # water pressure on the value, "below": blue at 0.2
    machine = WarningStateMachine([low], NAMES)
    events = [
        e
        for b in windows([0.19] * 4, area="310106003", lower=0.14, upper=float("nan"))
        for e in machine.process(b)
    ]
    assert events and all("expected > 0.2," in e.text_en for e in events), events
    assert all("预期 > 0.2," in e.text_zh for e in events)
    (kept,) = WarningStateMachine([low], NAMES).process(windows([0.09], area="310106003")[0])
    assert "expected 0.28-0.35" in kept.text_en
    assert IndicatorRules.from_indicator(low).normal_band("street")[0] == 0.2


def scored(
    values: list[float], scores: list[float], lower: float, upper: float, ind: str
) -> list[ScoredBatch]:
    """One single-row batch per 15-minute window of `ind` in Jing'an, with its score."""
    return [
        ScoredBatch.from_columns(
            indicator_id=[ind], area_code=["310106"], area_level=["district"],
            window_start=[T0 + 900 * k], window_end=[T0 + 900 * (k + 1)], value=[v],
            score=[sc], lower=[lower], upper=[upper], detectors="ewma",
        )
        for k, (v, sc) in enumerate(zip(values, scores, strict=True))
    ]  # fmt: skip


def score_indicator(**detection: Any) -> Indicator:
    """A hotline call rate warned on the anomaly score: blue at 0.99."""
    return make_indicator(
        id="hotline.volume", title={"zh": "12345热线来电量", "en": "12345 hotline call rate"},
        unit="orders/min", source={"kind": "hotline"},
        value={"aggregate": "rate", "window": {"length": "15m"}, "levels": ["district"]},
        detection={"detectors": [{"type": "ewma"}], "warnings": {
            "on": "score", "levels": {"blue": {"threshold": 0.99, "for": "0s"}},
            "clear": {"threshold": 0.9, "for": "0s"}}} | detection,
        dispatch="none",
    )  # fmt: skip


def test_a_warning_on_the_score_says_the_score_where_the_band_holds_the_value() -> None:
    """ "2.53 orders/min, expected 0-2.58, blue": the score crossed 0.99, the value was inside
    the detectors' band.  The sentence says the score and the level's limit, never the band."""
    m = WarningStateMachine([score_indicator()], NAMES)
    (ev,) = m.process(scored([2.53], [0.9927], 0.0, 2.582, "hotline.volume")[0])
    assert ev.text_en == ("Jing'an: 12345 hotline call rate 2.53 orders/min, anomaly score "
                          "0.993 (blue at ≥ 0.99), blue since 10:00")  # fmt: skip
    assert ev.text_zh == ("静安区: 12345热线来电量 2.53件/分钟, 异常评分 0.993 (蓝色 ≥ 0.99), "
                          "蓝色预警 自 10:00")  # fmt: skip
    # a band the value is outside of still explains the warning
    (out,) = WarningStateMachine([score_indicator()], NAMES).process(
        scored([3.1], [0.999], 0.0, 2.58, "hotline.volume")[0]
    )
    assert "3.1 orders/min, expected 0-2.58, blue" in out.text_en


def test_a_score_is_told_apart_from_the_threshold_of_the_level_it_left() -> None:
    """Yellow at 0.999 on the score: stepping down to blue on 0.9985 said "anomaly score 1
    (blue at ≥ 0.99)" as if it still held yellow; the score keeps the digits that tell it
    apart from the thresholds of both levels."""
    two = score_indicator(warnings={
        "on": "score", "levels": {"blue": {"threshold": 0.99, "for": "0s"},
                                  "yellow": {"threshold": 0.999, "for": "0s"}},
        "clear": {"threshold": 0.9, "for": "0s"}})  # fmt: skip
    m = WarningStateMachine([two], NAMES)
    batches = scored([2.5, 2.5], [0.9995, 0.9985], 0.0, 2.58, "hotline.volume")
    fired, down = (e for b in batches for e in m.process(b))
    assert (fired.kind, down.kind) == ("firing", "deescalated")
    assert "anomaly score 0.9985 (blue at ≥ 0.99), down to blue" in down.text_en, down.text_en
    assert "异常评分 0.9985 (蓝色 ≥ 0.99)" in down.text_zh, down.text_zh


def test_bands_are_clipped_to_what_the_quantity_can_take() -> None:
    """A concentration is never below 0: "NO2 125 ug/m3, expected -111 to 124" is written, and
    carried in the event, as 0-124."""
    no2 = make_indicator(
        id="air.no2", title={"zh": "二氧化氮浓度", "en": "Nitrogen dioxide (NO2)"},
        unit="ug/m3", source={"kind": "air_quality"},
        value={"field": "no2", "aggregate": "mean", "window": {"length": "15m"},
               "levels": ["district"]},
        detection={"detectors": [{"type": "seasonal"}], "warnings": {
            "on": "value", "levels": {"red": {"threshold": 120, "for": "0s"}}}},
        dispatch="none",
    )  # fmt: skip
    (ev,) = WarningStateMachine([no2], NAMES).process(
        scored([125], [1.0], -111.0, 124.0, "air.no2")[0]
    )
    assert "125 ug/m3, expected 0-124, red" in ev.text_en and "预期 0-124" in ev.text_zh
    assert (ev.lower, ev.upper) == (0.0, 124.0)
    lower, upper = clip_band(np.array([-111.0, -9.0, 0.2]), np.array([124.0, -1.0, 1.5]),
                             (0.0, 100.0))  # fmt: skip
    assert lower.tolist()[::2] == [0.0, 0.2] and upper.tolist()[::2] == [100.0, 1.5]
    assert np.isnan(lower[1]) and np.isnan(upper[1])  # wholly below 0: no band at all


@pytest.mark.parametrize(
    ("value", "lower", "upper", "unit", "said"),
    [(0.138, 0.14, None, "MPa", "0.138 MPa, expected > 0.14,"),
     (100.4, None, 100, "ug/m3", "100.4 ug/m3, expected < 100,"),
     (100, None, 100, "ug/m3", "100 ug/m3, expected < 100,"),  # equal: "<" says it
     (0.0504, None, 0.05, "1", "5.04%, expected < 5%,"),
     (81.3, None, 75, "ug/m3", "81.3 ug/m3, expected < 75,")],
)  # fmt: skip
def test_a_value_and_its_limit_never_print_alike_when_they_differ(
    value: float, lower: float | None, upper: float | None, unit: str, said: str
) -> None:
    """ "供水管网压力 0.14 MPa, 预期 > 0.14, 红色预警" looked as if the limit were met: both get the
    digits that tell them apart, and only then."""
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit=unit,
                      value=value, lower=lower, upper=upper, kind="firing", level="red",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 9, 0))  # fmt: skip
    assert said in en, en
    assert said.split(",")[0].split(" ")[0] in zh


def test_a_warning_on_the_value_without_a_band_says_its_rule() -> None:
    """Detectors still learning give no band: "NO2 111 ug/m3, blue since 00:00" said nothing
    of why.  The rule's own limit is said instead."""
    m = WarningStateMachine([make_indicator()], NAMES)
    nan = float("nan")
    (ev,) = m.process(windows([0.09], area="310106003", lower=nan, upper=nan)[0])
    assert "0.09 MPa, expected > 0.2, red" in ev.text_en and "预期 > 0.2" in ev.text_zh


@pytest.mark.parametrize(
    ("worst", "zh_word", "en_word"),
    [("high", "峰值", "peak"), ("low", "最低", "lowest"), ("score", "最异常", "most anomalous")],
)
def test_the_worst_window_is_named_for_the_way_the_rule_looks(
    worst: str, zh_word: str, en_word: str
) -> None:
    """A pressure drop's worst window is its lowest, not its "峰值"; a warning on the score
    names the window that scored highest, whichever way its value went."""
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit="MPa",
                      value=0.3, lower=None, upper=None, kind="resolved", level="red",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 11, 0), peak=0.13,
                      peak_at=ts(2026, 3, 1, 9, 30), worst=worst)  # fmt: skip
    assert en.endswith(f", {en_word} 0.13 MPa at 09:30") and f"{zh_word} 0.13 MPa (09:30)" in zh


@pytest.mark.parametrize(
    ("worst", "zh_word", "en_word"),
    [("high", "峰值", "peak"), ("low", "最低", "lowest"), ("score", "最异常", "most anomalous")],
)
def test_an_incidents_worst_warning_is_named_as_its_own_sentence_names_it(
    worst: str, zh_word: str, en_word: str
) -> None:
    """The ticket summary's "worst:" clause said "peak" of every warning, a pressure that fell
    to 0.13 MPa under a `below` rule included, while the warning's sentence said "lowest"."""
    zh, en = worst_clause(area_zh="静安区", area_en="Jing'an", title_zh="供水压力",
                          title_en="Water pressure", level="orange", unit="MPa", peak=0.13,
                          peak_at=ts(2026, 3, 1, 9, 30), at=ts(2026, 3, 1, 11, 0),
                          length=900, step=900, worst=worst)  # fmt: skip
    assert en == f"worst: Jing'an water pressure orange warning, {en_word} 0.13 MPa at 09:15"
    assert zh == f"最严重: 静安区 供水压力橙色预警, {zh_word} 0.13 MPa (09:15)"


def station_health_indicator(stuck: dict[str, Any]) -> Indicator:
    """An air station's health on the score of a no-signal and the given stuck detector,
    blue at 0.9 at once, as the catalog's sensor-health indicators are built."""
    return make_indicator(
        id="air.station_silent", title={"zh": "空气监测站数据中断或冻结",
                                        "en": "Air station silent or frozen"},
        category="sensor_health", unit="ug/m3", source={"kind": "air_quality"},
        value={"field": "pm25", "aggregate": "mean", "window": {"length": "15m"},
               "levels": ["district"]},
        detection={"detectors": [{"type": "no_signal"}, stuck], "warnings": {
            "on": "score", "levels": {"blue": {"threshold": 0.9, "for": "0s"}},
            "clear": {"threshold": 0.5, "for": "0s"}}},
        dispatch="none",
    )  # fmt: skip


def test_a_silent_or_frozen_sensor_says_so_rather_than_show_a_reading() -> None:
    """ "air station silent or frozen 37.9 ug/m3": the value raised nothing.  A frozen sensor
    is "stuck at" its value since the run began, a silent one has "no reading since" its last
    window with one, and a resolution gives the latest reading."""
    health = station_health_indicator({"type": "stuck"})
    nan = float("nan")
    m = WarningStateMachine([health], NAMES)
    batches = scored([5, 3, 3, 3, 37.9], [0, 0, 0, 1.0, 0], 3.0, 3.0, "air.station_silent")
    stuck, cleared = (e for b in batches for e in m.process(b))
    assert stuck.text_en == ("Jing'an: air station silent or frozen, value stuck at 3 ug/m3 "
                             "since 10:15, blue since 10:45")  # fmt: skip
    assert stuck.text_zh.startswith("静安区: 空气监测站数据中断或冻结, 读数停在 3 μg/m³ 自 10:15, ")
    assert "latest reading 37.9 ug/m3, blue warning cleared" in cleared.text_en
    assert "37.9" not in cleared.text_en.split("latest reading")[0]
    m = WarningStateMachine([health], NAMES)
    batches = scored([5, nan, nan], [0, 0.5, 1.0], nan, nan, "air.station_silent")
    (silent,) = (e for b in batches for e in m.process(b))
    assert "silent or frozen, no reading since 10:15, blue since" in silent.text_en
    assert "自 10:15 无读数" in silent.text_zh


def test_times_of_another_year_carry_it() -> None:
    """A replay of last winter read "since 12-31 23:00" in January: which year's?"""
    assert local_time(ts(2025, 12, 31, 23, 0), ts(2026, 1, 1, 1, 0)) == "2025-12-31 23:00"
    assert local_time(ts(2026, 2, 28, 23, 0), ts(2026, 3, 1, 1, 0)) == "02-28 23:00"
    assert local_time(ts(2026, 3, 1, 0, 0), ts(2026, 3, 1, 1, 0)) == "00:00"


def test_a_warning_its_value_no_longer_holds_says_what_keeps_it_up() -> None:
    """ "street ponding depth 0.4 cm, expected < 10, down to blue": the value was normal and
    the warning stood because its clear condition had not held long enough.  The sentence
    says that condition instead of an expectation the value meets."""
    m = WarningStateMachine([make_indicator()], NAMES)  # below: red at 0.1, clear above 0.25
    events = [e for b in windows([0.09, 0.22, 0.22], area="310106003") for e in m.process(b)]
    fired, down = events
    assert "0.09 MPa, expected 0.28-0.35, red since 10:00" in fired.text_en
    assert down.kind == "deescalated"
    assert down.text_en == ("Jing'an, Nanjing West Road: water pressure 0.22 MPa, clears above "
                            "0.25 after 30 min, down to blue since 10:30")  # fmt: skip
    assert down.text_zh == ("静安区 南京西路街道: 供水压力 0.22 MPa, 高于 0.25 持续30分钟后解除, "
                            "降为蓝色预警 自 10:30")  # fmt: skip
    # a level still held is what keeps the warning up: its band is said as before
    m = WarningStateMachine([make_indicator()], NAMES)
    *_, down = (e for b in windows([0.09, 0.15, 0.15], area="310106003") for e in m.process(b))
    assert "0.15 MPa, expected 0.28-0.35, down to yellow" in down.text_en
    # on the score: the score and the clear on the score
    two = score_indicator(warnings={
        "on": "score", "levels": {"blue": {"threshold": 0.99, "for": "0s"},
                                  "yellow": {"threshold": 0.999, "for": "0s"}},
        "clear": {"threshold": 0.9, "for": "30m"}})  # fmt: skip
    m = WarningStateMachine([two], NAMES)
    batches = scored([3.0, 2.0, 2.0], [0.9995, 0.95, 0.95], 0.0, 2.58, "hotline.volume")
    *_, down = (e for b in batches for e in m.process(b))
    assert down.text_en == ("Jing'an: 12345 hotline call rate 2 orders/min, anomaly score 0.95, "
                            "clears below 0.9 after 30 min, down to blue since 10:30")  # fmt: skip
    assert "异常评分 0.95, 低于 0.9 持续30分钟后解除, 降为蓝色预警" in down.text_zh
    # without a value (a window too thin to judge) the condition is said alone; digits that
    # tell value and limit apart, as for a band
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit="cm",
                      value=4.996, lower=None, upper=10, kind="deescalated", level="blue",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 9, 0), clear=5.0,
                      clear_for=5400)  # fmt: skip
    assert en == "A: x 4.996 cm, clears below 5 after 1 h 30 min, down to blue since 09:00"
    assert zh == "a: t 4.996 cm, 低于 5 持续1小时30分钟后解除, 降为蓝色预警 自 09:00"
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit="1",
                      value=None, lower=None, upper=0.05, kind="deescalated", level="blue",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 9, 0), clear=0.02,
                      clear_for=0)  # fmt: skip
    assert en == "A: x, clears below 2%, down to blue since 09:00" and "低于 2% 即解除" in zh
    # a calm score is said as below 0.001, not to three digits of noise ("0.000153")
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit="%",
                      value=50.2, lower=None, upper=None, kind="resolved", level="yellow",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 9, 0), clear=0.8,
                      clear_for=900, score=0.000153)  # fmt: skip
    assert "anomaly score < 0.001, below 0.8 for 15 min" in en and "异常评分 < 0.001" in zh, en


@pytest.mark.parametrize(
    ("peak", "lower", "upper", "unit", "band", "worst"),
    [(0.138, 0.14, None, "MPa", "expected > 0.14", "most anomalous 0.138 MPa at 09:30"),
     (0.0504, None, 0.05, "1", "expected < 5%", "peak 5.04% at 09:30"),
     (0.1404, 0.1401, None, "MPa", "expected > 0.1401", "most anomalous 0.1404 MPa at 09:30"),
     (0.12, 0.14, None, "MPa", "expected > 0.14", "most anomalous 0.12 MPa at 09:30")],
)  # fmt: skip
def test_the_worst_window_never_prints_like_the_limit_beside_it(
    peak: float, lower: float | None, upper: float | None, unit: str, band: str, worst: str
) -> None:
    """ "most anomalous 0.14 MPa at 09:30" beside "expected > 0.14": the worst window read as
    if it had met the limit.  It gets the digits that tell it apart, as the value does."""
    kind = "score" if worst.startswith("most") else "high"
    zh, en = sentence(area_zh="a", area_en="A", title_zh="t", title_en="x", unit=unit,
                      value=0.3, lower=lower, upper=upper, kind="resolved", level="red",
                      since=ts(2026, 3, 1, 9, 0), at=ts(2026, 3, 1, 11, 0), peak=peak,
                      peak_at=ts(2026, 3, 1, 9, 30), worst=kind)  # fmt: skip
    assert f", {band}, " in en and en.endswith(f", {worst}"), en
    number = next(word for word in worst.split() if word[0].isdigit())
    assert f" {number}" in zh.split("已解除")[1]


def test_stuck_since_counts_readings_equal_within_the_detector_s_tolerance() -> None:
    """A stuck detector with a tolerance counts 3, 3.05, 3.02 as one frozen value; "value
    stuck at 3.02 since 10:45" (exact equality) said the sensor froze later than the
    detector judged.  Each reading within the tolerance of the one before continues the
    run, as in the detector; one further off starts a new one."""
    health = station_health_indicator({"type": "stuck", "tolerance": 0.1})
    m = WarningStateMachine([health], NAMES)
    values, scores = [5, 3, 3.05, 3.02, 3.1], [0, 0, 0, 0, 1.0]
    (ev,) = (e for b in scored(values, scores, 3.0, 3.0, "air.station_silent")
             for e in m.process(b))  # fmt: skip
    assert "value stuck at 3.1 ug/m3 since 10:15, blue since 11:00" in ev.text_en, ev.text_en
    assert "读数停在 3.1 μg/m³ 自 10:15" in ev.text_zh
    m = WarningStateMachine([health], NAMES)
    values = [5, 3, 3.05, 3.2, 3.2]  # 3.2 is 0.15 from 3.05: a new run from 10:45
    (ev,) = (e for b in scored(values, scores, 3.0, 3.0, "air.station_silent")
             for e in m.process(b))  # fmt: skip
    assert "value stuck at 3.2 ug/m3 since 10:45," in ev.text_en, ev.text_en
    from alerts.warning_state import IndicatorRules

    members = [{"type": "stuck", "tolerance": 0.2}]
    in_ensemble = make_indicator(detection={
        "detectors": [{"type": "ensemble", "members": members}],
        "warnings": {"on": "score", "levels": {"blue": {"threshold": 0.9, "for": "0s"}}},
    })  # fmt: skip
    assert IndicatorRules.from_indicator(in_ensemble).stuck_tolerance == 0.2


def test_a_replay_on_the_data_s_clock_is_not_warned_of_today_s_calendar(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The service's start warns of the statutory calendar's years ahead of the wall clock;
    a replay on the data's clock (`dispatch --data-time`) has its own years, warned of where
    a deadline reaches one (workcal): March 2026 data replayed in December is not told of
    2027."""
    import alerts.serve as serve
    from alerts.clock import EventClock, SystemClock

    warned: list[object] = []
    monkeypatch.setattr(serve, "warn_if_uncovered", lambda router: warned.append(router))
    db = f"sqlite:///{tmp_path / 't.db'}"
    serve.build_service(db, clock=EventClock())
    assert warned == []
    serve.build_service(db, clock=SystemClock())
    serve.build_service(db)
    assert len(warned) == 2
