"""The ticket store: SQL over one Connection at a time, the same statements on SQLite and
PostgreSQL.  It knows rows, not rules: the lifecycle lives in `service`.

SQLite runs in WAL mode with `synchronous=NORMAL` (durable at each checkpoint, fast commits)
and a busy timeout, so the API's readers never block the writer; PostgreSQL connections are
pre-pinged so a restarted server costs one retry, not an error per pooled connection.

Inside `deferred(conn)` the writes the warning path repeats most (ticket inserts and updates,
warning links and updates) are held and sent as one executemany per statement shape: at the
next read through the store, or at the end of the block.  Updates of one row are merged in
order, so the rows end as if each statement had run at once; every read flushes first, so
reads never see a row older than what was written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import Integer

from flows.jsontext import dumps

from . import schema as s
from .areas import TIER_DIGITS, ancestors, area_digits, tier_of_code
from .levels import level_index
from .tickets import AWAITING_ACCEPT, IN_HAND, AuditEntry, Ticket

CONNECT_TIMEOUT_S = 10  # seconds a PostgreSQL connection may take to be made


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
    # libpq waits for ever on a server that takes the connection and never answers (a hung
    # host, a half-open firewall): /health's probe, the dispatcher's flush and every request
    # hung with it.  A URL's own `connect_timeout` wins.
    args = (
        {} if "connect_timeout" in make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT_S}
    )
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=args)


URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"


class StoreUnavailableError(Exception):
    """The ticket store at a URL cannot be opened (not a URL, no driver, unreachable, a missing
    directory).  The message says which and never holds the URL's password: commands print it
    as it is, so it must be fit for a terminal and a log."""


def masked_url(url: str) -> str:
    """`url` with its password replaced by ***, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # user:password@ up to the last @ of a word: a password may hold ':' or '/'
        return re.sub(r"(^|[\s/])([^\s/@:]*):\S*@", r"\1\2:***@", url)


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None


def open_engine(url: str) -> Engine:
    """`make_engine(url)`, with what is wrong in a URL as a `StoreUnavailableError` rather
    than SQLAlchemy's parsing, plugin or import errors (a missing driver surfaces as an
    ImportError from deep inside the dialect)."""
    shown = masked_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreUnavailableError(
            f"ticket store {shown!r}: not a database URL ({URL_FORMS})"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parent = Path(parsed.database).parent  # type: ignore[arg-type]
        if not parent.is_dir():
            raise StoreUnavailableError(
                f"ticket store {shown}: the directory {parent} does not exist "
                "(create it, or give a path in an existing directory)"
            )
    try:
        return make_engine(url)
    except NoSuchModuleError:
        raise StoreUnavailableError(
            f"ticket store {shown}: SQLAlchemy knows no database {parsed.drivername!r} "
            f"({URL_FORMS})"
        ) from None
    except ImportError as e:
        raise StoreUnavailableError(
            f"ticket store {shown}: the Python driver for {parsed.drivername!r} "
            f"({e.name or e}) is not installed: install it, or use {URL_FORMS}"
        ) from None


def unavailable(url: str, e: SQLAlchemyError) -> StoreUnavailableError:
    """The error for a failure to reach or migrate the store at `url`: the driver's own first
    line ("Connection refused", "unable to open database file"), not SQLAlchemy's statement
    dump, and never the password, even if a driver echoes it."""
    orig = e.orig if isinstance(e, DBAPIError) and e.orig is not None else e
    lines = str(orig).strip().splitlines()
    reason = lines[0] if lines else type(orig).__name__
    secret = _password(url)
    if secret:
        reason = reason.replace(secret, "***")
    return StoreUnavailableError(f"ticket store {masked_url(url)}: {reason}")


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
    level: str | None = None  # the level now (a closed ticket: the level it cleared at)
    peak_level: str | None = None  # the highest level reached ("the red incidents")
    area_prefix: str | None = None
    supervised: bool | None = None
    origin: str | None = None
    limit: int = 100
    offset: int = 0
    # For the ticket API's area scopes and its Open311 view.  With `member_areas`,
    # `area_prefix` also matches a ticket by the area of any of its hotline orders or
    # warnings: a city-wide incident holds every district's reports.
    member_areas: bool = False
    service_code: str | None = None  # the Open311 code (`open311_code`)
    opened_from: int | None = None  # opened_at at or after (epoch seconds)
    opened_until: int | None = None  # opened_at at or before
    # True: open tickets past a deadline at `judged_at` (before acceptance its accept
    # deadline, before feedback its handling one), as citysigns_tickets_overdue counts them;
    # False: every other ticket
    overdue: bool | None = None
    judged_at: int = 0


def open311_code(t: Any) -> Any:
    """A ticket's Open311 service_code in SQL, as `alerts.open311.service_code` tells it: an
    incident (a ticket warnings joined) is its family's, a plain hotline order its
    category's, and a ticket without either code its family's."""
    return case(
        (t.warning_count > 0, t.family),
        else_=func.coalesce(func.nullif(t.service_code, ""), t.family),
    )


# Statements built once: building a statement and its cache key per call costs more than
# executing it on SQLite.  Varying values travel as execute() parameters.
_T = s.tickets.c
_GET = select(s.tickets).where(_T.id == bindparam("tid"))
_UPDATE = update(s.tickets).where(_T.id == bindparam("_tid")).values(version=_T.version + 1)
# n held updates of one ticket merged into one statement: the version still counts each
_UPDATE_N = (
    update(s.tickets)
    .where(_T.id == bindparam("_tid"))
    .values(version=_T.version + bindparam("_n", type_=Integer))
)
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
# the open tickets a chunk's warnings are linked to, with the warning: one query per chunk
_OF_WARNINGS = (
    select(s.tickets, s.ticket_warnings.c.warning_id.label("_wid"))
    .join(s.ticket_warnings, s.ticket_warnings.c.ticket_id == _T.id)
    .where(s.ticket_warnings.c.warning_id.in_(bindparam("wids", expanding=True)), _NOT_CLOSED)
)
_FIRING_OF = select(
    s.ticket_warnings.c.ticket_id, s.ticket_warnings.c.warning_id, s.ticket_warnings.c.level
).where(
    s.ticket_warnings.c.ticket_id.in_(bindparam("tids", expanding=True)),
    s.ticket_warnings.c.state == "firing",
)
_WARNINGS_OF = (
    select(s.ticket_warnings)
    .where(s.ticket_warnings.c.ticket_id == bindparam("tid"))
    .order_by(s.ticket_warnings.c.first_at)
)
_WARNING_OF = select(s.ticket_warnings).where(
    s.ticket_warnings.c.ticket_id == bindparam("tid"),
    s.ticket_warnings.c.warning_id == bindparam("wid"),
)
_FIRING_ROWS = select(
    s.ticket_warnings.c.warning_id,
    s.ticket_warnings.c.level,
    s.ticket_warnings.c.last_at,
    s.ticket_warnings.c.explanation,
).where(s.ticket_warnings.c.ticket_id == bindparam("tid"), s.ticket_warnings.c.state == "firing")
_ORDER_TICKET = select(s.ticket_orders.c.ticket_id).where(
    s.ticket_orders.c.order_id == bindparam("oid")
)
_ORDERS_OF = (
    select(s.ticket_orders)
    .where(s.ticket_orders.c.ticket_id == bindparam("tid"))
    .order_by(s.ticket_orders.c.at)
)


def unit_columns(incident_unit: str | None) -> dict[str, Any]:
    """unit_district / unit_street / unit_grid of an incident unit (None above its tier)."""
    digits = area_digits(incident_unit or "")
    own = tier_of_code(digits) if digits else None
    out: dict[str, Any] = {}
    for tier in ("district", "street", "grid"):
        n = TIER_DIGITS[tier]
        fine_enough = own not in (None, "city") and len(digits) >= n
        out[f"unit_{tier}"] = digits[:n] if fine_enough else None
    return out


def _by_shape(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their key set, first-seen order kept: one executemany needs one shape."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r)), []).append(r)
    return list(groups.values())


@dataclass
class _Held:
    """Writes held back in one transaction (see the module's docstring)."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    ticket_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    warning_updates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tickets or self.links or self.ticket_updates or self.warning_updates)

    def tickets_written(self) -> Iterator[str]:
        """Ids of the tickets with held inserts or updates."""
        yield from (str(v["id"]) for v in self.tickets)
        yield from self.ticket_updates


def _related(
    t: Ticket, family: str, units: Sequence[str], tier: str | None, digits: str, since: int
) -> bool:
    """`_COVERING` or `_INSIDE[tier]` (`tier` None: covering only) as a test of one ticket."""
    if t.family != family or t.status == "closed" or t.last_signal_at < since:
        return False
    if t.incident_unit in units:
        return True
    if tier == "city":
        return True
    if tier in ("district", "street", "grid"):
        return bool(getattr(t, f"unit_{tier}") == digits)
    return False


def _area_like(col: Any, prefix: str) -> Any:
    """`col` names an area inside `prefix`: its code starts with it, or (for a district or the
    city) it is a sensor id carrying that district ("AQ-310106-000123"), as `areas.covers`
    reads one."""
    cond = col.startswith(prefix, autoescape=True)
    if len(prefix) <= TIER_DIGITS["district"]:
        cond = or_(cond, col.contains(f"-{prefix}", autoescape=True))
    return cond


def _filtered(q: Any, f: TicketFilter) -> Any:
    """`q` with the conditions of `f` (not its order, limit or offset)."""
    t = s.tickets.c
    if f.status:
        q = q.where(t.status.in_(list(f.status)))
    if f.department:
        q = q.where(t.department == f.department)
    if f.family:
        q = q.where(t.family == f.family)
    if f.level:
        q = q.where(t.level == f.level)
    if f.peak_level:
        q = q.where(t.peak_level == f.peak_level)
    if f.origin:
        q = q.where(t.origin == f.origin)
    if f.supervised is not None:
        q = q.where(t.supervised == f.supervised)
    if f.service_code:
        q = q.where(open311_code(t) == f.service_code)
    if f.opened_from is not None:
        q = q.where(t.opened_at >= f.opened_from)
    if f.opened_until is not None:
        q = q.where(t.opened_at <= f.opened_until)
    if f.overdue is not None:
        late = (t.status != "closed") & or_(
            t.accepted_at.is_(None) & (t.accept_due < f.judged_at),
            t.feedback_at.is_(None) & (t.handle_due < f.judged_at),
        )
        q = q.where(late if f.overdue else ~late)
    if f.area_prefix:
        p = f.area_prefix
        where = [t.incident_area.startswith(p, autoescape=True),
                 t.area_code.startswith(p, autoescape=True)]  # fmt: skip
        if f.member_areas:
            o, w = s.ticket_orders.c, s.ticket_warnings.c
            where.append(t.id.in_(select(o.ticket_id).where(_area_like(o.area_code, p))))
            where.append(t.id.in_(select(w.ticket_id).where(_area_like(w.area_code, p))))
        q = q.where(or_(*where))
    return q


class TicketStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._held: dict[Connection, _Held] = {}

    @classmethod
    def from_url(cls, url: str, migrate: bool = True) -> TicketStore:
        """The store at `url`, migrated; `StoreUnavailableError` when it cannot be opened (so a
        bad --db is one line for an operator, not a driver traceback)."""
        store = cls(open_engine(url))
        if migrate:
            try:
                store.migrate()
            except SQLAlchemyError as e:
                store.dispose()
                raise unavailable(url, e) from e
        return store

    def migrate(self) -> list[int]:
        return s.migrate(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def reachable(self) -> str | None:
        """None when the store answers a trivial query, else the class of the error (never
        its message, which can hold the store's URL, user or path): what /health tells a
        probe that carries no token."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the store is down, locked or unreachable
            return type(exc).__name__
        return None

    # ------------------------------------------------------------------ held writes
    @contextmanager
    def deferred(self, conn: Connection) -> Iterator[None]:
        """Hold this connection's ticket and warning writes until a read or the block's end
        (use inside the transaction: a failure discards what is held with the rest)."""
        self._held[conn] = _Held()
        try:
            yield
            self.flush_writes(conn)
        finally:
            self._held.pop(conn, None)

    def flush_writes(self, conn: Connection, tickets: bool = True, warnings: bool = True) -> None:
        """Send the held writes to `tickets` and/or `ticket_warnings` (a read sends those of
        the tables it reads), inserts before updates, so an update may follow its insert."""
        held = self._held.get(conn)
        if not held:
            return
        if tickets:
            for rows in _by_shape(held.tickets):
                conn.execute(insert(s.tickets), rows)
            updates = held.ticket_updates.items()
            for rows in _by_shape({"_tid": t, **v} for t, v in updates):
                conn.execute(_UPDATE_N, rows)
            held.tickets, held.ticket_updates = [], {}
        if warnings:
            for rows in _by_shape(held.links):
                conn.execute(insert(s.ticket_warnings), rows)
            updates_w = held.warning_updates.items()
            for rows in _by_shape({"_tid": t, "_wid": w, **v} for (t, w), v in updates_w):
                conn.execute(_UPDATE_WARNING, rows)
            held.links, held.warning_updates = [], {}

    # ------------------------------------------------------------------ idempotency
    def was_applied(self, conn: Connection, key: str) -> bool:
        return bool(self.applied_among(conn, [key]))

    def applied_among(self, conn: Connection, keys: Sequence[str]) -> dict[str, str | None]:
        """Which of `keys` were applied already, with the ticket each one touched (one query
        for a whole chunk)."""
        self.flush_writes(conn)
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
        self.flush_writes(conn, warnings=False)
        first = conn.execute(_GET, {"tid": ticket_id}).mappings().first()
        return Ticket.from_row(first) if first else None

    @staticmethod
    def _unit_columns(values: dict[str, Any]) -> None:
        """Derive unit_district / unit_street / unit_grid from incident_unit."""
        if "incident_unit" in values:
            values.update(unit_columns(values["incident_unit"]))

    def insert_ticket(self, conn: Connection, values: dict[str, Any]) -> None:
        values = dict(values)
        self._unit_columns(values)
        values["evidence"] = dumps(values.get("evidence", {}))
        held = self._held.get(conn)
        if held is not None:
            held.tickets.append(values)
        else:
            conn.execute(insert(s.tickets), values)

    def update_ticket(self, conn: Connection, ticket_id: str, values: dict[str, Any]) -> None:
        values = dict(values)
        self._unit_columns(values)
        if "evidence" in values:
            values["evidence"] = dumps(values["evidence"])
        held = self._held.get(conn)
        if held is None:
            conn.execute(_UPDATE, {"_tid": ticket_id, **values})
            return
        merged = held.ticket_updates.setdefault(ticket_id, {"_n": 0})
        merged.update(values)
        merged["_n"] += 1

    def related_open(
        self,
        conn: Connection,
        family: str,
        unit: str,
        since: int,
        descendants: bool = True,
        current: Mapping[str, Ticket] | None = None,
    ) -> list[Ticket]:
        """Open tickets of `family` whose incident unit covers `unit` (or, with `descendants`,
        lies inside it) and that saw a signal at or after `since`, newest first.  Each test
        is an index lookup, so the cost does not grow with the number of open tickets.

        `current` holds tickets as this transaction last wrote or read them.  When every
        ticket with held writes is among them, the held writes stay held: those tickets are
        judged here, by `_related` (the same tests as the SQL), instead of being sent first;
        a transaction that creates or merges many incidents then writes them in one go."""
        held = self._held.get(conn)
        dirty = set(held.tickets_written()) if held else set()
        if dirty and (current is None or not dirty <= current.keys()):
            self.flush_writes(conn, warnings=False)
            dirty = set()
        if not unit:
            return []  # an unplaced signal cannot be matched to a place
        units = ancestors(unit)
        params: dict[str, Any] = {"family": family, "since": since, "units": units}
        found = {r["id"]: r for r in conn.execute(_COVERING, params).mappings()}
        tier = tier_of_code(unit)
        digits = area_digits(unit)
        if descendants and tier in _INSIDE:
            params["unit"] = digits
            found.update({r["id"]: r for r in conn.execute(_INSIDE[tier], params).mappings()})
        known = current or {}
        tickets = [
            known.get(tid) or Ticket.from_row(r) for tid, r in found.items() if tid not in dirty
        ]
        for tid in dirty:
            t = known[tid]
            if _related(t, family, units, tier if descendants else None, digits, since):
                tickets.append(t)
        tickets.sort(key=lambda t: (-t.last_signal_at, t.id))
        return tickets

    def open_tickets(self, conn: Connection, statuses: Sequence[str]) -> list[Ticket]:
        self.flush_writes(conn, warnings=False)
        rows = conn.execute(
            select(s.tickets).where(s.tickets.c.status.in_(list(statuses)))
        ).mappings()
        return [Ticket.from_row(r) for r in rows]

    def next_due(self, conn: Connection) -> int | None:
        """The first instant at which `due_before` finds a ticket (None: no open step has a
        deadline): a step's deadline is missed the second after it, a verification period
        ends on it.  Lets a replay in data time skip the ticks with nothing to judge."""
        self.flush_writes(conn, warnings=False)
        t = s.tickets.c
        due = case(
            (t.status.in_(sorted(AWAITING_ACCEPT)), t.accept_due + 1),
            (t.status.in_(sorted(IN_HAND)), t.handle_due + 1),
            (t.status == "verifying", t.verify_until),
        )
        value = conn.execute(select(func.min(due))).scalar()
        return None if value is None else int(value)

    def due_before(self, conn: Connection, now: int) -> list[Ticket]:
        """Open tickets whose current step's deadline or verification period has passed."""
        self.flush_writes(conn, warnings=False)
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
        self.flush_writes(conn, warnings=False)
        t = s.tickets.c
        q = _filtered(select(s.tickets), f)
        q = q.order_by(t.opened_at.desc(), t.id).limit(f.limit).offset(f.offset)
        return [Ticket.from_row(r) for r in conn.execute(q).mappings()]

    def count_tickets(self, conn: Connection, f: TicketFilter) -> int:
        """How many tickets `f` matches, whatever its limit and offset (a list's total)."""
        self.flush_writes(conn, warnings=False)
        q = _filtered(select(func.count()).select_from(s.tickets), f)
        return int(conn.execute(q).scalar() or 0)

    def latest_activity(self, conn: Connection) -> int | None:
        """The latest time any ticket changed or heard a signal (epoch seconds), None for an
        empty store: on a store a replay wrote, the data's time, not the wall clock's."""
        self.flush_writes(conn, warnings=False)
        t = s.tickets.c
        row = conn.execute(select(func.max(t.updated_at), func.max(t.last_signal_at))).first()
        times = [int(v) for v in (row or ()) if v is not None]
        return max(times) if times else None

    def codes_in_use(self, conn: Connection) -> tuple[set[str], set[str]]:
        """(families, Open311 service codes) of the tickets in the store: with the catalog's
        and the routing's, the values a filter on them can match.  An Alertmanager alert's
        `category` label is a family of its own that no file lists."""
        self.flush_writes(conn, warnings=False)
        t = s.tickets.c
        code = open311_code(t)
        families = {str(r[0]) for r in conn.execute(select(t.family).distinct())}
        codes = {str(r[0]) for r in conn.execute(select(code).distinct())}
        return families, codes

    def count_by_status(self, conn: Connection) -> dict[str, int]:
        self.flush_writes(conn, warnings=False)
        rows = conn.execute(select(s.tickets.c.status, func.count()).group_by(s.tickets.c.status))
        return {str(r[0]): int(r[1]) for r in rows.all()}

    # ------------------------------------------------------------------ warnings of tickets
    def ticket_of_warning(self, conn: Connection, warning_id: str) -> Ticket | None:
        """The open ticket a warning is linked to."""
        self.flush_writes(conn)
        row = conn.execute(_OF_WARNING, {"wid": warning_id}).mappings().first()
        return Ticket.from_row(row) if row else None

    def open_tickets_of_warnings(
        self, conn: Connection, warning_ids: Sequence[str]
    ) -> dict[str, Ticket]:
        """The open ticket each of `warning_ids` is linked to (those without one are absent):
        what `ticket_of_warning` answers, for a whole chunk in one query."""
        self.flush_writes(conn)
        if not warning_ids:
            return {}
        out: dict[str, Ticket] = {}
        by_id: dict[str, Ticket] = {}  # a city-wide incident holds many of the warnings
        rows = conn.execute(_OF_WARNINGS, {"wids": list(set(warning_ids))}).mappings()
        for r in rows:
            d = dict(r)
            wid = str(d.pop("_wid"))
            if wid not in out:
                t = by_id.get(d["id"])
                out[wid] = by_id[d["id"]] = t if t is not None else Ticket.from_row(d)
        return out

    def firing_of(self, conn: Connection, ticket_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The warnings still firing of each ticket, warning id -> level (empty when none)."""
        self.flush_writes(conn, tickets=False)
        out: dict[str, dict[str, str]] = {str(t): {} for t in ticket_ids}
        if out:
            for tid, wid, level in conn.execute(_FIRING_OF, {"tids": list(out)}).all():
                out[str(tid)][str(wid)] = str(level)
        return out

    def link_warning(self, conn: Connection, values: dict[str, Any]) -> None:
        held = self._held.get(conn)
        if held is not None:
            held.links.append(dict(values))
        else:
            conn.execute(insert(s.ticket_warnings), values)

    def update_warning(
        self, conn: Connection, ticket_id: str, warning_id: str, values: dict[str, Any]
    ) -> None:
        held = self._held.get(conn)
        if held is None:
            conn.execute(_UPDATE_WARNING, {"_tid": ticket_id, "_wid": warning_id, **values})
        else:
            held.warning_updates.setdefault((ticket_id, warning_id), {}).update(values)

    def worst_firing(self, conn: Connection, ticket_id: str) -> dict[str, Any] | None:
        """The ticket's firing warning of the highest level (the latest among equals), with its
        explanation; None when none fires.  Read only when the warning a ticket's summary
        describes stops being its worst, so it reads the firing rows, not the whole history."""
        self.flush_writes(conn, tickets=False)
        rows = conn.execute(_FIRING_ROWS, {"tid": ticket_id}).mappings().all()
        if not rows:
            return None
        worst = dict(max(rows, key=lambda r: (level_index(r["level"]), r["last_at"])))
        worst["explanation"] = json.loads(worst["explanation"] or "{}")
        return worst

    def warning_of(
        self, conn: Connection, ticket_id: str, warning_id: str
    ) -> dict[str, Any] | None:
        """One warning of a ticket with its latest explanation (None: not linked to it)."""
        self.flush_writes(conn, tickets=False)
        row = conn.execute(_WARNING_OF, {"tid": ticket_id, "wid": warning_id}).mappings().first()
        if row is None:
            return None
        d = dict(row)
        d["explanation"] = json.loads(d["explanation"] or "{}")
        return d

    def warnings_of(self, conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
        """The ticket's warnings with their latest explanation (the evidence), oldest first."""
        self.flush_writes(conn, tickets=False)
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
        self.flush_writes(conn)
        found: str | None = conn.execute(_ORDER_TICKET, {"oid": order_id}).scalar()
        return found

    def orders_of(self, conn: Connection, ticket_id: str) -> list[dict[str, Any]]:
        self.flush_writes(conn)
        return [dict(r) for r in conn.execute(_ORDERS_OF, {"tid": ticket_id}).mappings()]

    def open_root_orders(self, conn: Connection) -> list[dict[str, Any]]:
        """Root orders of open tickets: what the duplicate index holds after a restart."""
        self.flush_writes(conn, warnings=False)
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
            "detail": dumps(detail or {}, default=str),
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
        self.flush_writes(conn)
        rows = conn.execute(
            select(s.audit).where(s.audit.c.ticket_id == ticket_id).order_by(s.audit.c.id)
        ).mappings()
        return [AuditEntry.from_row(r) for r in rows]

    def audit_count(self, conn: Connection) -> int:
        self.flush_writes(conn)
        return int(conn.execute(select(func.count()).select_from(s.audit)).scalar() or 0)
