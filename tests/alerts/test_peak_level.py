"""A ticket's peak level is a first-class part of it: listed, filtered, shown and counted.

`level` is the worst warning still firing, so an incident that was orange reads "blue" once its
last warning cleared at blue; "the orange incidents" are those whose `peak_level` is orange."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import delete, text, update

from alerts import schema
from alerts.api import create_app
from alerts.auth import TokenRegistry, TokenSpec
from alerts.demo import print_ticket_table
from alerts.events import WarningEvent
from alerts.service import TicketService
from alerts.store import TicketFilter
from alerts.warning_state import WarningStateMachine
from indicators.backtest.report import per_level_line
from tests.alerts.alerts_helpers import T0, make_indicator, windows
from tests.alerts.conftest import ServiceFactory


def _fire(machine: WarningStateMachine, values: list[float], area: str, start: int = T0,
          **kw: object) -> list[WarningEvent]:  # fmt: skip
    out: list[WarningEvent] = []
    for b in windows(values, area=area, start=start, **kw):  # type: ignore[arg-type]
        out.extend(machine.process(b))
    return out


@pytest.fixture
def cleared_orange(make_service: ServiceFactory) -> tuple[TicketService, str]:
    """An incident that was orange (a street warning) and closed its warnings at blue (a grid
    warning that outlived it): level blue, peak orange."""
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    tid = svc.submit_warnings(_fire(machine, [0.13], "310106003"))[0].ticket_id or ""
    svc.submit_warnings(_fire(machine, [0.19, 0.19], "310106003001", level="grid"))
    svc.submit_warnings(_fire(machine, [0.3, 0.3], "310106003", start=T0 + 900))
    svc.submit_warnings(_fire(machine, [0.3, 0.3], "310106003001", start=T0 + 4500, level="grid"))
    t = svc.get(tid)
    assert t is not None and (t.level, t.firing_count) == ("blue", 0)
    return svc, tid


def test_the_peak_level_is_a_column_the_list_filters_on(
    cleared_orange: tuple[TicketService, str],
) -> None:
    svc, tid = cleared_orange
    t = svc.get(tid)
    assert t is not None and t.peak_level == "orange"
    assert [x.id for x in svc.list_tickets(TicketFilter(peak_level="orange"))] == [tid]
    assert svc.list_tickets(TicketFilter(peak_level="blue")) == []
    assert svc.list_tickets(TicketFilter(level="orange")) == []  # `level` is the level now


def test_the_api_lists_and_filters_by_peak_level(
    cleared_orange: tuple[TicketService, str],
) -> None:
    svc, tid = cleared_orange
    registry = TokenRegistry([TokenSpec(name="v", role="read-only", scope="*", token="s" * 24)])
    with TestClient(create_app(svc, registry)) as c:
        h = {"Authorization": "Bearer " + "s" * 24}
        found = c.get("/tickets?peak_level=orange", headers=h).json()["tickets"]
        assert [(x["id"], x["level"], x["peak_level"]) for x in found] == [(tid, "blue", "orange")]
        assert c.get("/tickets?peak_level=red", headers=h).json()["tickets"] == []
        assert c.get("/tickets?peak_level=purple", headers=h).status_code == 422


def test_stores_written_before_the_column_take_the_peak_from_the_evidence(
    cleared_orange: tuple[TicketService, str],
) -> None:
    """Migration 5 backfills the column from `evidence.peak_level`; a row still without it
    (read before migrating) falls back to the evidence too."""
    svc, tid = cleared_orange
    with svc.store.engine.begin() as conn:
        conn.execute(update(schema.tickets).values(peak_level=None))
        assert svc.store.get(conn, tid).peak_level == "orange"  # type: ignore[union-attr]
        # a store of schema version 4: no column, no index
        conn.execute(text("DROP INDEX ix_tickets_peak_level"))
        conn.execute(text("ALTER TABLE tickets DROP COLUMN peak_level"))
        conn.execute(delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version >= 5))  # fmt: skip
    assert svc.store.migrate()[0] == 5
    with svc.store.engine.begin() as conn:
        row = conn.execute(schema.tickets.select()).mappings().one()
    assert row["peak_level"] == "orange" and json.loads(row["evidence"])["peak_level"] == "orange"
    assert [x.id for x in svc.list_tickets(TicketFilter(peak_level="orange"))] == [tid]


def test_the_demo_table_shows_the_peak(cleared_orange: tuple[TicketService, str]) -> None:
    svc, _ = cleared_orange
    buf = io.StringIO()
    print_ticket_table(svc.list_tickets(), Console(file=buf, width=200))
    assert "blue (peak orange)" in buf.getvalue()


def test_counts_per_level_read_as_a_line() -> None:
    assert per_level_line({"blue": 940, "red": 5, "orange": 1200}) == (
        "blue 940, yellow 0, orange 1,200, red 5"
    )


def test_the_last_resolution_still_names_the_incidents_worst_warning(
    cleared_orange: tuple[TicketService, str],
) -> None:
    """The incident's orange street warning cleared before its blue grid warning: the summary
    is the grid's resolution, and names the orange one, its area and its worst value (its
    window by its start, 10:00-10:15, as the resolution names its own), the lowest pressure
    of a `below` rule, as the warning's own sentence words it: "peak 0.13 MPa" read as if
    the pressure had risen."""
    svc, tid = cleared_orange
    t = svc.get(tid)
    assert t is not None
    assert t.summary_en.startswith("310106, 310106003, 310106003001: ")  # the grid's own
    assert "blue warning cleared" in t.summary_en
    assert t.summary_en.endswith(
        "; worst: 310106, 310106003 water pressure orange warning, lowest 0.13 MPa at 10:00"
    ), t.summary_en
    worst_zh = "; 最严重: 310106 310106003 供水压力橙色预警, 最低 0.13 MPa (10:00)"
    assert t.summary_zh.endswith(worst_zh)
    street = next(w for w in svc.warnings(tid) if w["area_code"] == "310106003")
    assert t.evidence["peak_warning"] == street["warning_id"]


def test_a_worst_warning_stored_without_its_rule_is_worded_as_the_catalog_says(
    make_service: ServiceFactory,
) -> None:
    """A store written before explanations kept the rule's `on` and `direction`: the worst
    clause takes them from the catalog, and still says "lowest" of a pressure drop."""
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    tid = svc.submit_warnings(_fire(machine, [0.13], "310106003"))[0].ticket_id or ""
    svc.submit_warnings(_fire(machine, [0.19, 0.19], "310106003001", level="grid"))
    svc.submit_warnings(_fire(machine, [0.3, 0.3], "310106003", start=T0 + 900))
    with svc.store.engine.begin() as conn:
        svc.store.flush_writes(conn)
        rows = conn.execute(schema.ticket_warnings.select()).mappings().all()
        for row in rows:
            x = json.loads(row["explanation"])
            x.pop("on"), x.pop("direction")
            conn.execute(
                update(schema.ticket_warnings)
                .where(schema.ticket_warnings.c.warning_id == row["warning_id"])
                .values(explanation=json.dumps(x))
            )
    svc.submit_warnings(_fire(machine, [0.3, 0.3], "310106003001", start=T0 + 4500, level="grid"))
    t = svc.get(tid)
    assert t is not None and t.firing_count == 0
    assert t.summary_en.endswith("orange warning, lowest 0.13 MPa at 10:00"), t.summary_en
    assert t.summary_zh.endswith("供水压力橙色预警, 最低 0.13 MPa (10:00)"), t.summary_zh


def test_a_warning_that_was_the_worst_and_clears_last_says_its_peak_once(
    make_service: ServiceFactory,
) -> None:
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    tid = svc.submit_warnings(_fire(machine, [0.13], "310106003"))[0].ticket_id or ""
    (cleared,) = _fire(machine, [0.3, 0.3], "310106003", start=T0 + 900)
    svc.submit_warnings([cleared])
    t = svc.get(tid)
    assert t is not None and t.summary_en == cleared.text_en and "worst" not in t.summary_en


def test_a_last_warning_clearing_at_the_peak_level_names_no_other(
    make_service: ServiceFactory,
) -> None:
    """Two orange warnings: the second to clear says as much as the first would."""
    svc = make_service()
    machine = WarningStateMachine([make_indicator()])
    tid = svc.submit_warnings(_fire(machine, [0.13], "310106003"))[0].ticket_id or ""
    svc.submit_warnings(_fire(machine, [0.13], "310106003001", level="grid"))
    svc.submit_warnings(_fire(machine, [0.3, 0.3], "310106003", start=T0 + 900))
    (last,) = _fire(machine, [0.3, 0.3], "310106003001", start=T0 + 900, level="grid")
    svc.submit_warnings([last])
    t = svc.get(tid)
    assert t is not None and t.firing_count == 0 and t.summary_en == last.text_en


def test_the_incidents_worst_warning_on_sliding_windows_is_named_by_its_end(
    make_service: ServiceFactory,
) -> None:
    """2-hour windows every 15 minutes: the worst window 08:15-10:15 is named "in the 2 h to
    10:15", as the warning's own resolution names it; by its start, "at 08:15", it read as
    hours before the warning began."""
    value = {"field": "pressure", "aggregate": "mean",
             "window": {"type": "sliding", "length": "2h", "step": "15m"},
             "levels": ["street", "district", "grid"]}  # fmt: skip
    ind = make_indicator(value=value)
    svc = make_service(catalog=[ind])
    machine = WarningStateMachine([ind])

    def fire(values: list[float], area: str, start: int, level: str) -> list[WarningEvent]:
        out: list[WarningEvent] = []
        for b in windows(values, area=area, start=start, level=level):
            b.window_start[:] = b.window_end - 7200  # (as the flow gives a sliding window)
            out.extend(machine.process(b))
        return out

    tid = svc.submit_warnings(fire([0.13], "310106003", T0, "street"))[0].ticket_id or ""
    svc.submit_warnings(fire([0.19, 0.19], "310106003001", T0, "grid"))
    svc.submit_warnings(fire([0.3, 0.3], "310106003", T0 + 900, "street"))
    svc.submit_warnings(fire([0.3, 0.3], "310106003001", T0 + 4500, "grid"))
    t = svc.get(tid)
    assert t is not None and t.level == "blue"
    assert t.summary_en.endswith(
        "; worst: 310106, 310106003 water pressure orange warning, lowest 0.13 MPa in the 2 h "
        "to 10:15"
    ), t.summary_en
    assert t.summary_zh.endswith("最低 0.13 MPa (截至10:15的2小时)"), t.summary_zh
