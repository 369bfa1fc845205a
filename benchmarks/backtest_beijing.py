"""Backtest speed: the PM2.5 indicator over all 12 Beijing stations for four years
(2013-03-01 .. 2017-02-28, 420,768 station-hours), through the flow's decoder, windows,
detectors and warning state machine, as `citysigns backtest` runs it.

    .venv/bin/python benchmarks/backtest_beijing.py [--data ../shared/data/beijing-aq]
        [--runs 3] [--tickets] [--out benchmarks/results/backtest_beijing.json]

Phases timed separately: reading and converting the CSVs (polars), the replay (decode ->
windows -> detectors -> warnings), and with --tickets the ticket service over the warnings.
Prints the figures and writes them as JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from indicators.backtest.replay import dispatch_run, load_definitions, open_source, run_backtest
from indicators.backtest.report import episodes, summarise

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "beijing-aq")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tickets", action="store_true", help="also time the ticket service")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/backtest_beijing.json")
    args = ap.parse_args(argv)
    inds, catalog = load_definitions([ROOT / "indicators/catalog/air.yaml"], ["air.pm25"])
    load_s, replay_s = [], []
    run = None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        source = open_source(args.data, inds, None, None)
        t1 = time.perf_counter()
        run = run_backtest(inds, source, catalog, tickets=False)
        load_s.append(t1 - t0)
        replay_s.append(run.replay_seconds)
    assert run is not None
    total = [a + b for a, b in zip(load_s, replay_s, strict=True)]
    eps = episodes(run.result.warnings, run.end)
    result: dict[str, object] = {
        "what": "air.pm25 backtest, 12 Beijing stations, 2013-03 .. 2017-02",
        "records": run.source.records,
        "windows_scored": run.result.windows,
        "warning_events": len(run.result.warnings),
        "episodes_per_level": summarise(eps, []).per_level,
        "load_seconds": [round(x, 2) for x in load_s],
        "replay_seconds": [round(x, 2) for x in replay_s],
        "total_seconds_median": round(statistics.median(total), 2),
        "records_per_s": round(run.source.records / statistics.median(replay_s)),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    if args.tickets:
        t0 = time.perf_counter()
        dispatch_run(run, catalog)
        result["tickets"] = len(run.tickets)
        result["ticket_seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
