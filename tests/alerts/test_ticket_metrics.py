"""Ticket counts from the store reach the Prometheus exposition: open by status, overdue,
supervised, and closed by whether the handle deadline was met."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.ticket_metrics import TicketCountsRefresher, data_time, read_ticket_counts
from alerts.warning_state import WarningStateMachine
from flows.metrics import CitySignsMetrics
from flows.metrics import serve as serve_metrics
from tests.alerts.alerts_helpers import T0, make_indicator, windows
from tests.alerts.conftest import ServiceFactory


def _fire(
    machine: WarningStateMachine, area: str, *values: float, start: int = T0
) -> list[WarningEvent]:
    out: list[WarningEvent] = []
    for b in windows(list(values), area=area, start=start):
        out.extend(machine.process(b))
    return out


def test_counts_follow_the_lifecycle(make_service: ServiceFactory, clock: ManualClock) -> None:
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    jingan = svc.submit_warnings(_fire(machine, "310106003", 0.16))[0].ticket_id or ""
    svc.submit_warnings(_fire(machine, "310104002", 0.16))  # Xuhui: another incident
    counts = read_ticket_counts(svc.store, clock.now())
    assert counts.open == {("dispatched", "water_supply", "street", "yellow"): 2}
    assert counts.overdue == {} and counts.closed == {}

    clock.advance(3601)  # past the yellow accept deadline of 1h: overdue until the next tick
    counts = read_ticket_counts(svc.store, clock.now())
    assert counts.overdue == {("water_supply", "street", "yellow"): 2}
    svc.tick()  # supervised: escalated one tier up, with a new deadline
    counts = read_ticket_counts(svc.store, clock.now())
    assert counts.supervised == {("water_supply", "district", "yellow"): 2}
    assert counts.overdue == {}

    svc.accept(jingan, "jingan-water")
    svc.feedback(jingan, "jingan-water", "valve replaced")
    svc.submit_warnings(_fire(machine, "310106003", 0.3, 0.3, 0.3, start=T0 + 900))
    clock.advance(7201)
    svc.tick()
    counts = read_ticket_counts(svc.store, clock.now())
    assert counts.closed == {("water_supply", "met"): 1}
    assert sum(counts.open.values()) == 1


def test_a_supervision_does_not_turn_a_late_ticket_into_a_met_deadline(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Accepted, then the 12h handling deadline passes: the timer supervises the ticket and
    restarts the step (12h from then).  Feedback within that restart is still late."""
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    tid = svc.submit_warnings(_fire(machine, "310106003", 0.16))[0].ticket_id or ""
    first = svc.accept(tid, "jingan-water")
    assert first.handle_due_original == first.handle_due
    clock.set(first.handle_due + 1)
    assert [o.action for o in svc.tick()] == ["supervised"]
    t = svc.get(tid)
    assert t is not None and t.handle_due > first.handle_due
    assert t.handle_due_original == first.handle_due  # supervision does not move it
    clock.advance(3600)  # before the restarted deadline, 1h after the one first given
    svc.feedback(tid, "jingan-water", "valve replaced")
    svc.submit_warnings(_fire(machine, "310106003", 0.3, 0.3, 0.3, start=T0 + 900))
    clock.advance(7201)
    assert [o.action for o in svc.tick()] == ["closed"]
    assert read_ticket_counts(svc.store, clock.now()).closed == {("water_supply", "missed"): 1}


def test_a_store_made_before_the_original_deadline_existed_is_migrated(tmp_path: Path) -> None:
    """The column is added to an older store and filled with each ticket's handle_due."""
    from sqlalchemy import delete, text

    from alerts import schema
    from alerts.store import TicketStore

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = TicketStore.from_url(url)
    with store.begin() as conn:  # back to version 3: the tickets table as it was then
        conn.execute(delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version >= 4))  # fmt: skip
        conn.execute(text("ALTER TABLE tickets DROP COLUMN handle_due_original"))
        row = {c.name: 0 for c in schema.tickets.c if c.name != "handle_due_original"}
        row.update(id="T-old", origin="warning", family="water", category="water",
                   incident_key="k", incident_area="310106", incident_unit="310106",
                   area_code="310106", tier="district", department="water_supply",
                   level="yellow", status="closed", title_zh="", title_en="", summary_zh="",
                   summary_en="", evidence="{}", supervised=False, working_hours_only=False,
                   unit_district="310106", unit_street=None, unit_grid=None, service_code=None,
                   description=None, lat=None, long=None, accepted_at=None,
                   feedback_notes=None, verify_until=None, handle_due=T0,
                   feedback_at=T0 - 60, closed_at=T0)  # fmt: skip
        columns = ", ".join(row)
        values = ", ".join(f":{k}" for k in row)
        conn.execute(text(f"INSERT INTO tickets ({columns}) VALUES ({values})"), row)
    store.dispose()
    again = TicketStore.from_url(url)
    try:
        with again.begin() as conn:
            t = again.get(conn, "T-old")
        assert t is not None and t.handle_due_original == T0
        assert again.migrate() == []
        assert read_ticket_counts(again, T0).closed == {("water_supply", "met"): 1}
    finally:
        again.dispose()


def test_refresher_exports_counts_over_http(make_service: ServiceFactory) -> None:
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    svc.submit_warnings(_fire(machine, "310106003", 0.16))
    metrics = CitySignsMetrics.for_catalog([make_indicator()], tickets_only=True)  # as serve's
    refresher = TicketCountsRefresher(svc.store, metrics, every=3600, clock=lambda: T0)
    assert refresher.refresh()
    server = serve_metrics(metrics, port=0, addr="127.0.0.1")
    try:
        text = urllib.request.urlopen(server.url, timeout=5).read().decode()
    finally:
        server.stop()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    key = (
        "citysigns_tickets",
        (("department", "water_supply"), ("level", "yellow"), ("status", "dispatched"),
         ("tier", "street")),
    )  # fmt: skip
    assert samples[key] == 1.0
    # the ticket families alone: none of the flow's (dead letters, batches, indicator series)
    names = {fam.name for fam in text_string_to_metric_families(text)}
    assert names and all(n.startswith("citysigns_ticket") for n in names), sorted(names)


def test_a_store_that_cannot_be_read_keeps_the_last_counts(make_service: ServiceFactory) -> None:
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    svc.submit_warnings(_fire(machine, "310106003", 0.16))
    metrics = CitySignsMetrics.for_catalog([make_indicator()])
    refresher = TicketCountsRefresher(svc.store, metrics, every=3600, clock=lambda: T0, service=svc)
    assert refresher.refresh()
    assert metrics.snapshot().store == (True, 0, 0)
    with svc.store.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tickets RENAME TO tickets_gone")
    assert not refresher.refresh()
    assert refresher.failures == 1
    assert metrics.snapshot().tickets.open  # the last good counts are still shown
    assert metrics.snapshot().store == (False, 0, 0)  # and the store shows as down


def test_counts_at_the_store_s_own_time(make_service: ServiceFactory, clock: ManualClock) -> None:
    """`serve --no-timers` counts overdue tickets at the store's latest signal, the data's
    time: an action taken through the API months later (stamped on the wall clock) does not
    move it, so a replay's store does not turn overdue on today's date."""
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    jingan = svc.submit_warnings(_fire(machine, "310106003", 0.16))[0].ticket_id or ""
    svc.submit_warnings(_fire(machine, "310104002", 0.16))
    with svc.store.begin() as conn:
        signal = data_time(conn)
    assert signal is not None and signal < T0 + 3600  # before the yellow accept deadline
    assert read_ticket_counts(svc.store, None).overdue == {}
    clock.advance(275 * 86400)
    svc.accept(jingan, "jingan-water")  # nine months on
    with svc.store.begin() as conn:
        assert data_time(conn) == signal
    assert read_ticket_counts(svc.store, None).overdue == {}
    assert read_ticket_counts(svc.store, clock.now()).overdue == {
        ("water_supply", "street", "yellow"): 2
    }
