"""The ticket store: SQL over one Connection at a time, the same statements on SQLite and
PostgreSQL.  It knows rows, not rules: the lifecycle lives in `service`.

SQLite runs in WAL mode with `synchronous=NORMAL` (durable at each checkpoint, fast commits)
and a busy timeout, so the API's readers never block the writer; PostgreSQL connections are
pre-pinged so a restarted server costs one retry, not an error per pooled connection."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import schema as s
from .areas import TIER_DIGITS, ancestors, area_digits, tier_of_code
from .tickets import AuditEntry, Ticket


def make_engine(url: str) -> Engine:
    """An engine for `url` ("sqlite:///tickets.db", "postgresql+psycopg://...")."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the database was unreachable, restarting, locked or timed out.
    A constraint violation or a bad statement is not transient and retrying cannot help."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass(frozen=True)
class TicketFilter:
    status: Sequence[str] | None = None
    department: str | None = None
    family: str | None = None
    level: str | None = None
    area_prefix: str | None = None
    supervised: bool | None = None
    origin: str | None = None
    limit: int = 100
    offset: int = 0


# Statements built once: building a statement and its cache key per call costs more than
# executing it on SQLite.  Varying values travel as execute() parameters.
_T = s.tickets.c
_GET = select(s.tickets).where(_T.id == bindparam("tid"))
_UPDATE = update(s.tickets).where(_T.id == bindparam("_tid")).values(version=_T.version + 1)
_APPLIED = select(s.applied_keys.c.key, s.applied_keys.c.ticket_id).where(
    s.applied_keys.c.key.in_(bindparam("keys", expanding=True))
)
_NOT_CLOSED = _T.status != "closed"
_SINCE = _T.last_signal_at >= bindparam("since")
_FAMILY = _T.family == bindparam("family")
# open incidents whose unit covers a given area (the area's ancestors, itself included)
_COVERING = select(s.tickets).where(
    _FAMILY, _T.incident_unit.in_(bindparam("units", expanding=True)), _NOT_CLOSED, _SINCE
)
# open incidents lying inside a given district / street / grid, or anywhere (the city)
_INSIDE = {
    tier: select(s.tickets).where(_FAMILY, col == bindparam("unit"), _NOT_CLOSED, _SINCE)
    for tier, col in (("district", _T.unit_district), ("street", _T.unit_street),
                      ("grid", _T.unit_grid))
}  # fmt: skip
_INSIDE["city"] = select(s.tickets).where(_FAMILY, _NOT_CLOSED, _SINCE)
_OF_WARNING = (
    select(s.tickets)
    .join(s.ticket_warnings, s.ticket_warnings.c.ticket_id == _T.id)
    .where(s.ticket_warnings.c.warning_id == bindparam("wid"), _NOT_CLOSED)
    .limit(1)
)
_UPDATE_WARNING = (
    update(s.ticket_warnings)
    .where(s.ticket_warnings.c.ticket_id == bindparam("_tid"),
           s.ticket_warnings.c.warning_id == bindparam("_wid"))
)  # fmt: skip
_WARNINGS_OF = (
    select(s.ticket_warnings)
    .where(s.ticket_warnings.c.ticket_id == bindparam("tid"))
    .order_by(s.ticket_warnings.c.first_at)
)
_FIRING_LEVELS = (
    select(s.ticket_warnings.c.level)
    .where(s.ticket_warnings.c.ticket_id == bindparam("tid"),
           s.ticket_warnings.c.state == "firing")
    .distinct()
)  # fmt: skip
_ORDER_TICKET = select(s.ticket_orders.c.ticket_id).where(
    s.ticket_orders.c.order_id == bindparam("oid")
)
_ORDERS_OF = (
    select(s.ticket_orders)
    .where(s.ticket_orders.c.ticket_id == bindparam("tid"))
    .order_by(s.ticket_orders.c.at)
)


class TicketStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, migrate: bool = True) -> TicketStore:
        store = cls(make_engine(url))
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> list[int]:
        return s.migrate(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ idempotency
    def was_applied(self, conn: Connection, key: str) -> bool:
        return bool(self.applied_among(conn, [key]))

    def applied_among(self, conn: Connection, keys: Sequence[str]) -> dict[str, str | None]:
        """Which of `keys` were applied already, with the ticket each one touched (one query
        for a whole chunk)."""
        if not keys:
            return {}
        rows = conn.execute(_APPLIED, {"keys": list(keys)}).all()
        return {str(k): (None if t is None else str(t)) for k, t in rows}

    def mark_applied(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Record applied keys: rows of {key, ticket_id, at}, one executemany."""
        if rows:
            conn.execute(insert(s.applied_keys), list(rows))

    # ------------------------------------------------------------------ tickets
    def get(self, conn: Connection, ticket_id: str) -> Ticket | None:
        first = conn.execute(_GET, {"tid": ticket_id}).mappings().first()
        return Ticket.from_row(first) if first else None

    @staticmethod
    def _unit_columns(values: dict[str, Any]) -> None:
        """Derive unit_district / unit_street / unit_grid from incident_unit."""
        if "incident_unit" not in values:
            return
        digits = area_digits(values["incident_unit"] or "")
        own = tier_of_code(digits) if digits else None
        for tier in ("district", "street", "grid"):
            n = TIER_DIGITS[tier]
            fine_enough = own not in (None, "city") and len(digits) >= n
            values[f"unit_{tier}"] = digits[:n] if fine_enough else None

    def insert_ticket(self, conn: Connection, values: dict[str, Any]) -> None:
        values = dict(values)
        self._unit_columns(values)
        values["evidence"] = json.dumps(values.get("evidence", {}), ensure_ascii=False)
        conn.execute(insert(s.tickets), values)

    def update_ticket(self, conn: Connection, ticket_id: str, values: dict[str, Any]) -> None:
        values = dict(values)
        self._unit_columns(values)
        if "evidence" in values:
            values["evidence"] = json.dumps(values["evidence"], ensure_ascii=False)
        conn.execute(_UPDATE, {"_tid": ticket_id, **values})

    def related_open(
        self, conn: Connection, family: str, unit: str, since: int, descendants: bool = True
    ) -> list[Ticket]:
        """Open tickets of `family` whose incident unit covers `unit` (or, with `descendants`,
        lies inside it) and that saw a signal at or after `since`, newest first.  Each test
        is an index lookup, so the cost does not grow with the number of open tickets."""
        if not unit:
            return []  # an unplaced signal cannot be matched to a place
        params: dict[str, Any] = {"family": family, "since": since, "units": ancestors(unit)}
        found = {r["id"]: r for r in conn.execute(_COVERING, params).mappings()}
        tier = tier_of_code(unit)
        if descendants and tier in _INSIDE:
            params["unit"] = area_digits(unit)
            found.update({r["id"]: r for r in conn.execute(_INSIDE[tier], params).mappings()})
        tickets = [Ticket.from_row(r) for r in found.values()]
        tickets.sort(key=lambda t: (-t.last_signal_at, t.id))
        return tickets

    def open_tickets(self, conn: Connection, statuses: Sequence[str]) -> list[Ticket]:
        rows = conn.execute(
            select(s.tickets).where(s.tickets.c.status.in_(list(statuses)))
        ).mappings()
        return [Ticket.from_row(r) for r in rows]

    def due_before(self, conn: Connection, now: int) -> list[Ticket]:
        """Open tickets whose current step's deadline or verification period has passed."""
        t = s.tickets.c
        rows = conn.execute(
            select(s.tickets)
            .where(
                or_(
                    (t.status.in_(["dispatched", "reopened"])) & (t.accept_due < now),
                    (t.status.in_(["accepted", "handling"])) & (t.handle_due < now),
                    (t.status == "verifying") & (t.verify_until <= now),
                )
            )
            .order_by(t.id)
        ).mappings()
        return [Ticket.from_row(r) for r in rows]

    def list_tickets(self, conn: Connection, f: TicketFilter) -> list[Ticket]:
        t = s.tickets.c
        q = select(s.tickets)
        if f.status:
            q = q.where(t.status.in_(list(f.status)))
        if f.department:
            q = q.where(t.department == f.department)
        if f.family:
            q = q.where(t.family == f.family)
        if f.level:
            q = q.where(t.level == f.level)
        if f.origin:
            q = q.where(t.origin == f.origin)
        if f.supervised is not None:
            q = q.where(t.supervised == f.supervised)
        if f.area_prefix:
            q = q.where(
                or_(t.incident_area.startswith(f.area_prefix, autoescape=True),
                    t.area_code.startswith(f.area_prefix, autoescape=True))
            )  # fmt: skip
        q = q.order_by(t.opened_at.desc(), t.id).limit(f.limit).offset(f.offset)
        return [Ticket.from_row(r) for r in conn.execute(q).mappings()]

    def count_by_status(self, conn: Connection) -> dict[str, int]:
        rows = conn.execute(select(s.tickets.c.status, func.count()).group_by(s.tickets.c.status))
        return {str(r[0]): int(r[1]) for r in rows.all()}

    # ------------------------------------------------------------------ warnings of tickets
    def ticket_of_warning(self, conn: Connection, warning_id: str) -> Ticket | None:
        """The open ticket a warning is linked to."""
        row = conn.execute(_OF_WARNING, {"wid": warning_id}).mappings().first()
        return Ticket.from_row(row) if row else None

    def link_warning(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(insert(s.ticket_warnings), values)

    def update_warning(
        self, conn: Connection, ticket_id: str, warning_id: str, values: dict[str, Any]
    ) -> None:
        conn.execute(_UPDATE_WARNING, {"_tid": ticket_id, "_wid": warning_id, **values})

    def firing_levels(self, conn: Connection, ticket_id: str) -> list[str]:
        """The levels of the ticket's warnings still firing (an index range, however many
        warnings the ticket merged over its life)."""
        rows = conn.execute(_FIRING_LEVELS, {"tid": ticket_id}).all()
        return [str(r[0]) for r in rows]

    def warnings_of(self, conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
        """The ticket's warnings with their latest explanation (the evidence), oldest first."""
        out = []
        for r in conn.execute(_WARNINGS_OF, {"tid": ticket_id}).mappings():
            d = dict(r)
            d["explanation"] = json.loads(d["explanation"] or "{}")
            out.append(d)
        return out

    # ------------------------------------------------------------------ hotline orders
    def add_order(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(insert(s.ticket_orders), values)

    def ticket_of_order(self, conn: Connection, order_id: str) -> str | None:
        found: str | None = conn.execute(_ORDER_TICKET, {"oid": order_id}).scalar()
        return found

    def orders_of(self, conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(_ORDERS_OF, {"tid": ticket_id}).mappings()]

    def open_root_orders(self, conn: Connection) -> list[dict[str, Any]]:
        """Root orders of open tickets: what the duplicate index holds after a restart."""
        rows = conn.execute(
            select(s.ticket_orders)
            .join(s.tickets, s.tickets.c.id == s.ticket_orders.c.ticket_id)
            .where(
                s.ticket_orders.c.role == "root",
                _NOT_CLOSED,
            )
        ).mappings()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ audit
    def add_audit_rows(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            conn.execute(insert(s.audit), list(rows))

    @staticmethod
    def audit_row(
        *,
        ticket_id: str,
        at: int,
        actor: str,
        action: str,
        from_status: str | None,
        to_status: str | None,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "ticket_id": ticket_id, "at": at, "actor": actor, "action": action,
            "from_status": from_status, "to_status": to_status, "reason": reason,
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
        }  # fmt: skip

    def add_audit(
        self,
        conn: Connection,
        *,
        ticket_id: str,
        at: int,
        actor: str,
        action: str,
        from_status: str | None,
        to_status: str | None,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.add_audit_rows(conn, [self.audit_row(
            ticket_id=ticket_id, at=at, actor=actor, action=action, from_status=from_status,
            to_status=to_status, reason=reason, detail=detail)])  # fmt: skip

    def audit_of(self, conn: Connection, ticket_id: str) -> list[AuditEntry]:
        rows = conn.execute(
            select(s.audit).where(s.audit.c.ticket_id == ticket_id).order_by(s.audit.c.id)
        ).mappings()
        return [AuditEntry.from_row(r) for r in rows]

    def audit_count(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(s.audit)).scalar() or 0)
