"""The ticket store on a real PostgreSQL (started by the session fixture): migrations, the same
scenario giving the same tickets as on SQLite, and an outage that loses nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from alerts import schema
from alerts.clock import ManualClock
from alerts.hotline import HotlineOrder
from alerts.service import TicketService
from alerts.store import TicketStore
from alerts.warning_state import WarningStateMachine
from tests.alerts.alerts_helpers import T0, make_indicator, surge_indicator, windows
from tests.alerts.conftest import PgServer, ServiceFactory

pytestmark = pytest.mark.integration


def scenario(svc: TicketService, clock: ManualClock) -> list[tuple[object, ...]]:
    """Warnings, hotline orders and department actions; returns what the store ends with."""
    m = WarningStateMachine([make_indicator(), surge_indicator()])
    for area, values in (
        ("310106003", [0.19, 0.19, 0.16, 0.16, 0.3, 0.3, 0.3]),
        ("310106004", [0.16, 0.16]),
        ("310115001", [0.19, 0.19]),
    ):
        for b in windows(values, area=area):
            svc.submit_warnings(m.process(b))
    svc.submit_orders([
        HotlineOrder("o1", "water_outage", T0 + 100, 31.23, 121.47, "310106004001001"),
        HotlineOrder("o2", "road_damage", T0 + 200, 31.23, 121.47, "310106004001001"),
        HotlineOrder("o3", "road_damage", T0 + 300, 31.23001, 121.47, "310106004001001"),
    ])  # fmt: skip
    tickets = sorted(svc.list_tickets(), key=lambda t: t.id)
    clock.advance(600)
    svc.accept(tickets[0].id, "dept")
    svc.feedback(tickets[0].id, "dept", "fixed")
    clock.advance(86400)
    svc.tick()
    out: list[tuple[object, ...]] = []
    for t in sorted(svc.list_tickets(), key=lambda t: t.id):
        out.append((t.id, t.status, t.level, t.tier, t.area_code, t.warning_count,
                    t.order_count, t.supervise_count, t.reopen_count, t.accept_due,
                    tuple(a.action for a in svc.audit(t.id))))  # fmt: skip
    out.append(("next due", svc.next_due()))  # the store's own query, on either backend
    return out


def test_migrations_on_postgres(pg_url: str) -> None:
    store = TicketStore.from_url(pg_url)
    assert store.migrate() == []  # from_url migrated already: nothing left to do
    names = set(inspect(store.engine).get_table_names())
    assert {"tickets", "ticket_warnings", "ticket_orders", "applied_keys", "audit",
            "schema_migrations"} <= names  # fmt: skip
    with store.begin() as conn:
        versions: list[int] = list(
            conn.execute(select(schema.schema_migrations.c.version)).scalars()
        )
    assert versions == [v for v, _, _ in schema.MIGRATIONS]
    store.dispose()


def test_same_scenario_same_tickets_on_sqlite_and_postgres(
    pg_url: str, make_service: ServiceFactory, sqlite_url: str
) -> None:
    on_sqlite = scenario(make_service(sqlite_url, clock=(c1 := ManualClock(T0))), c1)
    on_pg = scenario(make_service(pg_url, clock=(c2 := ManualClock(T0))), c2)
    assert on_pg == on_sqlite
    *tickets, (_, next_due) = on_pg
    statuses = {row[1] for row in tickets}
    assert len(tickets) == 4 and "verifying" not in statuses  # the tick judged verification
    assert sum(int(str(row[6])) for row in tickets) == 3  # o1 corroborates, o3 is linked to o2
    assert next_due == min(int(str(row[9])) for row in tickets if row[1] == "dispatched") + 1


def test_an_outage_loses_no_ticket_and_duplicates_none(
    pg_server: PgServer, pg_url: str, make_service: ServiceFactory
) -> None:
    svc = make_service(pg_url)
    m = WarningStateMachine([make_indicator()])
    first = svc.submit_warnings(m.process(windows([0.16], area="310106003")[0]))
    assert first[0].action == "created"
    pg_server.stop()
    try:
        during = svc.submit_warnings(m.process(windows([0.16], area="310106009")[0]))
        during += svc.submit_orders([HotlineOrder("o9", "road_damage", T0, 31.2, 121.4,
                                                  "310106009001001")])  # fmt: skip
        assert {o.action for o in during} == {"queued"}
        assert svc.pending() == 2 and svc.last_error is not None
        assert svc.flush() == []  # still down: nothing applied, nothing lost
    finally:
        pg_server.start()
    applied = svc.flush()
    assert [o.action for o in applied] == ["created", "created"]
    assert svc.pending() == 0 and len(svc.list_tickets()) == 3
    # the same events replayed by a restarted flow change nothing
    replay = WarningStateMachine([make_indicator()])
    again = svc.submit_warnings(replay.process(windows([0.16], area="310106009")[0]))
    assert [o.action for o in again] == ["already-applied"]
    assert len(svc.list_tickets()) == 3


def test_two_processes_apply_each_event_once(pg_url: str, make_service: ServiceFactory) -> None:
    a, b = make_service(pg_url), make_service(pg_url)
    events = WarningStateMachine([make_indicator()]).process(windows([0.09])[0])
    assert a.submit_warnings(events)[0].action == "created"
    assert b.submit_warnings(events)[0].action == "already-applied"
    assert len(b.list_tickets()) == 1
