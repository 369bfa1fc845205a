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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    result = drive(batches, orders, clock, service, machine, DepartmentScript())
    every = service.list_tickets(TicketFilter(limit=1_000_000))
    incidents = [t for t in every if t.warning_count > 0]
    console.print(
        f"{len(every):,} tickets: {len(incidents)} raised by warnings (below), "
        f"{len(every) - len(incidents):,} from single hotline orders; "
        + ", ".join(f"{k} {n}" for k, n in sorted(Counter(t.status for t in every).items())),
        highlight=False,
    )
    print_ticket_table(incidents, console)
    shown = {
        "supervised (missed deadline or reopened thrice)": sum(t.supervised for t in every),
        "verified and closed": sum(t.status == "closed" and t.warning_count > 0 for t in every),
        "reopened": sum(t.reopen_count > 0 for t in every),
        "hotline orders linked as duplicates": result.count("linked"),
    }
    console.print(
        "dispatch: " + ", ".join(f"{k} {v}" for k, v in shown.items()) + f"; store {db}",
        highlight=False,
    )
