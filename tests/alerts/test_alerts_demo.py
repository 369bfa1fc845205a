"""The demo driver: a replay shows a supervised overdue ticket, a verified close and a reopen,
and the ticket table renders them."""

from __future__ import annotations

import io

from rich.console import Console

from alerts.clock import ManualClock
from alerts.demo import DepartmentScript, drive, print_ticket_table
from alerts.hotline import HotlineOrder
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
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


def test_drive_shows_supervision_close_and_reopen(
    make_service: ServiceFactory, clock: ManualClock
) -> None:
    svc = make_service()
    orders = [HotlineOrder(f"o{i}", "water_outage", T0 + 900 * 14 + 60 * i, 31.23, 121.45,
                           "310106003001001") for i in range(5)]  # fmt: skip
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

    for width in (160, 80):
        buf = io.StringIO()
        print_ticket_table(result.tickets, Console(file=buf, width=width))
        text = buf.getvalue()
        assert all(t.id in text for t in result.tickets)
        assert "督办" in text and "重办" in text
        if width == 160:
            assert "corroborated by 5 hotline orders" in text
