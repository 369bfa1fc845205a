"""Tickets from warnings and hotline orders: merging, idempotency, the lifecycle, supervision,
verification, the audit log and the outbox.  On a SQLite file (the PostgreSQL run of the same
scenario is in test_alerts_postgres.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from alerts import schema
from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.hotline import HotlineOrder
from alerts.outbox import Outbox
from alerts.routing import RoutingConfig
from alerts.service import TicketService, headline
from alerts.tickets import AuditEntry, InvalidTransitionError
from alerts.warning_state import WarningStateMachine
from tests.alerts.alerts_helpers import T0, make_indicator, surge_indicator, windows
from tests.alerts.conftest import ServiceFactory


def fire(machine: WarningStateMachine, values: list[float], area: str = "310106003",
         start: int = T0, **kw: object) -> list[WarningEvent]:  # fmt: skip
    out: list[WarningEvent] = []
    for b in windows(values, area=area, start=start, **kw):  # type: ignore[arg-type]
        out.extend(machine.process(b))
    return out


def fed_back(svc: TicketService, machine: WarningStateMachine) -> str:
    """A ticket a warning opened, accepted and fed back on: in verification."""
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "done")
    return tid


@pytest.fixture
def machine() -> WarningStateMachine:
    return WarningStateMachine([make_indicator(), surge_indicator()])


def order(oid: str, ts: int, code: str = "water_outage", area: str = "310106003001001",
          dy: float = 0.0) -> HotlineOrder:  # fmt: skip
    return HotlineOrder(oid, code, ts, 31.23 + dy / 111_320, 121.47, area, "没水 13812345678")


# ---------------------------------------------------------------------------- merging
def test_a_warning_creates_one_ticket_routed_with_deadlines(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    (ev,) = fire(machine, [0.16])  # yellow (15m) straight away
    clock.set(ev.at)
    (out,) = svc.submit_warnings([ev])
    assert out.action == "created"
    t = svc.get(out.ticket_id or "")
    assert t is not None
    assert (t.status, t.level, t.department, t.tier, t.area_code) == (
        "dispatched",
        "yellow",
        "water_supply",
        "street",
        "310106003",
    )
    assert t.accept_due == ev.at + 3600 and t.handle_due == ev.at + 12 * 3600
    (w,) = svc.warnings(t.id)
    assert w["warning_id"] == ev.warning_id and w["explanation"]["expected"] == [0.28, 0.35]
    assert w["explanation"]["detectors"] == ["threshold"] and w["state"] == "firing"
    (entry,) = svc.audit(t.id)
    assert (entry.actor, entry.action, entry.to_status) == ("system", "dispatched", "dispatched")
    assert "0.16 MPa" in entry.reason


def test_same_incident_updates_the_ticket_instead_of_dispatching_again(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    events = fire(machine, [0.19, 0.19, 0.16, 0.09])  # blue, then yellow, then red
    # the district-level series of the same place fires too
    events += fire(machine, [0.16], area="310106", level="district")
    outs = svc.submit_warnings(events)
    assert [o.action for o in outs].count("created") == 1
    (t,) = svc.list_tickets()
    assert t.warning_count == 2 and t.level == "red"
    # red is handled by city coordination; the incident covers the district
    assert (t.tier, t.area_code, t.incident_unit) == ("city", "310000", "310000")
    actions = [a.action for a in svc.audit(t.id)]
    assert actions.count("level") == 2 and "merged" in actions and "escalated" in actions


def test_other_streets_are_other_incidents_but_a_district_wide_level_merges_them(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    svc.submit_warnings(fire(machine, [0.16], area="310106003"))
    svc.submit_warnings(fire(machine, [0.16], area="310106004"))
    assert len(svc.list_tickets()) == 2
    # orange is handled by the district: a new street's orange warning joins an open ticket
    svc.submit_warnings(fire(machine, [0.13], area="310106005", start=T0 + 900))
    assert len(svc.list_tickets()) == 2
    # another district stays apart
    svc.submit_warnings(fire(machine, [0.16], area="310115001"))
    assert len(svc.list_tickets()) == 3


def test_merging_needs_closeness_in_time(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    svc.submit_warnings(fire(machine, [0.16], area="310106003"))
    later = fire(machine, [0.3, 0.3, 0.3, 0.3], area="310106003", start=T0 + 900)
    svc.submit_warnings(later)  # resolved
    two_days = T0 + 2 * 86400
    clock.set(two_days)
    svc.submit_warnings(fire(machine, [0.16], area="310106003", start=two_days))
    assert len(svc.list_tickets()) == 2  # older than merge.window (24h): a new incident


def test_replays_and_restarts_never_duplicate(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    events = fire(machine, [0.19, 0.19, 0.16, 0.3, 0.3, 0.3, 0.3])
    svc = make_service()
    first = svc.submit_warnings(events)
    audit_before = len(svc.audit(first[0].ticket_id or ""))
    again = svc.submit_warnings(events)
    assert {o.action for o in again} == {"already-applied"}
    restarted = make_service()  # a new process on the same file
    assert {o.action for o in restarted.submit_warnings(events)} == {"already-applied"}
    (t,) = restarted.list_tickets()
    assert len(restarted.audit(t.id)) == audit_before


def test_the_summary_and_level_follow_the_worst_warning_still_firing(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    """An orange street warning and a grid warning of the same incident: the grid's later
    yellow and "down to blue" events do not replace the orange summary; when the orange one
    clears the ticket describes the blue one still firing at its level, and when that clears
    too it says so at the level it cleared at, naming the orange one as the worst; the peak
    stays recorded."""
    svc = make_service()
    (orange,) = fire(machine, [0.13], area="310106003")
    tid = svc.submit_warnings([orange])[0].ticket_id or ""
    grid = fire(machine, [0.16, 0.19, 0.19, 0.19, 0.19], area="310106003001", level="grid")
    assert [e.kind for e in grid] == ["firing", "deescalated"]
    assert [o.ticket_id for o in svc.submit_warnings(grid)] == [tid, tid]
    t = svc.get(tid)
    assert t is not None and (t.level, t.firing_count) == ("orange", 2)
    assert (t.summary_zh, t.summary_en) == (orange.text_zh, orange.text_en)

    (cleared,) = fire(machine, [0.3, 0.3], area="310106003", start=T0 + 900)
    assert cleared.kind == "resolved"
    svc.submit_warnings([cleared])
    t = svc.get(tid)
    assert t is not None and (t.level, t.firing_count) == ("blue", 1)
    assert (t.summary_zh, t.summary_en) == (grid[-1].text_zh, grid[-1].text_en)
    assert "down to blue" in t.summary_en

    (grid_cleared,) = fire(machine, [0.3, 0.3], area="310106003001", start=T0 + 4500,
                           level="grid")  # fmt: skip
    svc.submit_warnings([grid_cleared])
    t = svc.get(tid)
    assert t is not None and (t.level, t.firing_count) == ("blue", 0)
    assert t.summary_en.startswith(grid_cleared.text_en + "; worst: ")  # the orange one
    assert "blue warning cleared" in t.summary_en
    assert t.evidence["peak_level"] == "orange"
    assert t.evidence["headline_warning"] == grid_cleared.warning_id


@pytest.mark.parametrize("stored_before_titles", [False, True])
def test_the_title_follows_the_warning_the_summary_describes(
    make_service: ServiceFactory, stored_before_titles: bool
) -> None:
    """An incident opened by one indicator's warning and dominated by a worse warning of
    another indicator of its family is titled after the worse one, as its summary describes
    it (a "PM10" title over a PM2.5 summary told the dispatcher the wrong pollutant); when
    that one clears, title and summary go back together, and the audit says what changed.
    The title of a warning no event is at hand for comes from its stored explanation, or
    for stores written before explanations held one, from the catalog."""
    other = make_indicator(id="water.pressure_main",
                           title={"zh": "主管网压力", "en": "Main pressure"})  # fmt: skip
    svc = make_service(catalog=[make_indicator(), other])
    machine = WarningStateMachine([make_indicator(), other])
    blue = fire(machine, [0.19, 0.19], area="310106003")
    tid = svc.submit_warnings(blue)[0].ticket_id or ""
    t = svc.get(tid)
    assert t is not None and (t.title_en, t.level) == ("Water pressure", "blue")

    (orange,) = fire(machine, [0.13], area="310106003", start=T0 + 900,
                     indicator_id="water.pressure_main")  # fmt: skip
    assert svc.submit_warnings([orange])[0].action == "merged"
    t = svc.get(tid)
    assert t is not None and t.level == "orange"
    assert (t.summary_zh, t.summary_en) == (orange.text_zh, orange.text_en)
    assert (t.title_zh, t.title_en) == ("主管网压力", "Main pressure")
    (merged,) = [a for a in svc.audit(tid) if a.action == "merged"]
    assert merged.detail["from_title"] == ["供水压力", "Water pressure"]
    assert merged.detail["to_title"] == ["主管网压力", "Main pressure"]

    assert {w["explanation"]["title_en"] for w in svc.warnings(tid)} == {
        "Water pressure",
        "Main pressure",
    }
    if stored_before_titles:
        with svc.store.engine.begin() as conn:
            for w in svc.warnings(tid):
                old = {k: v for k, v in w["explanation"].items() if not k.startswith("title_")}
                conn.execute(update(schema.ticket_warnings)
                             .where(schema.ticket_warnings.c.warning_id == w["warning_id"])
                             .values(explanation=json.dumps(old)))  # fmt: skip
    (cleared,) = fire(machine, [0.3, 0.3], area="310106003", start=T0 + 1800,
                      indicator_id="water.pressure_main")  # fmt: skip
    assert cleared.kind == "resolved"
    svc.submit_warnings([cleared])
    t = svc.get(tid)
    assert t is not None and t.level == "blue"
    assert (t.summary_zh, t.summary_en) == (blue[-1].text_zh, blue[-1].text_en)
    assert (t.title_zh, t.title_en) == ("供水压力", "Water pressure")
    (back,) = [a for a in svc.audit(tid) if a.action == "warning_resolved"]
    assert back.detail["to_title"] == ["供水压力", "Water pressure"]


def test_a_new_lower_warning_after_all_cleared_sets_the_level(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.13], area="310106003"))[0].ticket_id or ""
    svc.submit_warnings(fire(machine, [0.3, 0.3], area="310106003", start=T0 + 900))
    (blue,) = fire(machine, [0.19, 0.19], area="310106003001", start=T0 + 3600, level="grid")
    assert svc.submit_warnings([blue])[0].ticket_id == tid
    t = svc.get(tid)
    assert t is not None and (t.level, t.summary_en) == ("blue", blue.text_en)
    assert t.evidence["peak_level"] == "orange"


def test_sensor_warning_and_hotline_surge_are_one_incident(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    orders = [order(f"o{i}", T0 + 60 * i, dy=200 * i) for i in range(3)]
    outs = svc.submit_orders(orders)  # far apart: three tickets before any sensor speaks
    assert [o.action for o in outs] == ["created"] * 3
    svc.submit_warnings(fire(machine, [0.16], area="310106003"))  # merges into the newest
    # the hotline count per street crosses 5: a surge warning of the same family and street
    surge = WarningStateMachine([surge_indicator()]).process(
        windows([23], area="310106003", indicator_id="hotline.water_outage", step=3600)[0]
    )
    assert svc.submit_warnings(surge)[0].action == "merged"
    # later orders in the street corroborate the incident instead of opening tickets
    more = svc.submit_orders([order(f"p{i}", T0 + 3700 + i, dy=900) for i in range(4)])
    assert {o.action for o in more} == {"corroborated"}
    incident = next(t for t in svc.list_tickets() if t.warning_count)
    assert incident.warning_count == 2 and incident.order_count == 5
    zh, en = headline(incident)
    assert en.endswith("corroborated by 23 hotline orders") and "23 条热线工单印证" in zh
    # each audit entry says what its own detail holds: the orders attached so far, and the
    # surge warning's count apart (it said "23 hotline orders" over order_count 2, 3, ...)
    entries = [e for e in svc.audit(incident.id) if e.action == "corroborated"]
    assert [(e.detail["order_count"], e.detail["surge_count"]) for e in entries] == [
        (2, 23), (3, 23), (4, 23), (5, 23)
    ]  # fmt: skip
    assert [e.reason for e in entries] == [
        f"corroborated by {n} hotline orders; the hotline-count warning counts 23"
        for n in (2, 3, 4, 5)
    ]


def test_a_red_warning_merged_into_an_order_puts_its_deadlines_on_the_wall_clock(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """A 12345 order (office hours) and then a red warning of the same outage: the ticket owes
    the red level's 15 min / 4 h on the wall clock from then on, in every later deadline: a
    reopening on a Sunday is due within the hour, not on Monday morning (it kept
    `working_hours_only` and counted them in office hours)."""
    svc = make_service()
    tid = svc.submit_orders([order("o1", T0)])[0].ticket_id or ""  # Sunday 10:00
    before = svc.get(tid)
    assert before is not None and before.working_hours_only is True
    evs = fire(machine, [0.09], area="310106003")  # red at once
    clock.set(evs[0].at)
    assert svc.submit_warnings(evs)[0].ticket_id == tid
    t = svc.get(tid)
    assert t is not None and (t.level, t.accept_s, t.handle_s) == ("red", 900, 4 * 3600)
    assert t.working_hours_only is False and t.accept_due == clock.now() + 900
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "valve")
    clock.advance(7201)  # still firing: reopened, due again on the wall clock
    assert [o.action for o in svc.tick()] == ["reopened"]
    t = svc.get(tid)
    assert t is not None and t.status == "reopened"
    assert (t.accept_due, t.handle_due) == (clock.now() + 900, clock.now() + 4 * 3600)
    clock.set(t.accept_due + 1)
    assert [o.action for o in svc.tick()] == ["supervised"]
    t = svc.get(tid)
    assert t is not None and t.accept_due == clock.now() + 900


def test_an_order_placed_before_the_warning_is_not_closed_as_unwatched(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """Water calls in one street minutes apart open tickets of their own; the red warning that
    follows joins one of them.  The others are not "no indicator watches this order": their
    close names the incident that watches their area and whether its warnings still fire."""
    svc = make_service()
    outs = svc.submit_orders([order(f"o{i}", T0 + 60 * i, dy=200 * i) for i in range(2)])
    first, second = (o.ticket_id or "" for o in outs)
    evs = fire(machine, [0.09], area="310106003")
    clock.set(evs[0].at)
    assert svc.submit_warnings(evs)[0].ticket_id == second  # the newest takes the warning
    svc.accept(first, "dept")
    svc.feedback(first, "dept", "crew on site")
    verifying = svc.audit(first)[-1]
    assert verifying.detail["covered_by"] == second and f"incident {second}" in verifying.reason
    clock.advance(7200)
    assert [o.action for o in svc.tick() if o.ticket_id == first] == ["closed"]
    closed = svc.audit(first)[-1]
    assert "no indicator watches" not in closed.reason
    assert closed.reason == (
        "closed after feedback, without a data check of its own: incident "
        f"{second} covers this order and its warnings still fire"
    )
    assert closed.detail == {"data_check": False, "covered_by": second, "incident_firing": True}


def test_a_level_entry_says_the_warnings_level_and_the_tickets_apart(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    """A grid warning escalating inside an orange incident: the reason is the grid warning's
    sentence (its yellow -> orange) and says the ticket stays orange, as the detail does."""
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.13], area="310106003"))[0].ticket_id or ""
    grid = fire(machine, [0.19, 0.19, 0.16], area="310106003001", level="grid")
    assert [e.kind for e in grid] == ["firing", "escalated"]
    svc.submit_warnings(grid)
    (entry,) = [e for e in svc.audit(tid) if e.action == "level"]
    assert (entry.detail["warning_from_level"], entry.detail["warning_level"]) == (
        "blue", "yellow"
    )  # fmt: skip
    assert (entry.detail["from_level"], entry.detail["to_level"]) == ("orange", "orange")
    assert entry.reason.endswith("; ticket level stays orange") and "yellow" in entry.reason
    (merged,) = [e for e in svc.audit(tid) if e.action == "merged"]
    assert merged.reason.endswith("; ticket level stays orange")
    assert (merged.detail["warning_level"], merged.detail["to_level"]) == ("blue", "orange")


def test_one_corroborating_order_is_written_in_the_singular(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    svc.submit_warnings(fire(machine, [0.16], area="310106003"))
    (out,) = svc.submit_orders([order("o1", T0 + 60)])
    assert out.action == "corroborated"
    t = svc.get(out.ticket_id)
    assert t is not None
    assert headline(t)[1].endswith("corroborated by 1 hotline order")
    audit = [e.reason for e in svc.audit(t.id) if e.action == "corroborated"]
    assert audit == ["corroborated by 1 hotline order"]


def test_duplicate_orders_are_linked_not_dispatched(make_service: ServiceFactory) -> None:
    svc = make_service()
    root = svc.submit_orders([order("r", T0, code="road_damage")])[0]
    dup = svc.submit_orders([order("d", T0 + 600, code="road_damage", dy=10)])[0]
    apart = svc.submit_orders([order("a", T0 + 600, code="road_damage", dy=300)])[0]
    other = svc.submit_orders([order("x", T0 + 600, code="street_lights")])[0]
    assert (dup.action, dup.ticket_id) == ("linked", root.ticket_id)
    assert apart.action == "created" and other.action == "created"
    t = svc.get(root.ticket_id or "")
    assert t is not None and t.order_count == 2
    assert [o["role"] for o in svc.orders(t.id)] == ["root", "duplicate"]
    assert "13812345678" not in (t.description or "")
    # after a restart the index is rebuilt from the store
    restarted = make_service()
    again = restarted.submit_orders([order("d2", T0 + 900, code="road_damage", dy=5)])[0]
    assert (again.action, again.ticket_id) == ("linked", root.ticket_id)


# ---------------------------------------------------------------------------- lifecycle
def test_a_hotline_ticket_says_where_what_and_since_when_in_both_languages(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Not the category alone: the place (named by the city model, as a warning's is), the
    order and the time; the citizen's words stay in the description."""
    from alerts.areas import DictAreaNames

    names = DictAreaNames({"310106": ("静安区", "Jing'an"),
                           "310106003": ("南京西路街道", "Nanjing West Road")})  # fmt: skip
    svc = make_service(names=names)
    clock.set(T0 + 300)
    out = svc.submit_orders([order("h", T0 + 245, area="310106003")])[0]
    t = svc.get(out.ticket_id or "")
    assert t is not None
    water_en = "water outage or low pressure"
    assert t.summary_en == f"Jing'an, Nanjing West Road: 12345 order, {water_en}, since 10:04"
    assert t.summary_zh.startswith("静安区 南京西路街道: 12345 工单, ")
    assert t.summary_zh.endswith(", 自 10:04") and "<phone>" in (t.description or "")
    assert headline(t) == (t.summary_zh, t.summary_en) and out.reason == t.summary_en
    # an order of another day says its date; one without an area says what and when only
    clock.set(T0 + 86_400)
    late = svc.submit_orders([order("h2", T0 + 600, code="road_damage", area="")])[0]
    t2 = svc.get(late.ticket_id or "")
    assert t2 is not None and t2.summary_en.startswith("12345 order, ")
    assert t2.summary_en.endswith(", since 03-01 10:10")


def test_full_lifecycle_to_verified_close(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    clock.advance(600)
    assert svc.accept(tid, "jingan-water", "on our way").status == "accepted"
    assert svc.start(tid, "jingan-water").status == "handling"
    clock.advance(1800)
    t = svc.feedback(tid, "jingan-water", "valve replaced, tel 13812345678")
    assert t.status == "verifying" and t.verify_until == clock.now() + 7200
    assert "13812345678" not in (t.feedback_notes or "")
    # the data recovers: the warning resolves during verification
    svc.submit_warnings(fire(machine, [0.3, 0.3, 0.3], start=T0 + 900))
    clock.advance(3600)
    assert svc.tick() == []  # not yet: the period is 2h
    clock.advance(3601)
    (out,) = svc.tick()
    assert out.action == "closed"
    t2 = svc.get(tid)
    assert t2 is not None and t2.status == "closed" and t2.closed_at == clock.now()
    trail = [(a.actor, a.action, a.from_status, a.to_status) for a in svc.audit(tid)]
    assert trail == [
        ("system", "dispatched", None, "dispatched"),
        ("jingan-water", "accept", "dispatched", "accepted"),
        ("jingan-water", "start", "accepted", "handling"),
        ("jingan-water", "feedback", "handling", "feedback"),
        ("system", "verifying", "feedback", "verifying"),
        ("system", "warning_resolved", "verifying", "verifying"),
        ("system", "verifying", "verifying", "verifying"),  # all normal: the period runs
        ("system", "closed", "verifying", "closed"),
    ]
    assert all(a.at > 0 and a.reason for a in svc.audit(tid))


def verified_after(
    svc: TicketService, clock: ManualClock, firing: WarningEvent, cleared: WarningEvent
) -> tuple[AuditEntry, AuditEntry]:
    """A ticket of `firing` fed back and then `cleared` by an event no data judged: the
    audit entries that start its verification and close it after the period, checked to
    say no data check and no "stayed normal"."""
    clock.set(firing.at)
    tid = svc.submit_warnings([firing])[0].ticket_id or ""
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "valve")
    clock.set(max(cleared.at, clock.now()))
    svc.submit_warnings([cleared])
    started = svc.audit(tid)[-1]
    assert started.action == "verifying" and started.detail["data_check"] is False
    clock.advance(7201)
    assert [o.action for o in svc.tick()] == ["closed"]
    closed = svc.audit(tid)[-1]
    assert closed.action == "closed" and "stayed normal" not in closed.reason
    return started, closed


def test_a_warning_cleared_on_windows_too_thin_to_judge_closes_without_a_data_check(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    """A warning of an indicator with `min_count` clears on windows too thin to judge ("too
    few readings to judge"): no data saw the indicator normal, so the ticket closes after
    the period saying so (detail `data_check: false`), not as "indicators stayed normal
    through verification" (`data_check: true`, as it did)."""
    value = {"field": "pressure", "aggregate": "mean", "window": {"length": "15m"},
             "levels": ["street", "district"], "min_count": 3}  # fmt: skip
    m = WarningStateMachine([make_indicator(value=value)])
    svc = make_service()
    nan = float("nan")
    firing, resolved = fire(m, [0.09, nan, nan, nan], area="310106003")
    assert (firing.kind, resolved.kind, resolved.judged) == ("firing", "resolved", False)
    started, closed = verified_after(svc, clock, firing, resolved)
    assert "on too few records to judge" in started.reason
    assert closed.reason.startswith("closed after the verification period, without a data "
                                    "check (too few records to judge: water.pressure@")  # fmt: skip
    assert closed.detail == {"data_check": False, "unjudged": [resolved.warning_id]}
    # cleared so before the feedback: the verification says so from the start
    svc2 = make_service()
    m2 = WarningStateMachine([make_indicator(value=value)])
    evs = fire(m2, [0.09, nan, nan, nan], area="310106004")
    tid2 = svc2.submit_warnings(evs)[0].ticket_id or ""
    svc2.accept(tid2, "dept")
    svc2.feedback(tid2, "dept", "valve")
    verifying = svc2.audit(tid2)[-1]
    assert verifying.detail["data_check"] is False and "without a data check" in verifying.reason


def test_a_withdrawn_warning_closes_its_ticket_without_a_data_check(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    """A sensor removed from the registry: the flow withdraws its firing warning with a
    resolved event but no window.  No data saw the indicator normal, so the ticket closes
    after the period saying the area is no longer watched (`data_check: false`), not
    "indicators stayed normal through verification" (`data_check: true`, as it did)."""
    m = WarningStateMachine([make_indicator()])
    svc = make_service()
    (firing,) = fire(m, [0.09], area="310106003")
    (withdrawn,) = m.withdraw({"street": ["310106003"]}, "已移除", "removed from the registry")
    assert (withdrawn.kind, withdrawn.judged, withdrawn.withdrawn) == ("resolved", False, True)
    started, closed = verified_after(svc, clock, firing, withdrawn)
    assert "withdrawn: no longer watched" in started.reason
    assert closed.reason == (f"closed after the verification period, without a data check "
                             f"(no longer watched: {withdrawn.warning_id})")  # fmt: skip
    assert closed.detail == {"data_check": False, "unjudged": [withdrawn.warning_id],
                             "withdrawn": [withdrawn.warning_id]}  # fmt: skip


def test_still_firing_after_verification_reopens(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    tid = fed_back(svc, machine)
    clock.advance(7201)
    (out,) = svc.tick()
    t = svc.get(tid)
    assert out.action == "reopened" and t is not None
    assert (t.status, t.reopen_count) == ("reopened", 1)
    assert t.accept_due == clock.now() + 3600  # back to the department with a new deadline
    # not reported handled any more: the old feedback is in the audit, not on the ticket
    assert (t.feedback_at, t.feedback_notes) == (None, None)
    assert any(a.action == "feedback" and a.reason == "done" for a in svc.audit(tid))
    with pytest.raises(InvalidTransitionError, match="reopened"):
        svc.feedback(tid, "dept", "again")
    assert svc.accept(tid, "dept").status == "accepted"


def test_verification_counts_from_when_the_warnings_clear_not_from_the_feedback(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """Reported handled while its warning still fires, a ticket waits in verification; the
    period runs from the clearance, so the close's "stayed normal" is true.  (It ran from the
    feedback: a ticket whose warnings fired for most of the period closed as normal.)"""
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    svc.accept(tid, "dept")
    fed = svc.feedback(tid, "dept", "done")
    assert fed.status == "verifying" and fed.verify_until == clock.now() + 7200
    waiting = svc.audit(tid)[-1]
    assert waiting.action == "verifying" and "1 warning(s) still firing" in waiting.reason
    assert list(waiting.detail["waiting_for"]) == [fed.evidence["first_warning"]]
    assert "normal_since" not in waiting.detail
    clock.advance(5400)  # the warning clears 1.5 h after the feedback
    svc.submit_warnings(fire(machine, [0.3, 0.3, 0.3], start=T0 + 900))
    cleared_at = clock.now()
    t = svc.get(tid)
    assert t is not None and t.status == "verifying" and t.verify_until == cleared_at + 7200
    started = svc.audit(tid)[-1]
    assert (started.action, started.from_status, started.to_status) == (
        "verifying", "verifying", "verifying")  # fmt: skip
    assert started.reason.startswith("all warnings cleared")
    assert started.detail["normal_since"] == "2026-03-01T11:30:00+08:00"
    clock.set(fed.verify_until or 0)  # two hours after the feedback: not two normal hours
    assert svc.tick() == []
    clock.set(cleared_at + 7200)
    (out,) = svc.tick()
    closed = svc.audit(tid)[-1]
    assert out.action == "closed"
    assert closed.reason == "indicators stayed normal through verification"
    assert closed.detail == {"data_check": True, "normal_since": "2026-03-01T11:30:00+08:00"}


def test_a_warning_after_the_clearance_reopens_at_once_naming_it(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    tid = fed_back(svc, machine)
    svc.submit_warnings(fire(machine, [0.3, 0.3, 0.3], start=T0 + 900))  # the clock runs
    clock.advance(1800)
    (again,) = fire(machine, [0.16], start=T0 + 4500)  # the same street fires again
    assert svc.submit_warnings([again])[0].ticket_id == tid
    t = svc.get(tid)
    assert t is not None and (t.status, t.reopen_count) == ("reopened", 1)
    reopened = svc.audit(tid)[-1]
    assert reopened.action == "reopened" and again.warning_id in reopened.reason
    assert reopened.detail["warning_id"] == again.warning_id
    assert not any(a.action == "closed" for a in svc.audit(tid))


def test_still_firing_two_hours_after_the_feedback_reopens_naming_the_warning(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    (ev,) = fire(machine, [0.16])
    tid = svc.submit_warnings([ev])[0].ticket_id or ""
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "done")
    clock.advance(7200)
    assert [o.action for o in svc.tick()] == ["reopened"]
    reopened = svc.audit(tid)[-1]
    assert reopened.reason.startswith("still firing 2 h after the feedback of")
    assert f"{ev.warning_id} (yellow)" in reopened.reason
    assert reopened.detail["firing"] == {ev.warning_id: "yellow"}


def test_a_corroborating_call_during_verification_reopens_the_incident(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """A citizen reporting the problem after the feedback says the fix did not hold, even
    when the call joins the incident's warnings rather than duplicating an order.  (Calls
    joining an incident in verification were counted and changed nothing: a gas leak drew
    ten calls in its verification and closed as normal.)"""
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    svc.accept(tid, "dept")
    clock.advance(600)
    fed = svc.feedback(tid, "dept", "done")
    svc.submit_warnings(fire(machine, [0.3, 0.3, 0.3], start=T0 + 900))  # data normal again
    # placed before the feedback, delivered after it: about the problem before the fix
    late = svc.submit_orders([order("before", (fed.feedback_at or 0) - 60)])[0]
    assert (late.action, late.ticket_id) == ("corroborated", tid)
    assert (svc.get(tid) or fed).status == "verifying"
    clock.advance(900)
    out = svc.submit_orders([order("after", clock.now())])[0]
    assert (out.action, out.ticket_id) == ("corroborated", tid)
    t = svc.get(tid)
    assert t is not None and (t.status, t.reopen_count) == ("reopened", 1)
    reopened = svc.audit(tid)[-1]
    assert reopened.action == "reopened"
    assert reopened.reason == (
        "reported again during verification: hotline order after reports the same problem: "
        "not fixed"
    )
    assert (reopened.detail["order_id"], reopened.detail["role"]) == ("after", "corroboration")


def test_a_call_elsewhere_in_the_unit_handling_the_incident_is_not_its_evidence(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """A red incident is handled by the city, yet a water call in another district is that
    district's problem: it opens its own ticket, and neither corroborates the incident nor
    reopens it; a call in the incident's own area says its fix did not hold."""
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.09]))[0].ticket_id or ""  # red: the city's
    t = svc.get(tid)
    assert t is not None and (t.incident_unit, t.incident_area) == ("310000", "310106003")
    svc.accept(tid, "dept")
    svc.submit_warnings(fire(machine, [0.3, 0.3, 0.3], start=T0 + 900))
    svc.feedback(tid, "dept", "done")
    clock.advance(600)
    far = svc.submit_orders([order("pudong", clock.now(), area="310115003009004")])[0]
    assert far.action == "created" and far.ticket_id != tid
    assert (svc.get(tid) or t).status == "verifying"
    near = svc.submit_orders([order("jingan", clock.now())])[0]
    assert near.ticket_id == tid and (svc.get(tid) or t).status == "reopened"


def test_a_fix_that_keeps_failing_verification_is_supervised_every_third_reopening(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """Each reopening gives the department fresh deadlines, which it meets on paper; the
    third failed fix (and the sixth, ...) is supervised one tier up like a missed deadline."""
    from alerts.service import REOPENS_PER_SUPERVISION

    assert REOPENS_PER_SUPERVISION == 3
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    tiers = []
    for _ in range(6):
        svc.accept(tid, "dept")
        svc.feedback(tid, "dept", "done")
        clock.advance(7201)
        assert [o.action for o in svc.tick()] == ["reopened"]  # the warning still fires
        t = svc.get(tid)
        assert t is not None
        tiers.append((t.reopen_count, t.supervise_count, t.tier))
    assert tiers == [(1, 0, "street"), (2, 0, "street"), (3, 1, "district"),
                     (4, 1, "district"), (5, 1, "district"), (6, 2, "city")]  # fmt: skip
    sup = [a for a in svc.audit(tid) if a.action == "supervised"]
    assert [a.reason for a in sup] == ["reopened 3 times: the fixes do not hold",
                                       "reopened 6 times: the fixes do not hold"]  # fmt: skip
    assert sup[0].actor == "system" and sup[0].detail["reopen_count"] == 3
    assert (sup[0].detail["from_tier"], sup[0].detail["to_tier"]) == ("street", "district")
    assert "missed" not in sup[0].detail  # nothing was late: the fixes did not hold
    t = svc.get(tid)
    assert t is not None and t.supervised and t.accept_due == clock.now() + 3600


def test_a_new_warning_during_verification_reopens_at_once(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    tid = fed_back(svc, machine)
    svc.submit_warnings(fire(machine, [0.16], area="310106003001"))  # a grid in the street
    t = svc.get(tid)
    assert t is not None and t.status == "reopened" and t.warning_count == 2


def test_an_order_no_indicator_watches_closes_without_claiming_a_data_check(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    tid = svc.submit_orders([order("h", T0, code="road_damage")])[0].ticket_id or ""
    svc.accept(tid, "dept")
    t = svc.feedback(tid, "dept", "pothole filled")
    assert t.warning_count == 0 and t.verify_until == clock.now() + 7200
    verifying = svc.audit(tid)[-1]
    assert verifying.action == "verifying" and verifying.detail["data_check"] is False
    assert "no indicator watches this order" in verifying.reason
    clock.advance(7200)
    (out,) = svc.tick()
    closed = svc.audit(tid)[-1]
    assert out.action == "closed" and closed.action == "closed"
    assert closed.reason == (
        "no indicator watches this order: closed after feedback, without a data check"
    )
    assert closed.detail == {"data_check": False}
    assert not any("indicators" in a.reason for a in svc.audit(tid))


def test_an_order_reported_again_during_verification_is_reopened(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    tid = svc.submit_orders([order("h", T0, code="road_damage")])[0].ticket_id or ""
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "pothole filled")
    clock.advance(1800)
    again = svc.submit_orders([order("h2", clock.now(), code="road_damage", dy=5)])[0]
    t = svc.get(tid)
    assert again.ticket_id == tid and t is not None
    assert (t.status, t.reopen_count) == ("reopened", 1)


def test_missed_deadlines_are_supervised_one_tier_up(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    first = svc.get(tid)
    assert first is not None and svc.next_due() == first.accept_due + 1
    clock.advance(3600)
    assert svc.tick() == []  # due exactly now: not missed yet
    clock.advance(1)
    (out,) = svc.tick()
    t = svc.get(tid)
    assert out.action == "supervised" and t is not None
    assert (t.supervised, t.supervise_count, t.tier, t.area_code) == (True, 1, "district",
                                                                      "310106")  # fmt: skip
    sup = next(a for a in svc.audit(tid) if a.action == "supervised")
    assert sup.detail["from_tier"] == "street" and sup.detail["to_tier"] == "district"
    assert "accept deadline missed" in sup.reason
    # the handling deadline is watched too once accepted
    svc.accept(tid, "dept")
    accepted = svc.get(tid)
    assert accepted is not None and svc.next_due() == accepted.handle_due + 1
    clock.advance(12 * 3600 + 1)
    svc.tick()
    t = svc.get(tid)
    assert t is not None and (t.supervise_count, t.tier, t.area_code) == (2, "city", "310000")


def test_supervision_restarts_the_step_and_never_extends_it(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    """A yellow ticket (accept 1h, handle 12h) left lying: each missed accept deadline is
    supervised once and restarts the step, at its own hour for the first three supervisions
    (one tier up each), then at twice the time of the previous restart (2h, 4h ...: a ticket
    nobody takes is pressed less and less often, not every hour for days, up to 2**8 hours);
    the handling deadline is never before the accept deadline; once accepted,
    the handling step is judged on its own deadline and restarted at its normal 12h: the
    accept step's supervisions do not count."""
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    for n in range(1, 15):
        t = svc.get(tid)
        assert t is not None
        clock.set(t.accept_due)
        assert svc.tick() == []  # between deadlines nothing is supervised again
        clock.advance(1)
        assert [o.action for o in svc.tick()] == ["supervised"]
        t = svc.get(tid)
        assert t is not None and t.supervise_count == n
        assert t.accept_due == clock.now() + 3600 * 2 ** min(max(n - 3, 0), 8)
        assert t.accept_due <= t.handle_due
    sup = [a for a in svc.audit(tid) if a.action == "supervised"]
    assert sup[-1].detail["step"] == "accept" and sup[-1].detail["supervise_count"] == 14
    clock.advance(600)
    accepted = svc.accept(tid, "dept")
    assert accepted.handle_due >= clock.now()  # not overdue the moment it is taken
    assert svc.tick() == []
    clock.set(accepted.handle_due + 1)
    assert [o.action for o in svc.tick()] == ["supervised"]
    t = svc.get(tid)
    assert t is not None and t.supervise_count == 15
    assert t.handle_due == clock.now() + 12 * 3600  # 12h, not 12h * 2**14


def test_a_supervisors_supervision_never_gives_more_time(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    before = svc.get(tid)
    assert before is not None
    clock.advance(1800)
    t = svc.supervise(tid, "supervisor-1", "水压投诉集中，请加快处置")
    assert (t.supervised, t.supervise_count, t.tier) == (True, 1, "district")
    assert (t.accept_due, t.handle_due) == (before.accept_due, before.handle_due)
    sup = svc.audit(tid)[-1]
    assert sup.actor == "supervisor-1" and "missed" not in sup.detail
    clock.advance(1801)  # the accept deadline passes: the timer supervises it as usual
    assert [o.action for o in svc.tick()] == ["supervised"]
    svc.accept(tid, "dept")
    taken = svc.get(tid)
    assert taken is not None
    clock.advance(3600)
    again = svc.supervise(tid, "supervisor-1", "请加快")  # in hand, well before its deadline
    assert again.handle_due == taken.handle_due and again.supervise_count == 3
    svc.feedback(tid, "dept", "done")
    # in verification nothing is owed: a 督办 is refused, naming where it applies
    with pytest.raises(InvalidTransitionError, match="verifying; supervise is possible when "
                       "it is accepted or dispatched or handling or reopened"):  # fmt: skip
        svc.supervise(tid, "supervisor-1", "核实")
    t = svc.get(tid)
    assert t is not None and (t.tier, t.supervise_count) == ("city", 3)


def test_audit_details_give_times_in_iso_8601_like_the_rest(
    make_service: ServiceFactory, machine: WarningStateMachine, clock: ManualClock
) -> None:
    from datetime import datetime, timedelta

    from alerts.tickets import DETAIL_TIMES, AuditEntry, iso

    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    created = svc.get(tid)
    assert created is not None
    dispatched = svc.audit(tid)[0].detail
    assert dispatched["accept_due"] == iso(created.accept_due) == "2026-03-01T11:00:00+08:00"
    assert dispatched["handle_due"] == iso(created.handle_due)
    clock.set(created.accept_due + 1)
    svc.tick()  # supervised: missed and the new deadline
    svc.accept(tid, "dept")
    svc.feedback(tid, "dept", "done")
    clock.advance(7201)
    svc.tick()  # still firing: reopened with new deadlines
    svc.reassign(tid, "dispatcher-1", "water", "their main")
    hotline = svc.submit_orders([order("h", T0, code="road_damage")])[0].ticket_id or ""
    times = [
        (a.action, k, v)
        for a in svc.audit(tid) + svc.audit(hotline)
        for k, v in a.detail.items()
        if k in DETAIL_TIMES
    ]
    assert {a for a, _, _ in times} == {"dispatched", "supervised", "verifying", "reopened",
                                        "reassign"}  # fmt: skip
    assert {k for _, k, _ in times} == DETAIL_TIMES
    for _, _, v in times:
        assert isinstance(v, str) and datetime.fromisoformat(v).utcoffset() == timedelta(hours=8)
    sup = next(a for a in svc.audit(tid) if a.action == "supervised")
    assert sup.detail["missed"] == iso(created.accept_due)
    # an entry written with epoch seconds (an older store) reads the same through the API
    old = AuditEntry(1, tid, T0, "system", "verifying", "feedback", "verifying", "x",
                     {"verify_until": T0 + 7200, "data_check": True})  # fmt: skip
    assert old.to_dict()["detail"] == {"verify_until": "2026-03-01T12:00:00+08:00",
                                       "data_check": True}  # fmt: skip


def test_working_hours_deadlines(make_service: ServiceFactory, clock: ManualClock) -> None:
    svc = make_service()  # road_damage orders count working time (accept 1 working day)
    out = svc.submit_orders([order("w", T0, code="road_damage")])[0]  # a Sunday
    t = svc.get(out.ticket_id or "")
    assert t is not None
    monday_9 = T0 + 86400 - 3600  # Monday 09:00 +08:00
    assert t.accept_due == monday_9 + 86400  # one working day from Monday's opening


def test_reassign_comment_and_invalid_requests(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    tid = svc.submit_warnings(fire(machine, [0.16]))[0].ticket_id or ""
    svc.accept(tid, "dept")
    t = svc.reassign(tid, "dispatcher-1", "water", "their main", tier="district")
    assert (t.status, t.department, t.tier, t.area_code) == ("dispatched", "water", "district",
                                                             "310106")  # fmt: skip
    svc.comment(tid, "supervisor-1", "call me at 13912345678")
    last = svc.audit(tid)[-1]
    assert last.action == "comment" and "13912345678" not in last.reason
    with pytest.raises(InvalidTransitionError):
        svc.start(tid, "dept")
    from alerts.tickets import TicketError, TicketNotFoundError

    with pytest.raises(TicketNotFoundError):
        svc.accept("T-nope", "dept")
    with pytest.raises(TicketError, match="department"):
        svc.reassign(tid, "d", "no_such_department", "x")


def test_indicators_that_only_inform_create_no_ticket(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    quiet = make_indicator(id="water.info", dispatch="none")
    svc = make_service(catalog=[quiet])
    m = WarningStateMachine([quiet])
    outs = svc.submit_warnings(fire(m, [0.09], indicator_id="water.info"))
    assert [o.action for o in outs] == ["ignored"] and svc.list_tickets() == []


# ---------------------------------------------------------------------------- outbox
def test_a_transient_store_failure_loses_nothing(
    make_service: ServiceFactory, machine: WarningStateMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = make_service()
    real_begin = svc.store.begin

    def down() -> None:
        raise OperationalError("connect", {}, Exception("database is restarting"))

    monkeypatch.setattr(svc.store, "begin", down)
    outs = svc.submit_warnings(fire(machine, [0.16]))
    outs += svc.submit_orders([order("o1", T0 + 5)])
    assert {o.action for o in outs} == {"queued"} and svc.pending() == 2
    assert svc.last_error is not None
    monkeypatch.setattr(svc.store, "begin", real_begin)
    done = svc.flush()
    assert [o.action for o in done] == ["created", "corroborated"]
    assert svc.pending() == 0 and len(svc.list_tickets()) == 1


def test_a_bad_item_is_dead_lettered_without_blocking_the_rest(
    make_service: ServiceFactory, machine: WarningStateMachine
) -> None:
    svc = make_service()
    bad = HotlineOrder("bad", "road_damage", T0, 31.2, 121.4, "x" * 100)  # too long a code
    outs = svc.submit_orders([bad, order("good", T0)])
    assert [o.action for o in outs] == ["dead-letter", "created"] or (
        # SQLite does not enforce VARCHAR lengths: then both are simply applied
        [o.action for o in outs] == ["created", "created"]
    )
    assert svc.pending() == 0


def test_outbox_journal_survives_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    from alerts.outbox import OutboxItem

    box = Outbox(path)
    box.put_many([OutboxItem("a", "order", {"n": 1}), OutboxItem("b", "order", {"n": 2})])
    box.ack_many(["a"])
    with path.open("a") as f:
        f.write('{"op": "put", "key": "c", "kin')  # torn write of a crash
    reopened = Outbox(path)
    assert [i.key for i in reopened.pending()] == ["b"]
    reopened.ack_many(["b"])
    assert path.read_text() == "" and len(Outbox(path)) == 0


def test_queued_items_are_applied_after_a_process_restart(
    make_service: ServiceFactory, machine: WarningStateMachine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    journal = tmp_path / "outbox.jsonl"
    svc = make_service(outbox=Outbox(journal))

    def down() -> None:
        raise OperationalError("connect", {}, Exception("down"))

    monkeypatch.setattr(svc.store, "begin", down)
    svc.submit_warnings(fire(machine, [0.16]))
    assert svc.pending() == 1
    monkeypatch.undo()
    fresh = make_service(outbox=Outbox(journal))  # the process died; a new one starts
    assert fresh.pending() == 1
    assert [o.action for o in fresh.flush()] == ["created"]
    assert len(fresh.list_tickets()) == 1


def test_alert_resolved_before_acceptance_closes(
    make_service: ServiceFactory,
) -> None:
    cfg = RoutingConfig()
    svc: TicketService = make_service(routing=cfg)
    from alerts.alertmanager import AlertmanagerPayload, to_events

    def payload(status: str) -> AlertmanagerPayload:
        return AlertmanagerPayload.model_validate({
            "version": "4", "groupKey": "g", "status": status, "receiver": "citysigns",
            "alerts": [{"status": status, "labels": {"alertname": "GasLeak", "severity": "major",
                                                     "area": "310106003", "department": "gas"},
                        "startsAt": "2026-03-01T10:00:00+08:00",
                        "endsAt": "2026-03-01T10:30:00+08:00", "fingerprint": "f00d"}],
        })  # fmt: skip

    ((ev, d),) = to_events(payload("firing"), svc.catalog)
    assert svc.submit_warnings([ev], dispatch=d, origin="alert")[0].action == "created"
    (t,) = svc.list_tickets()
    assert (t.department, t.level, t.tier) == ("gas", "orange", "district")
    ((rv, d2),) = to_events(payload("resolved"), svc.catalog)
    assert svc.submit_warnings([rv], dispatch=d2, origin="alert")[0].action == "closed"


def test_a_dispatch_summary_counts_supervisions_and_tickets_apart() -> None:
    from alerts.feed import FeedCounts
    from alerts.service import Outcome

    counts = FeedCounts()
    counts.add([Outcome("T-a", "supervised", "T-a")] * 3 + [Outcome("T-b", "supervised", "T-b")])
    counts.add([Outcome("k", "created", "T-a")])
    assert counts.summary() == "created 1, supervisions 4 (of 2 tickets)"
