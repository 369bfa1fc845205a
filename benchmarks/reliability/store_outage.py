"""Ticket-store outage: stop PostgreSQL for a while as the flow's warnings stream into the
ticket service through its outbox, start it again, and check that no ticket was lost or
duplicated, that the backlog drained, and that the exporter showed the outage.

    python -m benchmarks.reliability.store_outage --outage 30 [--warnings FILE]

A throwaway PostgreSQL is started on 127.0.0.1 (scripts/ensure-postgres.sh installs the
binaries).  The warnings are the flow's own (OUT/warnings.ndjson of a run; without
--warnings, the flow is run first on the embedded Beijing readings), fed at an even pace over
`--duration` seconds; the server is stopped `--outage-at` seconds in and started `--outage`
seconds later.  The exporter (flows.metrics) is served on a free port and scraped over HTTP
every 0.25 s.  The tickets are compared with those of the same warnings on SQLite without an
outage.  Prints the figures and writes benchmarks/results/reliability_store_outage.json."""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from alerts.events import WarningEvent
from alerts.outbox import Outbox
from flows.metrics import CitySignsMetrics, serve
from indicators.language.validate import load_catalog_or_raise

from .common import (
    IDENTITY_FIELDS,
    SMALL_CATALOG,
    Dispatcher,
    TicketDiff,
    machine,
    write_beijing,
    write_result,
)

WEEK = 7 * 86400


@dataclass
class OutageResult:
    outage_s: float
    duration_s: float
    events: int
    tickets: TicketDiff | None = None
    applied_keys: int = 0
    distinct_event_keys: int = 0
    max_pending: int = 0
    drained_after_restart_s: float | None = None
    store_errors: int = 0
    scrapes: int = 0
    scraped_up_min: float | None = None
    scraped_up_last: float | None = None
    scraped_pending_max: float | None = None
    scraped_pending_last: float | None = None
    scraped_errors_last: float | None = None
    timeline: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(
            self.tickets is not None
            and self.tickets.equal
            and self.applied_keys == self.distinct_event_keys
            and self.drained_after_restart_s is not None
            and self.scraped_up_min == 0.0
            and self.scraped_up_last == 1.0
            and (self.scraped_pending_max or 0) > 0
            and self.scraped_pending_last == 0.0
            and (self.scraped_errors_last or 0) > 0
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def flow_warnings(work: Path, records: int | None = None) -> Path:
    """Run the flow on the embedded Beijing readings; its warnings.ndjson."""
    from citysigns.run import run
    from flows.flow import FlowConfig

    data = work / "beijing.ndjson"
    write_beijing(data, records)
    out = work / "flow"
    run(FlowConfig((str(data),), str(out), catalog=(str(SMALL_CATALOG),), chunk_bytes=20_000))
    return out / "warnings.ndjson"


def _scrape(url: str) -> tuple[float, float, float] | None:
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode("utf-8")
    except OSError:
        return None
    got: dict[str, float] = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            if s.name in (
                "citysigns_ticket_store_up",
                "citysigns_ticket_outbox_pending",
                "citysigns_ticket_store_errors_total",
            ):
                got[s.name] = s.value
    if len(got) < 3:
        return None
    return (
        got["citysigns_ticket_store_up"],
        got["citysigns_ticket_outbox_pending"],
        got["citysigns_ticket_store_errors_total"],
    )


def store_outage(
    server: Any,
    warnings: Path,
    work: Path,
    outage_s: float,
    outage_at: float,
    duration_s: float,
    catalog: Path = SMALL_CATALOG,
    drain_timeout: float = 120.0,
) -> OutageResult:
    """`server` is a `tests.alerts.conftest.PgServer` (stop/start/create_database)."""
    lines = warnings.read_text("utf-8").splitlines()
    events = [WarningEvent.from_dict(json.loads(line)) for line in lines]
    last_at = max(e.at for e in events)
    result = OutageResult(outage_s, duration_s, len(events))
    result.distinct_event_keys = len({e.event_key for e in events})

    reference = Dispatcher(f"sqlite:///{work / 'reference.db'}", (str(catalog),))
    reference.submit(events)
    reference.finish(last_at + WEEK)
    ref_rows = reference.tickets(names=IDENTITY_FIELDS)
    reference.close()

    metrics = CitySignsMetrics.for_catalog(load_catalog_or_raise([str(catalog)]))
    exporter = serve(metrics, port=0)
    d = Dispatcher(
        server.create_database(), (str(catalog),), outbox=Outbox(work / "outbox.journal")
    )
    svc = d.service
    metrics.watch_ticket_service(svc)
    stop = threading.Event()
    marks: dict[str, float] = {}
    t0 = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            got = _scrape(exporter.url)
            if got is not None:
                result.timeline.append((round(time.monotonic() - t0, 2), *got))
            stop.wait(0.25)

    def outage() -> None:
        time.sleep(outage_at)
        marks["stopped"] = time.monotonic()
        server.stop()
        time.sleep(outage_s)
        server.start()
        marks["started"] = time.monotonic()

    def drained(pending: int) -> bool:
        """Notes the first moment after the restart when nothing waits in the outbox."""
        if pending == 0 and "started" in marks and result.drained_after_restart_s is None:
            result.drained_after_restart_s = round(time.monotonic() - marks["started"], 2)
        return pending == 0 and "started" in marks

    sampler = threading.Thread(target=sample, daemon=True)
    breaker = threading.Thread(target=outage, daemon=True)
    sampler.start()
    breaker.start()
    try:
        groups = [list(g) for _, g in itertools.groupby(events, key=lambda e: e.at)]
        for i, group in enumerate(groups):
            wait = t0 + duration_s * i / len(groups) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            d.submit(group)
            metrics.watch_ticket_service(svc)
            result.max_pending = max(result.max_pending, svc.pending())
            drained(svc.pending())
        breaker.join()
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            svc.flush()
            metrics.watch_ticket_service(svc)
            if drained(svc.pending()):
                break
            time.sleep(0.1)
        time.sleep(0.6)  # two more scrapes after the drain
    finally:
        stop.set()
        sampler.join()
        breaker.join()
        exporter.stop()
    d.finish(last_at + WEEK)
    result.tickets = TicketDiff.of(ref_rows, d.tickets(names=IDENTITY_FIELDS))
    result.applied_keys = d.applied_keys()
    result.store_errors = svc.store_errors
    d.close()
    # when the backlog drained (the loop above polls every 0.1 s)
    tl = result.timeline
    result.scrapes = len(tl)
    if tl:
        result.scraped_up_min = min(r[1] for r in tl)
        result.scraped_up_last = tl[-1][1]
        result.scraped_pending_max = max(r[2] for r in tl)
        result.scraped_pending_last = tl[-1][2]
        result.scraped_errors_last = tl[-1][3]
    return result


def main(argv: list[str] | None = None) -> OutageResult:
    from tests.alerts.conftest import PgServer, _initdb

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outage", type=float, default=30.0, help="seconds the server is down")
    ap.add_argument("--outage-at", type=float, default=10.0, help="seconds into the feed")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds the feed lasts")
    ap.add_argument("--warnings", type=Path, default=None, help="a flow's warnings.ndjson")
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args(argv)
    initdb = _initdb()
    if initdb is None:
        raise SystemExit("PostgreSQL binaries missing: run scripts/ensure-postgres.sh")
    server = PgServer(initdb.parent)
    with tempfile.TemporaryDirectory(prefix="citysigns-outage-") as tmp:
        work = Path(tmp)
        try:
            server.init()
            server.start()
            warnings = args.warnings or flow_warnings(work)
            res = store_outage(server, warnings, work, args.outage, args.outage_at, args.duration)
        finally:
            server.cleanup()
    data = {
        "what": "PostgreSQL stopped during a stream of the flow's warnings, then started",
        **res.as_dict(),
        "machine": machine(),
    }
    data["timeline"] = res.timeline[:: max(1, len(res.timeline) // 200)]
    path = write_result("reliability_store_outage.json", data, args.out)
    t = res.tickets
    assert t is not None
    print(f"outage {res.outage_s:g} s in a {res.duration_s:g} s feed of {res.events} warnings")
    print(
        f"tickets: reference {t.reference}, with outage {t.got}, lost {t.lost}, "
        f"duplicated {t.duplicated}, changed {t.changed}"
    )
    print(
        f"event keys applied {res.applied_keys} of {res.distinct_event_keys} distinct; "
        f"largest backlog {res.max_pending}; drained {res.drained_after_restart_s} s after "
        f"the restart; store errors {res.store_errors}"
    )
    print(
        f"scraped {res.scrapes}x: ticket_store_up min {res.scraped_up_min} last "
        f"{res.scraped_up_last}; outbox_pending max {res.scraped_pending_max} last "
        f"{res.scraped_pending_last}; store_errors_total {res.scraped_errors_last}"
    )
    print(f"ok: {res.ok}; {path}")
    return res


if __name__ == "__main__":
    main()
