"""`citysigns serve`: build the ticket service from files and run the API with uvicorn.

The CLI (citysigns/) calls `serve(...)`; tests and embedders call `build_service` and
`api.create_app` directly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from .store import TicketStore
from .ticket_metrics import TicketCountsRefresher

DEFAULT_DB = "sqlite:///citysigns-tickets.db"


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
) -> None:
    """Run the API until interrupted; with `metrics_port`, also export the store's ticket counts
    (open, overdue, supervised, closed by deadline) for Prometheus on 127.0.0.1."""
    import uvicorn

    service = build_service(db_url, catalog_paths, routing_path, outbox_path, names=names)
    app = create_app(service, TokenRegistry.from_file(tokens_path), names=names,
                     max_body=max_body, tick_every=tick_every)  # fmt: skip
    exporter, refresher = None, None
    if metrics_port is not None:
        metrics = CitySignsMetrics.for_catalog(service.catalog.values(), tickets_only=True)
        exporter = serve_metrics(metrics, port=metrics_port)
        refresher = TicketCountsRefresher(
            service.store, metrics, every=metrics_every, service=service
        ).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if refresher is not None:
            refresher.stop()
        if exporter is not None:
            exporter.stop()
