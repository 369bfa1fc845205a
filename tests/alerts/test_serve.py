"""`citysigns serve` on a store a replay wrote: the tickets are on the data's clock, the timer
on the wall clock's.  Serving such a store is warned of at start, and `--no-timers` serves it
without judging anything on today's date, its exported overdue count included."""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import alerts.serve
from alerts.clock import ManualClock
from alerts.hotline import HotlineOrder
from alerts.serve import stale_store_warning
from alerts.service import TicketService
from flows.metrics import MetricsServer
from tests.alerts.alerts_helpers import T0
from tests.alerts.conftest import REPO, ServiceFactory

DAY = 86400
NINE_MONTHS = 275 * DAY


@pytest.fixture
def replayed(make_service: ServiceFactory) -> TicketService:
    """A store holding two open hotline tickets stamped with March's data time."""
    svc = make_service()
    svc.submit_orders([
        HotlineOrder("j1", "road_damage", T0, 31.23, 121.45, "310106003001001", "pothole"),
        HotlineOrder("p1", "water_outage", T0, 31.20, 121.55, "310115001001001", "no water"),
    ])  # fmt: skip
    return svc


def test_a_store_far_behind_the_wall_clock_is_warned_of_with_what_the_timer_will_do(
    replayed: TicketService,
) -> None:
    warning = stale_store_warning(replayed, T0 + NINE_MONTHS)
    assert warning is not None
    assert "275 days behind the wall clock" in warning and "2 tickets open" in warning
    assert "2 past a deadline supervised" in warning and "--no-timers" in warning
    off = stale_store_warning(replayed, T0 + NINE_MONTHS, timers=False)
    assert off is not None and "timers are off" in off and "supervised" not in off
    # a store that is current, or whose tickets are all closed, is served without a word
    assert stale_store_warning(replayed, T0 + 3600) is None


def test_an_empty_store_is_not_warned_of(make_service: ServiceFactory) -> None:
    assert stale_store_warning(make_service(), T0 + NINE_MONTHS) is None


@pytest.mark.parametrize(("timers", "tick_every"), [(True, 30.0), (False, 0.0)])
def test_serve_warns_at_start_and_runs_no_timer_with_no_timers(
    replayed: TicketService,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    timers: bool,
    tick_every: float,
) -> None:
    """The store `citysigns demo` leaves, served on today's date: the warning is logged
    before the API starts, and with --no-timers the API gets no ticker."""
    built: dict[str, Any] = {}

    def create_app(*_a: Any, **kw: Any) -> object:
        built.update(kw)
        return object()

    monkeypatch.setattr(alerts.serve, "create_app", create_app)
    monkeypatch.setattr("uvicorn.run", lambda *_a, **_k: None)
    monkeypatch.setattr("time.time", lambda: float(T0 + NINE_MONTHS))
    tokens = Path(REPO / "alerts" / "examples" / "tokens.yaml")
    with caplog.at_level(logging.INFO, logger="citysigns.serve"):
        alerts.serve.serve(tokens, sqlite_url, timers=timers)
    assert built["tick_every"] == tick_every
    ((level, message),) = [(r.levelno, r.getMessage()) for r in caplog.records
                           if r.name == "citysigns.serve"]  # fmt: skip
    assert level == (logging.WARNING if timers else logging.INFO)
    assert "275 days behind" in message
    assert ("Serve it with --no-timers" in message) is timers


def test_the_demo_says_to_serve_its_store_without_timers(tmp_path: Path) -> None:
    from citysigns.demo import serve_hint

    hint = serve_hint(tmp_path / "tickets.db")
    assert f"--db sqlite:///{tmp_path / 'tickets.db'} --no-timers" in hint


@pytest.mark.parametrize(("timers", "overdue"), [(True, 3.0), (False, 2.0)])
def test_no_timers_counts_overdue_tickets_at_the_store_s_time(
    replayed: TicketService,
    clock: ManualClock,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    timers: bool,
    overdue: float,
) -> None:
    """The exporter of `serve --no-timers` judges deadlines at the store's latest signal (a
    gas smell five days after the two March orders), not on today's date, nine months on:
    the two orders nobody accepted in those five days are overdue, the gas smell reported
    minutes before the data ended is not.  It counted all three, by the wall clock, while
    the start-up log said no deadline was judged."""
    clock.set(T0 + 5 * DAY)  # the replay's clock, at the data's time
    gas = HotlineOrder("g1", "gas_smell", T0 + 5 * DAY, 31.25, 121.40, "310106001001001", "gas")
    replayed.submit_orders([gas])
    scraped: list[str] = []
    servers: list[MetricsServer] = []

    def serve_metrics(*a: Any, **kw: Any) -> MetricsServer:
        servers.append(real_serve_metrics(*a, **kw))
        return servers[-1]

    def run_api(*_a: Any, **_k: Any) -> None:  # while the API would run: scrape the exporter
        with urllib.request.urlopen(servers[0].url, timeout=10) as resp:
            scraped.append(resp.read().decode("utf-8"))

    real_serve_metrics = alerts.serve.serve_metrics
    monkeypatch.setattr(alerts.serve, "serve_metrics", serve_metrics)
    monkeypatch.setattr(alerts.serve, "create_app", lambda *_a, **_k: object())
    monkeypatch.setattr("uvicorn.run", run_api)
    monkeypatch.setattr("time.time", lambda: float(T0 + NINE_MONTHS))
    tokens = Path(REPO / "alerts" / "examples" / "tokens.yaml")
    with caplog.at_level(logging.INFO, logger="citysigns.serve"):
        alerts.serve.serve(tokens, sqlite_url, timers=timers, metrics_port=0)
    totals = {f.name: sum(x.value for x in f.samples)
              for f in text_string_to_metric_families(scraped[0])}  # fmt: skip
    assert totals["citysigns_tickets"] == 3.0
    assert totals["citysigns_tickets_overdue"] == overdue
    said = " ".join(r.getMessage() for r in caplog.records)
    assert ("counts the tickets past a deadline at the store's latest signal" in said) is not timers
