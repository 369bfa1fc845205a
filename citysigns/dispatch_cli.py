"""`citysigns dispatch`: the flow's warnings (and the hotline's orders) into the ticket store,
once over what the files hold or following them as the flow appends (alerts/feed.py)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import fail, require_catalog, require_file
from .paths import CATALOG_DIR
from .registry_cli import load_or_exit

console = Console(width=200)
err = Console(stderr=True, soft_wrap=True)
# the ticket store, the API's and the exporter's modules are imported when the command runs:
# every `citysigns` command imports this module, and `run` should not carry FastAPI and
# SQLAlchemy in the flow's memory
DEFAULT_DB = "sqlite:///citysigns-tickets.db"  # as `citysigns serve`


def dispatch(
    warnings: Annotated[Path, typer.Option(help="the flow's OUT/warnings.ndjson")],
    orders: Annotated[
        Path | None,
        typer.Option(help="the flow's OUT/orders.ndjson (or raw 12345 hotline records)"),
    ] = None,
    db: Annotated[str, typer.Option(help="SQLAlchemy URL of the ticket store")] = DEFAULT_DB,
    catalog: Annotated[
        list[Path] | None,
        typer.Option("--catalog", "-c", help="catalog dir or file (repeat)", metavar="PATH"),
    ] = None,
    routing: Annotated[Path | None, typer.Option(help="routing rules YAML")] = None,
    registry: Annotated[
        Path | None, typer.Option(help="the sensor registry the flow runs with (CSV or .npz)")
    ] = None,
    outbox: Annotated[Path | None, typer.Option(help="outbox journal (survives crashes)")] = None,
    position: Annotated[
        Path | None,
        typer.Option(help="directory keeping how far each file was applied, for restarts"),
    ] = None,
    follow_files: Annotated[
        bool, typer.Option("--follow", help="keep reading what the flow appends, until stopped")
    ] = False,
    data_time: Annotated[
        bool, typer.Option(help="a replay of history: deadlines run in the data's time")
    ] = False,
    tick: Annotated[
        int, typer.Option(min=1, help="with --data-time: judge deadlines every N seconds")
    ] = 300,
    poll: Annotated[float, typer.Option(help="with --follow: seconds between reads")] = 0.5,
    order_hold: Annotated[
        float,
        typer.Option(
            min=0,
            help="with --follow: the longest an order waits for the warnings that may come "
            "before it (seconds)",
        ),
    ] = 900.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="export the ticket store's health for Prometheus on this port",
            min=0,
            max=65535,
        ),
    ] = None,
) -> None:
    """Turn the flow's warnings and hotline orders into tickets.

    Applying is idempotent: a file read again creates nothing twice.  Without --data-time
    the wall clock stamps the tickets and `citysigns serve` judges their deadlines; with it,
    serve the store with `citysigns serve --no-timers`, or today's date judges them.

    An order is applied after the warnings up to its time, so that it corroborates their
    incident: following the files, it waits until the warnings read show the flow has
    closed the windows of its family up to its time (the indicators' lateness), at most
    --order-hold seconds."""
    from alerts.areas import CityAreaNames
    from alerts.clock import EventClock
    from alerts.feed import Feed, LineFollower, follow
    from alerts.serve import build_service
    from alerts.store import StoreUnavailableError
    from flows.city import load_city
    from flows.metrics import CitySignsMetrics, MetricsPortError
    from flows.metrics import serve as serve_metrics
    from indicators.language.diagnostics import CatalogError

    for path in (warnings, orders):
        if path is None or path.is_file():
            continue
        if not follow_files:  # a mistyped path read nothing and reported "nothing new"
            fail(f"no such file: {path}")
        err.print(f"{path} does not exist yet: waiting for the flow to write it", markup=False,
                  highlight=False)  # fmt: skip
    require_file(routing, "routing file")
    require_catalog(catalog)
    city = load_city()
    sensors = load_or_exit(registry, code=2)
    clock = EventClock(0) if data_time else None
    try:
        service = build_service(
            db, [str(p) for p in catalog or [CATALOG_DIR]], routing, outbox, clock,
            locate=sensors.locator(city), names=CityAreaNames(city),
        )  # fmt: skip
    except StoreUnavailableError as e:  # --db
        fail(f"cannot start: {e}")
    except CatalogError as e:
        for d in e.diagnostics:
            err.print(str(d), markup=False, highlight=False)
        fail("fix the errors above first (`citysigns check`)", 1)
    except ValueError as e:  # a bad routing file
        fail(f"cannot start: {e}", 1)
    if position is not None:
        position.mkdir(parents=True, exist_ok=True)
    feed = Feed(
        service,
        LineFollower(warnings, None if position is None else position / "warnings.pos"),
        None if orders is None else LineFollower(
            orders, None if position is None else position / "orders.pos"
        ),
        city,
        clock.set if clock is not None else None,
        tick,
        live=follow_files,
        order_hold=order_hold,
    )  # fmt: skip
    exporter = None
    if metrics_port is not None:  # store up, outbox backlog, store errors, held orders
        metrics = CitySignsMetrics.for_catalog(service.catalog.values(), tickets_only=True)
        try:
            exporter = serve_metrics(metrics, port=metrics_port)
        except MetricsPortError as e:
            service.store.dispose()
            fail(f"cannot start: {e}")

        def export_health() -> None:
            metrics.watch_ticket_service(service)
            if follow_files:
                metrics.set_orders_held(feed.held)

        feed.after_step = export_health
    try:
        if follow_files:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            follow(feed, stop, poll)
        else:
            while feed.step() or not feed.at_end:  # a file larger than one read takes several
                pass
        feed.flush_queued()  # in data time, each at its own time
    finally:
        if exporter is not None:
            exporter.stop()
    counts = feed.counts
    console.print(f"dispatch: {counts.summary()}", highlight=False)
    if counts.skipped:
        lines = ", ".join(f"{n:,} {why}" for why, n in sorted(counts.skipped.items()))
        console.print(f"lines skipped: {lines} (each logged with its file:line)", highlight=False)
    if feed.held:
        console.print(f"orders still waiting for their warnings: {feed.held:,}, not applied "
                      "(the next start reads them again)", highlight=False)  # fmt: skip
    waiting = service.pending()
    service.store.dispose()
    if waiting:  # the store refused them to the end
        kept = (f"they are kept in {outbox}" if outbox is not None else
                "the next start reads them again from the files")  # fmt: skip
        fail(f"{waiting:,} warnings and orders not applied: {service.last_error}; start the "
             f"same command again once the store is back ({kept})", 1)  # fmt: skip
