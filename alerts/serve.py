"""`citysigns serve`: build the ticket service from files and run the API with uvicorn.

The CLI (citysigns/) calls `serve(...)`; tests and embedders call `build_service` and
`api.create_app` directly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from flows.metrics import CitySignsMetrics
from flows.metrics import serve as serve_metrics
from indicators.language.validate import load_catalog_or_raise

from .api import DEFAULT_MAX_BODY, create_app
from .areas import AreaNames
from .auth import TokenRegistry
from .clock import Clock, SystemClock
from .outbox import Outbox
from .routing import Router, load_routing, warn_if_uncovered
from .service import TicketService
from .store import TicketFilter, TicketStore
from .ticket_metrics import TicketCountsRefresher
from .tickets import STATUSES

DEFAULT_DB = "sqlite:///citysigns-tickets.db"
log = logging.getLogger("citysigns.serve")


def build_service(
    db_url: str = DEFAULT_DB,
    catalog_paths: Sequence[str | Path] = ("indicators/catalog",),
    routing_path: str | Path | None = None,
    outbox_path: str | Path | None = None,
    clock: Clock | None = None,
    locate: Callable[[str], str | None] | None = None,
    names: AreaNames | None = None,
) -> TicketService:
    """A ticket service over the store at `db_url` (migrated), the catalog and the routing;
    `locate` places sensor ids (`SensorRegistry.locator`), `names` names areas in hotline
    tickets' summaries (`CityAreaNames`)."""
    catalog = load_catalog_or_raise(list(catalog_paths))
    router = Router(load_routing(routing_path))
    if clock is None or isinstance(clock, SystemClock):
        # deadlines in the weeks ahead of today beyond the statutory calendar's years; a replay
        # on the data's clock is warned of when a deadline reaches such a year (workcal), not
        # because of today's date: March 2026 data replayed in December is not 2027's business
        warn_if_uncovered(router)
    return TicketService(
        TicketStore.from_url(db_url),
        router=router,
        catalog=catalog.indicators,
        clock=clock,
        outbox=Outbox(outbox_path),
        locate=locate,
        names=names,
    )


# A store whose latest event is further behind the wall clock than this was written on
# another clock (a replay: `citysigns demo`, `dispatch --data-time`), or has been idle.
STALE_AFTER_S = 24 * 3600


def _behind(seconds: int) -> str:
    days = seconds / 86400
    return f"{seconds / 3600:.0f} hours" if days < 2 else f"{days:,.0f} days"


def stale_store_warning(service: TicketService, now: int, timers: bool = True) -> str | None:
    """What serving `service` at wall-clock `now` would do to a store whose latest event is
    more than a day behind it while tickets are still open, or None when it is current.

    A replay stamps tickets with the data's time; `serve`'s timer judges them on today's.
    Its first tick closes (or reopens) every ticket whose verification period ended months
    ago and supervises every overdue one a tier up, as if nobody had acted all that time:
    the warning says so before it happens, and that `--no-timers` serves the store as it
    is.  With `timers` off it only says that nothing will be judged."""
    with service.store.begin() as conn:
        latest = service.store.latest_activity(conn)
        if latest is None or now - latest <= STALE_AFTER_S:
            return None
        open_n = service.store.count_tickets(
            conn, TicketFilter(status=[s for s in STATUSES if s != "closed"])
        )
        if open_n == 0:
            return None
        due = service.store.due_before(conn, now)
    when = datetime.fromtimestamp(latest, UTC).strftime("%Y-%m-%d %H:%M UTC")
    tickets = f"{open_n:,} ticket{'' if open_n == 1 else 's'}"
    head = (f"the ticket store's latest event ({when}) is {_behind(now - latest)} behind the "
            f"wall clock, with {tickets} open: it looks written by a replay on the data's "
            "clock")  # fmt: skip
    if not timers:
        return f"{head}; timers are off (--no-timers): no deadline or verification is judged"
    verifying = sum(t.status == "verifying" for t in due)
    return (f"{head}. The timer judges them on today's clock at once: {verifying:,} under "
            f"verification will be closed or reopened, {len(due) - verifying:,} past a "
            "deadline supervised (督办) a tier up. Serve it with --no-timers to leave them "
            "as they are")  # fmt: skip


def serve(
    tokens_path: str | Path,
    db_url: str = DEFAULT_DB,
    host: str = "127.0.0.1",
    port: int = 8080,
    catalog_paths: Sequence[str | Path] = ("indicators/catalog",),
    routing_path: str | Path | None = None,
    outbox_path: str | Path | None = None,
    names: AreaNames | None = None,
    tick_every: float = 30.0,
    max_body: int = DEFAULT_MAX_BODY,
    metrics_port: int | None = None,
    metrics_every: float = 15.0,
    timers: bool = True,
) -> None:
    """Run the API until interrupted; with `metrics_port`, also export the store's ticket counts
    (open, overdue, supervised, closed by deadline) for Prometheus on 127.0.0.1.  Without
    `timers` no deadline or verification period is judged (a replay's store, served to be
    read): the API still takes actions, and the outbox is flushed as orders arrive; overdue
    tickets are then counted at the store's own time (its latest signal), not today's."""
    import uvicorn

    tokens = TokenRegistry.from_file(tokens_path)  # its mistakes before the store is opened
    service = build_service(db_url, catalog_paths, routing_path, outbox_path, names=names)
    stale = stale_store_warning(service, int(time.time()), timers)
    if stale is not None:  # a warning of what the timer will do; with none, only a note
        log.log(logging.WARNING if timers else logging.INFO, "%s", stale)
    app = create_app(service, tokens, names=names,
                     max_body=max_body, tick_every=tick_every if timers else 0.0)  # fmt: skip
    exporter, refresher = None, None
    if metrics_port is not None:
        metrics = CitySignsMetrics.for_catalog(service.catalog.values(), tickets_only=True)
        exporter = serve_metrics(metrics, port=metrics_port)
        if not timers:  # judged on today's date, a replay's tickets in hand would be overdue
            log.info("timers are off (--no-timers): citysigns_tickets_overdue counts the "
                     "tickets past a deadline at the store's latest signal, the data's time, "
                     "not on today's date")  # fmt: skip
        refresher = TicketCountsRefresher(
            service.store, metrics, every=metrics_every, service=service,
            clock=time.time if timers else None,
        ).start()  # fmt: skip
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if refresher is not None:
            refresher.stop()
        if exporter is not None:
            exporter.stop()
