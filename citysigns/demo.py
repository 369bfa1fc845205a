"""`citysigns demo`: the whole path on embedded data, with a progress bar and a summary.

Three scenarios, each replayed through the same catalog and flow:
- the simulated city (flows/simulator): two days of sensors and citizen reports with scripted
  incidents (a burst water main, a flood, a pollution episode, a silent sensor);
- real air quality: two months of Beijing's 12 stations (flows/realdata);
- real 311 requests: the two weeks of Boston's January 2015 blizzard (flows/realdata)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alerts.areas import CityAreaNames
from alerts.clock import ManualClock
from alerts.demo import DepartmentScript, drive, print_ticket_table
from alerts.feed import FeedCounts, read_hotline_orders
from alerts.hotline import HotlineOrder
from alerts.routing import Router, load_routing
from alerts.scored import ScoredBatch
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from alerts.tickets import Ticket
from alerts.warning_state import WarningStateMachine
from flows import flow as flow_module
from flows.city import City, load_city, load_default_registry
from flows.flow import FlowConfig
from flows.realdata import beijing_records, boston_records, write_ndjson
from flows.simulator.simulate import write_demo_inputs
from indicators.language.validate import load_catalog_or_raise

from .paths import CATALOG_DIR
from .run import RunSummary, run


@dataclass
class Scenario:
    name: str
    inputs: list[Path]
    records: int


def prepare_inputs(root: Path) -> list[Scenario]:
    root.mkdir(parents=True, exist_ok=True)
    sim = write_demo_inputs(root / "city", days=2)
    city_files = [p for p in sim.files.values() if p.stat().st_size]
    beijing = root / "beijing_air.ndjson"
    n_bj = write_ndjson(beijing_records(load_default_registry()), beijing)
    boston = root / "boston_311.ndjson"
    n_bos = write_ndjson(boston_records(), boston)
    return [
        Scenario("simulated city", city_files, sum(sim.lines.values())),
        Scenario("Beijing air quality 2017-01/02 (real)", [beijing], n_bj),
        Scenario("Boston 311, Jan 2015 blizzard (real)", [boston], n_bos),
    ]


def run_with_progress(console: Console, scenario: Scenario, out: Path) -> RunSummary:
    total = sum(p.stat().st_size for p in scenario.inputs)
    start = flow_module.Progress.decoded_bytes
    result: list[RunSummary] = []
    cfg = FlowConfig(
        tuple(str(p) for p in scenario.inputs), str(out), chunk_bytes=1 << 20, write_scored=True
    )
    worker = threading.Thread(target=lambda: result.append(run(cfg)), daemon=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(scenario.name, total=total)
        worker.start()
        while worker.is_alive():
            bar.update(task, completed=flow_module.Progress.decoded_bytes - start)
            time.sleep(0.1)
        bar.update(task, completed=total)
    worker.join()
    if not result:
        raise RuntimeError(f"the {scenario.name} run failed; see the messages above")
    return result[0]


def run_demo(console: Console, root: Path) -> None:
    console.print(f"[bold]citysigns demo[/]: inputs and outputs under {root}")
    scenarios = prepare_inputs(root / "inputs")
    table = Table(title="demo summary")
    for col in ("scenario", "records", "windows", "no-signal", "dead letters", "outputs"):
        table.add_column(col, justify="left" if col in ("scenario", "outputs") else "right")
    for i, sc in enumerate(scenarios):
        out = root / f"out{i + 1}"
        s = run_with_progress(console, sc, out)
        letters = ", ".join(f"{r} {n}" for r, n in sorted(s.dead_letters.items())) or "none"
        table.add_row(sc.name, f"{sc.records:,}", f"{s.windows:,}", f"{s.no_signal:,}",
                      letters, str(out))  # fmt: skip
    console.print(table)
    hotline = next(p for p in scenarios[0].inputs if p.name.startswith("hotline"))
    console.print("[bold]dispatch on the simulated city[/]: warnings -> incidents -> tickets")
    dispatch_replay(console, root / "out1", hotline)


def scored_batches(path: Path) -> list[ScoredBatch]:
    """The flow's scored windows, as one batch per window end (time order)."""
    by_end: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            by_end[row["end"]].append(row)
    out = []
    for end in sorted(by_end):
        rows = by_end[end]

        def col(key: str, rows: list[dict[str, Any]] = rows) -> list[Any]:
            return [np.nan if r[key] is None else r[key] for r in rows]

        out.append(
            ScoredBatch.from_columns(
                indicator_id=col("indicator"),
                area_code=col("area"),
                area_level=col("area_level"),
                window_start=col("start"),
                window_end=col("end"),
                value=col("value"),
                score=col("score"),
                lower=col("lower"),
                upper=col("upper"),
                detectors=col("detectors"),
                count=[r.get("count", -1) for r in rows],  # (files written before it: unknown)
            )
        )
    return out


def hotline_orders(path: Path, city: City) -> list[HotlineOrder]:
    """The scenario's hotline orders, masked and placed as the dispatcher reads them (bad
    records skipped: the flow has already dead-lettered them)."""
    with path.open("rb") as f:
        lines = list(enumerate(f, 1))
    return read_hotline_orders(lines, path, city, FeedCounts(log_skips=False))


def dispatch_replay(console: Console, run_dir: Path, hotline: Path) -> None:
    """Warnings -> incidents -> tickets over the simulated city's scored windows, with
    departments that accept, handle and sometimes ignore, in data time."""
    city = load_city()
    registry = load_default_registry()
    catalog = load_catalog_or_raise([CATALOG_DIR])

    batches = scored_batches(run_dir / "scored.ndjson")
    orders = hotline_orders(hotline, city)
    start = min(int(b.window_start.min()) for b in batches)
    clock = ManualClock(start)
    db = run_dir / "tickets.db"
    db.unlink(missing_ok=True)
    service = TicketService(
        TicketStore.from_url(f"sqlite:///{db}"), router=Router(load_routing(None)),
        catalog=catalog.indicators, clock=clock, locate=registry.locator(city),
        names=CityAreaNames(city),
    )  # fmt: skip
    machine = WarningStateMachine(catalog.indicators, CityAreaNames(city))
    span = data_span(hotline.parent / "manifest.json")
    end = None if span is None else span[1]
    if span is not None:
        console.print(
            f"data time {_when(span[0])} to {_when(span[1])}: the departments' clock stops at "
            "the end of the data, so tickets still in hand then stay open",
            highlight=False,
        )
    result = drive(batches, orders, clock, service, machine, DepartmentScript(), until=end)
    every = service.list_tickets(TicketFilter(limit=1_000_000))
    print_ticket_table([t for t in every if t.warning_count > 0], console)
    unchecked = {
        t.id
        for t in every
        if t.warning_count > 0 and t.status == "closed"
        and any(a.action == "closed" and a.detail.get("data_check") is False
                for a in service.audit(t.id))
    }  # fmt: skip
    for line in dispatch_summary(every, result.count("linked"), unchecked):
        console.print(line, highlight=False)
    console.print(f"store {db}", highlight=False)
    console.print(serve_hint(db), highlight=False)


def serve_hint(db: Path) -> str:
    """How to browse the demo's store with the API.  Its tickets are on the data's clock:
    served with timers, today's date would close every ticket under verification and
    supervise every overdue one at once, so the hint says --no-timers, and why."""
    return (f"browse it: citysigns serve --tokens alerts/examples/tokens.yaml --db "
            f"sqlite:///{db} --no-timers (its tickets are on the data's clock: with timers, "
            "today's date would close and supervise them at once)")  # fmt: skip


def data_span(manifest: Path) -> tuple[int, int] | None:
    """Start and end of the simulated data (epoch seconds) as its manifest gives them, None
    without one: the flow's windows say neither (a day's or a week's window starts before
    the data and ends days after it)."""
    try:
        m = json.loads(manifest.read_text("utf-8"))
        return int(m["start_ms"]) // 1000, int(m["end_ms"]) // 1000
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _when(ts: int, tz: str = "Asia/Shanghai") -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%m-%d %H:%M")


def dispatch_summary(
    tickets: list[Ticket], linked: int, unchecked: Collection[str] = ()
) -> list[str]:
    """The demo's closing lines, each saying exactly what it counts: tickets by where they
    came from (an incident a hotline order opened and a warning joined is an incident, not
    "raised by a warning"), closes by whether data checked them, reopenings and supervisions
    as events and as the tickets they happened to.  `unchecked`: the incidents whose close
    was no data check (a warning cleared on windows too thin to judge, detail `data_check`
    false), which are not said to have "stayed normal"."""
    incidents = [t for t in tickets if t.warning_count > 0]
    by_warning = sum(t.origin != "hotline" for t in incidents)
    orders = len(tickets) - len(incidents)
    statuses = ", ".join(
        f"{k} {n:,}" for k, n in sorted(Counter(t.status for t in tickets).items())
    )
    closed_inc = sum(t.status == "closed" for t in incidents)
    no_check = sum(t.status == "closed" and t.id in unchecked for t in incidents)
    noun = "incident" if no_check == 1 else "incidents"
    without = (f"{no_check:,} {noun} without a data check (too few records to judge), "
               if no_check else "")  # fmt: skip
    closed_orders = sum(t.status == "closed" and t.warning_count == 0 for t in tickets)
    reopened = [t for t in tickets if t.reopen_count]
    supervised = [t for t in tickets if t.supervised]
    return [
        f"{len(tickets):,} tickets ({statuses}): {len(incidents):,} incidents with warnings "
        f"behind them (above: {by_warning:,} opened by a warning, "
        f"{len(incidents) - by_warning:,} by a hotline order a warning then joined), "
        f"{orders:,} hotline orders no warning joined",
        f"closed {closed_inc + closed_orders:,}: {closed_inc - no_check:,} incidents after "
        f"their indicators stayed normal through verification, {without}"
        f"{closed_orders:,} hotline orders "
        "after feedback, without a data check",
        f"reopenings {sum(t.reopen_count for t in reopened):,} (of {len(reopened):,} tickets); "
        f"supervisions (missed deadline, or reopened thrice) "
        f"{sum(t.supervise_count for t in supervised):,} (of {len(supervised):,} tickets); "
        f"hotline orders linked as duplicates {linked:,}",
    ]
