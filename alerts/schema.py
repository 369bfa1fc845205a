"""The ticket store's schema and its migrations, in SQLAlchemy Core, so that SQLite (the embedded
default) and PostgreSQL (production) share one schema and one code path.

Times are integer epoch seconds (UTC) in BIGINT columns: the same on both databases, sortable,
and free of driver-specific time zone handling.  Structured evidence is JSON text.

Migrations are numbered functions applied in order inside one transaction each and recorded in
`schema_migrations`; on PostgreSQL a transaction-scoped advisory lock keeps two processes from
migrating at once.  Add a migration by appending to MIGRATIONS: never edit an applied one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine

from .tickets import peak_level_of

metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", BigInteger, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("origin", String(16), nullable=False),  # warning | hotline | alert
    Column("family", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("incident_key", String(200), nullable=False),
    Column("incident_area", String(40), nullable=False),
    Column("incident_unit", String(40), nullable=False),  # area at the dispatch tier
    # The incident unit's district / street / grid (NULL above that tier), so "which open
    # incidents lie inside this area" is an indexed equality, not a LIKE over every ticket.
    Column("unit_district", String(8)),
    Column("unit_street", String(12)),
    Column("unit_grid", String(16)),
    Column("area_code", String(40), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("department", String(64), nullable=False),
    Column("level", String(8), nullable=False),
    # The highest level the ticket ever reached (`level` is the worst still firing, and for a
    # closed ticket the level it cleared at): what "the red incidents" means to a dispatcher.
    # NULL only in rows written before it existed and not backfilled (see _v5).
    Column("peak_level", String(8)),
    Column("status", String(16), nullable=False),
    Column("supervised", Boolean, nullable=False, default=False),
    Column("supervise_count", Integer, nullable=False, default=0),
    # supervisions of the step the ticket is in (accept, or handling): each one doubles the
    # time until the next; 0 again when the step changes (see _v6)
    Column("step_supervise_count", Integer, nullable=False, default=0, server_default="0"),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("warning_count", Integer, nullable=False, default=0),
    Column("firing_count", Integer, nullable=False, default=0),
    Column("order_count", Integer, nullable=False, default=0),
    Column("surge_count", Integer, nullable=False, default=0),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("summary_zh", Text, nullable=False),
    Column("summary_en", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("service_code", String(64)),
    Column("description", Text),
    Column("lat", Float),
    Column("long", Float),
    Column("accept_s", Integer, nullable=False),
    Column("handle_s", Integer, nullable=False),
    Column("working_hours_only", Boolean, nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_signal_at", BigInteger, nullable=False),
    Column("accept_due", BigInteger, nullable=False),
    Column("handle_due", BigInteger, nullable=False),
    # The handling deadline the department was given (at dispatch or reassignment, tightened
    # by a higher level), which supervision never moves: deadline compliance is judged on it.
    # NULL only in rows written before it existed and not backfilled (see _v4).
    Column("handle_due_original", BigInteger),
    Column("accepted_at", BigInteger),
    Column("feedback_at", BigInteger),
    Column("feedback_notes", Text),
    Column("verify_until", BigInteger),
    Column("closed_at", BigInteger),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_tickets_status_family", "status", "family"),
    Index("ix_tickets_family_unit", "family", "incident_unit"),
    Index("ix_tickets_family_district", "family", "unit_district"),
    Index("ix_tickets_family_street", "family", "unit_street"),
    Index("ix_tickets_family_grid", "family", "unit_grid"),
    Index("ix_tickets_department", "department"),
    Index("ix_tickets_incident_area", "incident_area"),
)

ticket_warnings = Table(
    "ticket_warnings",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("warning_id", String(200), primary_key=True),
    Column("indicator_id", String(120), nullable=False),
    Column("area_code", String(40), nullable=False),
    Column("level", String(8), nullable=False),
    Column("state", String(16), nullable=False),  # firing | resolved
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("explanation", Text, nullable=False),  # JSON: the warning's latest evidence
    Index("ix_ticket_warnings_warning", "warning_id"),
)

ticket_orders = Table(
    "ticket_orders",
    metadata,
    Column("order_id", String(80), primary_key=True),
    Column("ticket_id", String(40), nullable=False),
    Column("role", String(16), nullable=False),  # root | duplicate | corroboration
    Column("duplicate_of", String(80)),
    Column("service_code", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("lat", Float),
    Column("long", Float),
    Column("area_code", String(40)),
    Index("ix_ticket_orders_ticket", "ticket_id"),
)

applied_keys = Table(
    "applied_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("ticket_id", String(40)),
    Column("at", BigInteger, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", String(40), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16)),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_ticket", "ticket_id", "id"),
)

# A ticket's level is the highest level among its warnings still firing: looked up on every
# escalation, so it must read only the firing rows, not every warning the ticket ever merged.
FIRING_WARNINGS = Index(
    "ix_ticket_warnings_firing",
    ticket_warnings.c.ticket_id,
    ticket_warnings.c.state,
    ticket_warnings.c.level,
)

# Merging asks for the open incidents of a family that saw a signal since some time: without
# the time in the index, a city-level incident (every ticket of the family shares its unit)
# or a whole-city search read every ticket the family ever had.
RECENT_BY_FAMILY = Index("ix_tickets_family_signal", tickets.c.family, tickets.c.last_signal_at)
RECENT_BY_UNIT = Index(
    "ix_tickets_family_unit_signal",
    tickets.c.family,
    tickets.c.incident_unit,
    tickets.c.last_signal_at,
)

# "the red incidents": a list filtered by the highest level reached
BY_PEAK_LEVEL = Index("ix_tickets_peak_level", tickets.c.peak_level)

V1_TABLES = (tickets, ticket_warnings, ticket_orders, applied_keys, audit)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(V1_TABLES))


def _v2(conn: Connection) -> None:
    FIRING_WARNINGS.create(conn, checkfirst=True)  # new stores have it from v1 already


def _v3(conn: Connection) -> None:
    RECENT_BY_FAMILY.create(conn, checkfirst=True)
    RECENT_BY_UNIT.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    """The original handling deadline.  A store made before has no record of it: its tickets
    take their current `handle_due`, the best there is (a supervision may have moved it)."""
    if "handle_due_original" not in {c["name"] for c in inspect(conn).get_columns("tickets")}:
        conn.execute(text("ALTER TABLE tickets ADD COLUMN handle_due_original BIGINT"))
    conn.execute(
        update(tickets)
        .where(tickets.c.handle_due_original.is_(None))
        .values(handle_due_original=tickets.c.handle_due)
    )


def _v5(conn: Connection) -> None:
    """The peak level as a column, so that a list can be filtered by it.  Stores made before
    kept it only in the evidence JSON (`evidence.peak_level`, written since tickets had
    one); a ticket without it there takes its current level, the best there is."""
    if "peak_level" not in {c["name"] for c in inspect(conn).get_columns("tickets")}:
        conn.execute(text("ALTER TABLE tickets ADD COLUMN peak_level VARCHAR(8)"))
    BY_PEAK_LEVEL.create(conn, checkfirst=True)
    rows = conn.execute(
        select(tickets.c.id, tickets.c.level, tickets.c.evidence).where(
            tickets.c.peak_level.is_(None)
        )
    ).all()
    backfill = [{"_id": r[0], "_peak": _peak_of(str(r[1]), r[2])} for r in rows]
    if backfill:
        conn.execute(
            update(tickets)
            .where(tickets.c.id == bindparam("_id"))
            .values(peak_level=bindparam("_peak")),
            backfill,
        )


def _peak_of(level: str, evidence: object) -> str:
    """The higher of a stored ticket's level and its `evidence.peak_level` (when readable)."""
    try:
        found = json.loads(str(evidence or "{}"))
    except ValueError:
        found = {}
    return peak_level_of(level, found if isinstance(found, dict) else {})


def _v6(conn: Connection) -> None:
    """Supervisions of the current step.  A store made before does not know how many of its
    tickets' supervisions were of the step they are in: they start from 0, so a ticket overdue
    for days is supervised once more after the step's duration, then less and less often."""
    if "step_supervise_count" not in {c["name"] for c in inspect(conn).get_columns("tickets")}:
        conn.execute(
            text("ALTER TABLE tickets ADD COLUMN step_supervise_count INTEGER NOT NULL DEFAULT 0")
        )


Migration = tuple[int, str, Callable[[Connection], None]]
MIGRATIONS: list[Migration] = [
    (1, "tickets, warnings and orders per ticket, idempotency keys, audit log", _v1),
    (2, "index of the firing warnings of a ticket", _v2),
    (3, "indexes of a family's tickets by last signal, overall and per incident unit", _v3),
    (4, "the original handling deadline of each ticket, which supervision does not move", _v4),
    (5, "the highest level each ticket reached, as a column (from its evidence)", _v5),
    (6, "supervisions of each ticket's current step, which space out the next one", _v6),
]


def current_version(conn: Connection) -> int:
    metadata.create_all(conn, tables=[schema_migrations])
    v = conn.execute(select(schema_migrations.c.version).order_by(
        schema_migrations.c.version.desc()).limit(1)).scalar()  # fmt: skip
    return int(v or 0)


def migrate(engine: Engine) -> list[int]:
    """Apply every migration not yet applied; returns the versions applied now."""
    applied: list[int] = []
    for version, description, step in MIGRATIONS:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(724201)"))
            if current_version(conn) >= version:
                continue
            step(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=version, description=description, applied_at=int(time.time())
                )
            )
            applied.append(version)
    return applied
