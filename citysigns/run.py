"""Running the dataflow from the command line: in this process (1 or more worker threads),
with or without Bytewax recovery, and a summary of what came out."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main, run_main

from flows import instrument
from flows.city import load_city
from flows.city.registry import sensor_kinds
from flows.decode import CHANNELS
from flows.flow import FlowConfig, build_flow
from flows.metrics import (
    CitySignsMetrics,
    MetricsConfig,
    MetricsServer,
    areas_from_city,
    serve,
)
from indicators.language.validate import load_catalog_or_raise


@dataclass
class RunSummary:
    out_dir: Path
    windows: int = 0
    no_signal: int = 0
    indicators: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)


def start_metrics(cfg: FlowConfig, port: int) -> tuple[CitySignsMetrics, MetricsServer]:
    """An exporter for this process's flow, served on 127.0.0.1:`port` (0 = any free)."""
    config = MetricsConfig(port=port)
    city = load_city()
    metrics = CitySignsMetrics.for_catalog(
        load_catalog_or_raise(list(cfg.catalog)), config,
        areas=areas_from_city(city, config),
    )  # fmt: skip
    metrics.expect_events(instrument.event_series(sensor_kinds(), CHANNELS))
    instrument.install(metrics)
    return metrics, serve(metrics)


def init_recovery_dir(path: Path, partitions: int) -> None:
    """Bytewax's recovery partitions, made beside `path` and renamed into place: a kill while
    they are being made leaves no half-made directory that the next start would take as
    ready (the rename is atomic; a leftover staging directory is made again)."""
    staging = path.with_name(path.name + ".init")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    init_db_dir(staging, partitions)
    if path.exists():
        path.rmdir()  # empty: an earlier start died before its rename
    staging.rename(path)


def run(
    cfg: FlowConfig,
    workers: int = 1,
    recovery_dir: Path | None = None,
    snapshot_every: float = 10.0,
) -> RunSummary:
    """Replay the inputs through the flow; returns what the output files hold."""
    flow = build_flow(cfg)
    recovery = None
    if recovery_dir is not None:
        if not recovery_dir.exists() or not any(recovery_dir.iterdir()):
            init_recovery_dir(recovery_dir, max(1, workers))
        recovery = RecoveryConfig(str(recovery_dir))
    interval = timedelta(seconds=snapshot_every)
    if workers == 1:
        run_main(flow, epoch_interval=interval, recovery_config=recovery)
    else:
        cluster_main(
            flow, [], 0, epoch_interval=interval, recovery_config=recovery,
            worker_count_per_proc=workers,
        )  # fmt: skip
    return summarise(Path(cfg.out_dir))


def summarise(out_dir: Path) -> RunSummary:
    summary = RunSummary(out_dir)
    with (out_dir / "windows.ndjson").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            summary.windows += 1
            summary.indicators[rec["indicator"]] += 1
            summary.no_signal += bool(rec.get("no_signal"))
    with (out_dir / "dead_letters.ndjson").open(encoding="utf-8") as f:
        for line in f:
            summary.dead_letters[json.loads(line)["reason"]] += 1
    return summary
