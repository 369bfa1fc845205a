"""`citysigns serve`: build the ticket service from files and run the API with uvicorn.

The CLI (citysigns/) calls `serve(...)`; tests and embedders call `build_service` and
`api.create_app` directly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from indicators.language.validate import load_catalog_or_raise

from .api import DEFAULT_MAX_BODY, create_app
from .areas import AreaNames
from .auth import TokenRegistry
from .clock import Clock
from .outbox import Outbox
from .routing import Router, load_routing
from .service import TicketService
from .store import TicketStore

DEFAULT_DB = "sqlite:///citysigns-tickets.db"


def build_service(
    db_url: str = DEFAULT_DB,
    catalog_paths: Sequence[str | Path] = ("indicators/catalog",),
    routing_path: str | Path | None = None,
    outbox_path: str | Path | None = None,
    clock: Clock | None = None,
) -> TicketService:
    """A ticket service over the store at `db_url` (migrated), the catalog and the routing."""
    catalog = load_catalog_or_raise(list(catalog_paths))
    return TicketService(
        TicketStore.from_url(db_url),
        router=Router(load_routing(routing_path)),
        catalog=catalog.indicators,
        clock=clock,
        outbox=Outbox(outbox_path),
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
) -> None:
    import uvicorn

    service = build_service(db_url, catalog_paths, routing_path, outbox_path)
    app = create_app(service, TokenRegistry.from_file(tokens_path), names=names,
                     max_body=max_body, tick_every=tick_every)  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="info")
