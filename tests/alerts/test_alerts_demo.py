"""The demo driver: a replay shows a supervised overdue ticket, a verified close and a reopen,
and the ticket table renders them."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from alerts.clock import ManualClock
from alerts.demo import DepartmentScript, _when, drive, print_ticket_table
from alerts.hotline import HotlineOrder
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
from citysigns.demo import dispatch_summary
from tests.alerts.alerts_helpers import T0, make_indicator
from tests.alerts.conftest import ServiceFactory

STREETS = ["310106001", "310106002", "310106003"]
LOW = {"310106001": range(4, 10), "310106002": range(8, 14), "310106003": range(12, 40)}


def replay() -> list[ScoredBatch]:
    out = []
    for k in range(60):
        end = T0 + 900 * (k + 1)
        values = [0.16 if k in LOW[s] else 0.31 for s in STREETS]
        out.append(ScoredBatch.from_columns(
            indicator_id=["water.pressure"] * 3, area_code=STREETS, area_level=["street"] * 3,
            window_start=[end - 900] * 3, window_end=[end] * 3, value=values,
            lower=[0.28] * 3, upper=[0.35] * 3, detectors="threshold"))  # fmt: skip
    return out


def outage_calls() -> list[HotlineOrder]:
    """Five no-water calls in one street, a minute apart, three and a half hours in."""
    return [HotlineOrder(f"o{i}", "water_outage", T0 + 900 * 14 + 60 * i, 31.23, 121.45,
                         "310106003001001") for i in range(5)]  # fmt: skip


def test_drive_shows_supervision_close_and_reopen(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    orders = outage_calls()
    result = drive(
        replay(),
        orders,
        clock,
        svc,
        WarningStateMachine([make_indicator()]),
        DepartmentScript(accept_after=600, handle_after=3600, ignore_first=1),
    )
    by_street = {t.incident_unit: t for t in result.tickets}
    overdue, quick, long_ = (by_street[s] for s in STREETS)
    assert overdue.supervised and overdue.status == "dispatched" and overdue.tier != "street"
    assert quick.status == "closed" and quick.reopen_count == 0
    assert long_.reopen_count >= 1 and long_.order_count == 5
    # the crew works twice as long before each report after the data proved the last one wrong
    trail = [(e.action, e.at) for e in svc.audit(long_.id)]
    accepted = [at for action, at in trail if action == "accept"]
    reported = [at for action, at in trail if action == "feedback"]
    assert len(reported) >= 2
    worked = [r - a for a, r in zip(accepted, reported, strict=False)]
    assert 3600 <= worked[0] < 2 * 3600 <= worked[1], worked
    assert result.count("supervised") >= 1 and result.count("reopened") >= 1
    assert result.summary()["tickets"] == 3
    assert len(result.warnings) == 6  # three incidents fire and resolve

    for width in (400, 160, 80):
        buf = io.StringIO()
        print_ticket_table(result.tickets, Console(file=buf, width=width))
        text = buf.getvalue()
        assert all(t.id in text for t in result.tickets)
        assert "督办" in text and "重办" in text
        if width == 400:  # wide enough that no summary wraps
            assert "corroborated by 5 hotline orders" in text


def test_the_clock_stops_at_the_end_of_the_data(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    """A flow flushes its last windows when its input ends, and they end after the data; the
    driver neither follows them nor drains past `until`: nothing is dated after the data."""
    svc = make_service()
    until = T0 + 900 * 30
    result = drive(replay(), [], clock, svc, WarningStateMachine([make_indicator()]),
                   DepartmentScript(ignore_first=1), until=until)  # fmt: skip
    assert clock.now() == until
    latest = max(e.at for t in result.tickets for e in svc.audit(t.id))
    assert latest <= until
    assert any(t.is_open for t in result.tickets)  # still in hand when the data ends


def test_the_due_column_of_a_closed_ticket_shows_its_deadline(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    result = drive(replay(), [], clock, svc, WarningStateMachine([make_indicator()]),
                   DepartmentScript(ignore_first=1))  # fmt: skip
    closed = next(t for t in result.tickets if t.status == "closed")
    buf = io.StringIO()
    print_ticket_table([closed], Console(file=buf, width=200))
    text = buf.getvalue()
    due = _when(closed.handle_due_original or closed.handle_due, "Asia/Shanghai")
    assert "handle by" in text and due in text
    assert f"closed {_when(closed.closed_at, 'Asia/Shanghai')}" in text


def test_the_demo_summary_counts_what_each_line_says(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    orders = outage_calls()
    result = drive(replay(), orders, clock, svc, WarningStateMachine([make_indicator()]),
                   DepartmentScript(ignore_first=1))  # fmt: skip
    # one ticket reopened twice: the reopenings are events, not tickets
    tickets = [replace(t, reopen_count=t.reopen_count + 1) if t.reopen_count else t
               for t in svc.list_tickets()]  # fmt: skip
    lines = dispatch_summary(tickets, 0)
    reopened = [t for t in tickets if t.reopen_count]
    assert sum(t.reopen_count for t in reopened) > len(reopened)
    assert (f"reopenings {sum(t.reopen_count for t in reopened)} "
            f"(of {len(reopened)} tickets)") in lines[2]  # fmt: skip
    supervised = [t for t in tickets if t.supervised]
    assert (f"{sum(t.supervise_count for t in supervised)} "
            f"(of {len(supervised)} tickets)") in lines[2]  # fmt: skip
    closed = sum(t.status == "closed" for t in tickets)
    assert lines[1].startswith(f"closed {closed}: ")
    # an incident closed without a data check (cleared on windows too thin to judge) is not
    # counted as having stayed normal
    inc = [t for t in tickets if t.warning_count > 0 and t.status == "closed"]
    assert inc
    said = dispatch_summary(tickets, 0, {inc[0].id})[1]
    assert f"{len(inc) - 1} incidents after their indicators stayed normal" in said
    assert "1 incident without a data check (too few records to judge), " in said
    assert (
        "3 incidents with warnings behind them (above: 3 opened by a warning, 0 by a" in (lines[0])
    )
    assert result.count("linked") == 0
