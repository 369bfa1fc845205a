"""Ticket counts for the Prometheus exporter, read from the ticket store.

The dispatch dashboard and the on-call alerts need open, overdue and supervised tickets by
department, tier and level, and deadline compliance of closed ones (against the handling
deadline first given, which supervision does not move).  The store is the truth, so
the counts are read from it (open tickets row by row, since there are few; closed ones as one
GROUP BY, since they accumulate for ever) and handed to the exporter's `TicketCounts`.  A
refresher thread does that every few seconds beside `citysigns serve`; a failed read keeps the
last counts, so a store outage shows as stale counts, never as a crash of the API.

Overdue is judged at a time: the wall clock's, as the timer judges deadlines, or, for a store
a replay wrote and `serve --no-timers` serves, the store's own time (`data_time`): judged on
today's date, every ticket still in hand when the replay's data ended would read overdue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, case, func, select

from flows.metrics import CitySignsMetrics, TicketCounts

from . import schema as s
from .service import TicketService
from .store import TicketStore

log = logging.getLogger(__name__)

_OPEN_COLUMNS = (
    s.tickets.c.status,
    s.tickets.c.department,
    s.tickets.c.tier,
    s.tickets.c.level,
    s.tickets.c.supervised,
    s.tickets.c.accepted_at,
    s.tickets.c.feedback_at,
    s.tickets.c.accept_due,
    s.tickets.c.handle_due,
)


def data_time(conn: Connection) -> int | None:
    """The store's own time: the latest signal (warning or hotline order) a ticket heard, in
    epoch seconds; None for an empty store.  On a store a replay wrote it is the data's
    clock, which actions taken through the API (stamped on the wall clock) do not move."""
    return conn.execute(select(func.max(s.tickets.c.last_signal_at))).scalar()


def read_ticket_counts(store: TicketStore, now: int | None) -> TicketCounts:
    """The store's tickets as the exporter shows them, at time `now` (epoch seconds), or with
    None at the store's own time (`data_time`)."""
    t = s.tickets.c
    done = func.coalesce(t.feedback_at, t.closed_at)
    # judged on the deadline the department was given, not on one a supervision restarted
    due = func.coalesce(t.handle_due_original, t.handle_due)
    met = case((done <= due, "met"), else_="missed")
    with store.begin() as conn:
        if now is None:
            now = data_time(conn) or 0
        open_rows = conn.execute(select(*_OPEN_COLUMNS).where(t.status != "closed"))
        counts = TicketCounts.from_rows((dict(r._mapping) for r in open_rows), now)
        closed_rows = conn.execute(
            select(t.department, met.label("deadline"), func.count())
            .where(t.status == "closed")
            .group_by(t.department, met)
        ).all()
    closed = {(str(r[0]), str(r[1])): int(r[2]) for r in closed_rows}
    return TicketCounts(counts.open, counts.overdue, counts.supervised, closed)


class TicketCountsRefresher:
    """Copies the store's ticket counts into the exporter every `every` seconds, and, given the
    ticket service, its health (store up, outbox backlog, store errors).  Overdue tickets are
    judged at `clock`'s time, or with None at the store's own (`data_time`)."""

    def __init__(
        self,
        store: TicketStore,
        metrics: CitySignsMetrics,
        every: float = 15.0,
        clock: Callable[[], float] | None = time.time,
        service: TicketService | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.service = service
        self.every = every
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    def refresh(self) -> bool:
        """One read; False (and the last counts kept) when the store cannot be read."""
        try:
            now = None if self._clock is None else int(self._clock())
            counts = read_ticket_counts(self.store, now)
        except Exception as exc:  # the store is down or busy: keep serving the last counts
            self.failures += 1
            log.warning("ticket counts not refreshed: %s", type(exc).__name__)
            if self.service is not None:
                svc = self.service
                self.metrics.set_ticket_store(False, svc.pending(), svc.store_errors)
            return False
        self.metrics.set_ticket_counts(counts)
        if self.service is not None:
            self.metrics.watch_ticket_service(self.service)
        return True

    def start(self) -> TicketCountsRefresher:
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="ticket-counts", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
