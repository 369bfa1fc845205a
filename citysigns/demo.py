"""`citysigns demo`: the whole path on embedded data, with a progress bar and a summary.

Three scenarios, each replayed through the same catalog and flow:
- the simulated city (flows/simulator): two days of sensors and citizen reports with scripted
  incidents (a burst water main, a flood, a pollution episode, a silent sensor);
- real air quality: two months of Beijing's 12 stations (flows/realdata);
- real 311 requests: the two weeks of Boston's January 2015 blizzard (flows/realdata)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows import flow as flow_module
from flows.city import load_default_registry
from flows.flow import FlowConfig
from flows.realdata import beijing_records, boston_records, write_ndjson
from flows.simulator.simulate import write_demo_inputs

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
    cfg = FlowConfig(tuple(str(p) for p in scenario.inputs), str(out), chunk_bytes=1 << 20)
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
