"""A small ticket world for the API's reliability tests: a real store (SQLite or PostgreSQL)
with one ticket in Jing'an and one in Pudong, tokens of every role (one of them expired),
and a fingerprint of everything the store holds, to prove a refused request changed nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts import schema
from alerts.api import create_app
from alerts.auth import TokenRegistry, TokenSpec, sha256
from alerts.clock import ManualClock
from alerts.hotline import HotlineOrder
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketStore
from tests.alerts.alerts_helpers import T0, make_indicator, surge_indicator

# name: (role, scope, department, expires)
TOKENS: dict[str, tuple[str, str, str | None, str | None]] = {
    "jingan-roads": ("department", "310106", "road_maintenance", None),
    "jingan-water": ("department", "310106", "water_supply", None),
    "dispatch": ("dispatcher", "*", None, None),
    "jingan-dispatch": ("dispatcher", "310106", None, None),
    "jingan-supervisor": ("supervisor", "310106", None, None),
    "viewer": ("read-only", "*", None, None),
    "expired-supervisor": ("supervisor", "*", None, "2020-01-01T00:00:00+08:00"),
    "future-viewer": ("read-only", "*", None, "2999-01-01T00:00:00Z"),
}


def secret(name: str) -> str:
    return f"reliability-secret-{name}"


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret(name)}"}


def registry() -> TokenRegistry:
    specs = []
    for i, (name, (role, scope, dept, expires)) in enumerate(TOKENS.items()):
        key: dict[str, Any] = (
            {"token_sha256": sha256(secret(name))} if i % 2 else {"token": secret(name)}
        )
        specs.append(
            TokenSpec.model_validate(
                {
                    "name": name,
                    "role": role,
                    "scope": scope,
                    "department": dept,
                    "expires": expires,
                    **key,
                }
            )
        )
    return TokenRegistry(specs)


def make_service(url: str) -> TicketService:
    store = TicketStore.from_url(url)
    svc = TicketService(
        store,
        router=Router(load_routing()),
        catalog=[make_indicator(), surge_indicator()],
        clock=ManualClock(T0),
    )
    svc.submit_orders(
        [
            HotlineOrder("j1", "road_damage", T0, 31.23, 121.45, "310106003001001", "pothole"),
            HotlineOrder("p1", "road_damage", T0, 31.20, 121.55, "310115001001001", "pothole"),
        ]
    )
    return svc


@contextmanager
def client_for(svc: TicketService, max_body: int = 4096) -> Iterator[TestClient]:
    with TestClient(create_app(svc, registry(), max_body=max_body)) as c:
        yield c


def ticket_ids(svc: TicketService) -> dict[str, str]:
    """District code -> the id of its ticket."""
    return {t.incident_area[:6]: t.id for t in svc.list_tickets()}


TABLES = (
    schema.tickets,
    schema.ticket_warnings,
    schema.ticket_orders,
    schema.applied_keys,
    schema.audit,
)


def fingerprint(svc: TicketService) -> list[list[tuple[Any, ...]]]:
    """Every row of every ticket table, sorted: equal fingerprints = an unchanged store."""
    out = []
    with svc.store.begin() as conn:
        for table in TABLES:
            rows = [tuple(r) for r in conn.execute(select(table))]
            out.append(sorted(rows, key=repr))
    return out
