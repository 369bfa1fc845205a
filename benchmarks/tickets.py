"""Ticket changes per second on SQLite and on PostgreSQL.

    python -m benchmarks.tickets [--series 2000] [--pg-url postgresql+psycopg://...]

A synthetic city of street series runs through the warning state machine; every series has one
incident (blue, escalating to yellow, then resolving), staggered so incidents overlap.  Two
phases are timed on the ticket side only:

- ingest: the warning events, one `submit_warnings` call per window batch, as the flow calls it
  (creations, level changes and resolutions: one transaction per batch, through the outbox);
- actions: every ticket accepted, started and reported handled, one transaction per action,
  as the API calls it.

A change is one audit-log entry (every ticket change writes exactly one).  Each store is
measured `--repeat` times on a fresh database and the median run is reported (the machine is
shared; single runs vary by +-20%).  Without --pg-url a
throwaway PostgreSQL is started from Debian's binaries (scripts/ensure-postgres.sh installs
them) in a temp directory and stopped afterwards; `--no-pg` skips it.  The last line printed is
the JSON summary, also written to benchmarks/results/tickets.json."""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from alerts.clock import ManualClock
from alerts.events import WarningEvent
from alerts.scored import ScoredBatch
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from alerts.warning_state import WarningStateMachine
from indicators.language.model import Indicator

RESULTS = Path(__file__).resolve().parent / "results"
T0 = 1772330400
STEP = 900

INDICATOR = {
    "id": "bench.pressure", "title": {"zh": "供水压力", "en": "Water pressure"},
    "category": "water", "unit": "MPa", "owner": "water",
    "source": {"kind": "water_supply"},
    "value": {"field": "pressure", "aggregate": "mean", "window": {"length": "15m"},
              "levels": ["street"]},
    "detection": {"detectors": [{"type": "threshold", "lower": 0.14}],
                  "warnings": {"on": "value", "direction": "below",
                               "levels": {"blue": {"threshold": 0.2, "for": "15m"},
                                          "yellow": {"threshold": 0.17, "for": "15m"}},
                               "clear": {"threshold": 0.25, "for": "15m"}}},
    "dispatch": {"department": "water_supply", "tiers": {"blue": "street", "yellow": "street"}},
}  # fmt: skip


def series_codes(n: int) -> list[str]:
    """n street codes spread over the 16 districts (distinct streets: distinct incidents)."""
    districts = [f"3101{d:02d}" for d in (1, 4, 5, 6, 7, 9, 10, 12, 13, 14, 15, 16, 17, 18,
                                          20, 51)]  # fmt: skip
    return [f"{districts[i % 16]}{i // 16 + 1:03d}" for i in range(n)]


def batches(n: int) -> Iterator[ScoredBatch]:
    """Per window, one batch over all series: each has a 4-window incident at its own time."""
    codes = np.array(series_codes(n))
    onset = (np.arange(n) * 7) % 40
    for k in range(48):
        rel = k - onset
        values = np.where(rel < 0, 0.3, np.where(rel < 1, 0.19, np.where(rel < 3, 0.16,
                          np.where(rel < 4, 0.19, 0.3))))  # fmt: skip
        end = T0 + STEP * (k + 1)
        yield ScoredBatch.from_columns(
            indicator_id=np.full(n, "bench.pressure"), area_code=codes,
            area_level=np.full(n, "street"), window_start=np.full(n, end - STEP),
            window_end=np.full(n, end), value=values, lower=np.full(n, 0.28),
            upper=np.full(n, 0.35), detectors="threshold",
        )  # fmt: skip


def run(url: str, n: int) -> dict[str, Any]:
    ind = Indicator.model_validate(INDICATOR)
    machine = WarningStateMachine([ind])
    per_batch: list[tuple[int, list[WarningEvent]]] = []
    for b in batches(n):
        per_batch.append((int(b.window_end.max()), machine.process(b)))
    clock = ManualClock(T0)
    store = TicketStore.from_url(url)
    svc = TicketService(store, catalog=[ind], clock=clock)

    def changes() -> int:
        with store.begin() as conn:
            return store.audit_count(conn)

    c0 = changes()
    t0 = time.perf_counter()
    for at, events in per_batch:
        clock.set(at)
        svc.submit_warnings(events)
    ingest_s = time.perf_counter() - t0
    c1 = changes()
    tickets = svc.list_tickets(TicketFilter(limit=10**6))
    t1 = time.perf_counter()
    for t in tickets:
        svc.accept(t.id, "bench")
        svc.start(t.id, "bench")
        svc.feedback(t.id, "bench", "done")
    actions_s = time.perf_counter() - t1
    c2 = changes()
    store.dispose()
    return {
        "events": sum(len(e) for _, e in per_batch),
        "tickets": len(tickets),
        "ingest_changes": c1 - c0,
        "ingest_changes_per_s": round((c1 - c0) / ingest_s),
        "action_changes": c2 - c1,
        "action_changes_per_s": round((c2 - c1) / actions_s),
        "changes_per_s": round((c2 - c0) / (ingest_s + actions_s)),
    }


@contextlib.contextmanager
def temp_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1 (as the `postgres` user when run as root)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL binaries missing: run scripts/ensure-postgres.sh")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="citysigns-bench-pg-"))
    sock = root / "sock"
    sock.mkdir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        for p in (root, sock):
            shutil.chown(p, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    pid = None
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                        str(root / "log"), "-w", "-o",
                        f"-h 127.0.0.1 -p {port} -k {sock}", "start"],
                       check=True, capture_output=True)  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
                for _ in range(200):
                    os.kill(pid, 0)
                    time.sleep(0.05)
        shutil.rmtree(root, ignore_errors=True)


def median_run(url_for: Any, n: int, repeat: int) -> dict[str, Any]:
    """Run `repeat` times (each on a fresh database from `url_for(i)`); the median by overall
    changes per second, with every run's figure kept."""
    runs = [run(url_for(i), n) for i in range(repeat)]
    runs.sort(key=lambda r: r["changes_per_s"])
    best = dict(runs[len(runs) // 2])
    best["runs_changes_per_s"] = [r["changes_per_s"] for r in runs]
    return best


def _pg_database(base_url: str, i: int) -> str:
    import psycopg

    name = f"bench_{os.getpid()}_{i}"
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--pg-url", default=None, help="an empty PostgreSQL database to use")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "tickets.json")
    args = ap.parse_args(argv)
    summary: dict[str, Any] = {"series": args.series}
    with tempfile.TemporaryDirectory() as d:
        summary["sqlite"] = median_run(lambda i: f"sqlite:///{d}/bench{i}.db", args.series,
                                       args.repeat)  # fmt: skip
    print("sqlite    ", summary["sqlite"])
    if not args.no_pg:
        if args.pg_url:
            summary["postgresql"] = median_run(lambda i: _pg_database(args.pg_url, i),
                                               args.series, args.repeat)  # fmt: skip
        else:
            try:
                with temp_postgres() as url:
                    summary["postgresql"] = median_run(lambda i: _pg_database(url, i),
                                                       args.series, args.repeat)  # fmt: skip
            except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
                summary["postgresql"] = {"skipped": str(e)}
        print("postgresql", summary["postgresql"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
