"""Ticket counts from the store reach the Prometheus exposition: open by status, overdue,
supervised, and closed by whether the handle deadline was met."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.ticket_metrics import TicketCountsRefresher, read_ticket_counts
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
