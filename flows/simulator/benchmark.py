"""Benchmark of the simulator: lines and megabytes written per second.

    python -m flows.simulator.benchmark [--sensors 6000] [--hours 24] [--step-minutes 5]
                                        [--out results.json]

Uses the default registry (or a generated one of --sensors sensors when that differs), the
default incidents and default options, into a temporary directory."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from flows.city import generate_registry, load_city, load_default_registry

from .simulate import DEMO_START, simulate


def run(sensors: int, hours: float, step_minutes: float) -> dict[str, Any]:
    city = load_city()
    registry = load_default_registry()
    if sensors != len(registry):
        registry = generate_registry(city, sensors, seed=1)
        incidents: tuple[()] | None = ()  # the default incidents name default-registry sensors
    else:
        incidents = None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {} if incidents is None else {"incidents": incidents}
        result = simulate(
            city, registry, DEMO_START, dt.timedelta(hours=hours),
            dt.timedelta(minutes=step_minutes), 1, out_dir=tmp, **kwargs,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in result.files.values())
    lines = sum(result.lines.values())
    return {
        "sensors": sensors,
        "hours": hours,
        "step_minutes": step_minutes,
        "lines": lines,
        "sensor_lines": result.lines["sensors"],
        "mb": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "lines_per_s": round(lines / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=6000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--step-minutes", type=float, default=5.0)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    figures = run(args.sensors, args.hours, args.step_minutes)
    print(json.dumps(figures))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=1), "utf-8")


if __name__ == "__main__":
    main()
