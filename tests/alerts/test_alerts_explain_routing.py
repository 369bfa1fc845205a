"""Explanations, area codes and names, routing rules and working-time deadlines."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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
from alerts.explain import format_number, sentence
from alerts.hotline import HotlineOrder
from alerts.routing import Router, RoutingConfig, RoutingError, load_routing
from alerts.service import TicketService
from alerts.warning_state import WarningStateMachine
from alerts.workcal import WorkingCalendar
from indicators.language.model import Dispatch
from tests.alerts.alerts_helpers import make_indicator, windows

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
