"""A chunk of inbound items is applied in one transaction with its reads asked once and its
writes held and sent together; the rows must end exactly as if every item had been applied
alone, in order, one transaction each.  The streams here put creations, merges into a ticket
created earlier in the same chunk, escalations across tiers, de-escalations and resolutions
of one warning inside one chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts import schema as s
from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.hotline import HotlineOrder
from alerts.service import TicketService
from alerts.store import TicketStore
from alerts.warning_state import WarningStateMachine
from tests.alerts.alerts_helpers import T0, concat, make_indicator, surge_indicator, windows
from tests.alerts.conftest import ServiceFactory

# per street: the pressure of each 15-minute window (blue, yellow, orange at district tier,
# red at city tier, then back to normal); streets of two districts, staggered
SHAPES = [
    [0.3, 0.19, 0.19, 0.16, 0.13, 0.3, 0.3, 0.3],
    [0.3, 0.3, 0.19, 0.19, 0.16, 0.16, 0.3, 0.3],
    [0.19, 0.19, 0.13, 0.08, 0.08, 0.3, 0.3, 0.3],
    [0.3, 0.3, 0.3, 0.19, 0.19, 0.13, 0.13, 0.3],
    [0.19, 0.19, 0.16, 0.16, 0.19, 0.19, 0.19, 0.3],
]
STREETS = [
    "310106003",
    "310106004",
    "310104001",
    "310104002",
    "310106005",
    "310104003",
    "310106006",
]


def events() -> list[WarningEvent]:
    machine = WarningStateMachine([make_indicator(), surge_indicator()])
    per_street = [windows(SHAPES[i % len(SHAPES)], area=a) for i, a in enumerate(STREETS)]
    out: list[WarningEvent] = []
    for k in range(len(SHAPES[0])):
        out.extend(machine.process(concat([w[k] for w in per_street])))
    return out


def orders() -> list[HotlineOrder]:
    return [
        HotlineOrder(f"o{i}", "water_outage", T0 + 600 * i, 31.23, 121.47,
                     f"{STREETS[i % 3]}001001", "没水")
        for i in range(6)
    ]  # fmt: skip


def rows(store: TicketStore) -> dict[str, list[tuple[Any, ...]]]:
    with store.begin() as conn:
        return {
            "tickets": [tuple(r) for r in conn.execute(select(s.tickets).order_by(s.tickets.c.id))],
            "warnings": [tuple(r) for r in conn.execute(select(s.ticket_warnings).order_by(
                s.ticket_warnings.c.ticket_id, s.ticket_warnings.c.warning_id))],
            "orders": [tuple(r) for r in conn.execute(
                select(s.ticket_orders).order_by(s.ticket_orders.c.order_id))],
            "audit": [tuple(r) for r in conn.execute(select(s.audit).order_by(s.audit.c.id))],
            "applied": [tuple(r) for r in conn.execute(
                select(s.applied_keys).order_by(s.applied_keys.c.key))],
        }  # fmt: skip


def apply(svc: TicketService, chunk: int) -> None:
    """Everything queued first, then applied `chunk` items per transaction."""
    with svc._lock:
        real_flush = svc.flush
        svc.flush = lambda chunk=chunk: []  # type: ignore[method-assign]
        try:
            svc.submit_warnings(events())
            svc.submit_orders(orders())
        finally:
            svc.flush = real_flush  # type: ignore[method-assign]
        svc.flush(chunk=chunk)


@pytest.mark.parametrize("chunk", [500, 7])
def test_a_chunk_ends_as_items_applied_one_by_one(
    make_service: ServiceFactory, tmp_path: Path, clock: ManualClock, chunk: int
) -> None:
    evs = events()
    assert {e.kind for e in evs} >= {"firing", "escalated", "deescalated", "resolved"}
    alone = make_service(f"sqlite:///{tmp_path / 'alone.db'}")
    together = make_service(f"sqlite:///{tmp_path / 'together.db'}")
    apply(alone, 1)
    apply(together, chunk)
    assert alone.pending() == together.pending() == 0
    expected, got = rows(alone.store), rows(together.store)
    assert expected["tickets"], "the stream must create tickets"
    # merges happened (fewer tickets than first events) and some ticket moved tier
    firing = sum(e.kind == "firing" for e in evs)
    assert len(expected["tickets"]) < firing
    assert any(r[4] == "escalated" for r in expected["audit"])  # (id, ticket, at, actor, action)
    for table in expected:
        assert got[table] == expected[table], table


def test_a_chunk_applied_twice_changes_nothing(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    svc = make_service(f"sqlite:///{tmp_path / 'twice.db'}")
    apply(svc, 500)
    before = rows(svc.store)
    outs = svc.submit_warnings(events())
    assert {o.action for o in outs} == {"already-applied"}
    assert rows(svc.store) == before


def test_a_failed_chunk_leaves_no_held_write_behind(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    """A held write that fails when sent rolls the chunk back; the items are then applied
    one by one, the bad one dead-lettered, and nothing held or cached survives."""
    first = next(e for e in events() if e.kind == "firing")
    probe = make_service(f"sqlite:///{tmp_path / 'probe.db'}")
    (created,) = probe.submit_warnings([first])
    svc = make_service(f"sqlite:///{tmp_path / 'bad.db'}")
    with svc.store.begin() as conn:  # the link the first warning's ticket would write, taken
        conn.execute(s.ticket_warnings.insert().values(
            ticket_id=created.ticket_id, warning_id=first.warning_id,
            indicator_id=first.indicator_id, area_code=first.area_code, level="blue",
            state="firing", first_at=0, last_at=0, explanation="{}"))  # fmt: skip
    outs = svc.submit_warnings(events())
    assert [o.action for o in outs].count("dead-letter") == 1
    assert outs[0].action == "dead-letter" and "IntegrityError" in outs[0].reason
    assert svc.pending() == 0 and not svc.store._held and svc._chunk is None
    with svc.store.begin() as conn:
        applied: list[str] = list(conn.execute(select(s.applied_keys.c.key)).scalars())
        audit: list[str] = list(conn.execute(select(s.audit.c.ticket_id)).scalars())
    assert len(applied) == len(outs) - 1
    assert created.ticket_id not in audit  # the failed creation left no trace
