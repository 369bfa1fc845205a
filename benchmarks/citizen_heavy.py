"""The whole flow on a citizen-heavy city, with and without a backup copy of the hotline feed.

    python -m benchmarks.citizen_heavy [--days 2] [--hotline-per-day 60000] [--runs 3]
        [--repo DIR]

Simulates the demo city (`--days`, sensors every 20 minutes as in the demo) with far more
citizen records than the demo (hotline, photo reports and checkpoints at `--hotline-per-day`,
a quarter of it and as much again), then runs `citysigns run` (one worker, shipped catalog) as
a child process on two inputs: the four files ("heavy"), and the same with a copy of the
hotline file given as a fifth input ("overlap": a primary and a backup feed, every order
twice).  Reports per run the wall time, the child's CPU time (user + system: less sensitive
than wall time to other jobs on a shared machine), and what the run's summary and outputs
say: hotline records accepted and repeated, lines of orders.ndjson, windows.

`--repo` runs the code of another checkout on the same inputs (e.g. the code before a
change, exported with `git archive`), so before and after can alternate on one machine.
Prints one JSON object per run and the medians as the last line; writes
benchmarks/results/citizen_heavy.json (or `--out`)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.reliability.common import REPO, machine, write_result

FILES = ("sensors", "hotline", "photo_reports", "checkpoints")


def write_inputs(root: Path, days: int, hotline_per_day: float) -> dict[str, Path]:
    from flows.city import load_city, load_default_registry
    from flows.simulator.simulate import (
        DEFAULT_INCIDENTS,
        DEMO_START,
        SimulationOptions,
        sample_registry,
        simulate,
    )

    city = load_city()
    registry = sample_registry(city, load_default_registry(), 0.02, 7)
    options = SimulationOptions(
        hotline_per_day=hotline_per_day,
        photo_reports_per_day=hotline_per_day / 4,
        checkpoints_per_day=hotline_per_day,
    )
    sim = simulate(
        city, registry, DEMO_START, dt.timedelta(days=days), dt.timedelta(minutes=20), 7,
        DEFAULT_INCIDENTS, out_dir=root, options=options,
    )  # fmt: skip
    files = {name: Path(sim.files[name]) for name in FILES}
    files["hotline_backup"] = root / "hotline_backup.ndjson"
    shutil.copyfile(files["hotline"], files["hotline_backup"])
    return files


def hotline_counts(summary: str) -> dict[str, int]:
    """Accepted and repeated hotline records, from the run summary's "read: hotline" row."""
    row = next((line for line in summary.splitlines() if "read: hotline" in line), "")
    counts = {}
    for what, pattern in (("accepted", r"([\d,]+) records? accepted"),
                          ("repeated", r"([\d,]+) repeated records? dropped")):  # fmt: skip
        found = re.search(pattern, row)
        counts[what] = int(found.group(1).replace(",", "")) if found else 0
    return counts


def one_run(repo: Path, inputs: list[Path], out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "citysigns.cli", "run", "-o", str(out)]
    for path in inputs:
        cmd += ["-i", str(path)]
    env = {**os.environ, "PYTHONPATH": str(repo), "COLUMNS": "200"}
    t = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    assert child.stdout is not None and child.stderr is not None
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"flow run failed: {stderr[-2000:]}")
    with (out / "orders.ndjson").open("rb") as f:
        orders = sum(1 for _ in f)
    with (out / "windows.ndjson").open("rb") as f:
        windows = sum(1 for _ in f)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "hotline": hotline_counts(stdout),
        "orders_lines": orders,
        "windows": windows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--hotline-per-day", type=float, default=60_000.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code runs")
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="citizen-heavy-") as tmp:
        root = Path(tmp)
        files = write_inputs(root / "city", args.days, args.hotline_per_day)
        lines = {name: sum(1 for _ in path.open("rb")) for name, path in files.items()}
        cases = {
            "heavy": [files[name] for name in FILES],
            "overlap": [files[name] for name in FILES] + [files["hotline_backup"]],
        }
        runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
        for i in range(args.runs):
            for case, inputs in cases.items():
                run = one_run(args.repo.resolve(), inputs, root / f"{case}{i}")
                runs[case].append(run)
                print(json.dumps({"case": case, **run}), flush=True)
    result = {
        "input": f"simulated city, {args.days} days, lines per file {lines}",
        "repo": str(args.repo.resolve()),
        "runs": runs,
        "medians": {
            case: {
                "wall_s": statistics.median(r["wall_s"] for r in rs),
                "cpu_s": statistics.median(r["cpu_s"] for r in rs),
            }
            for case, rs in runs.items()
        },
        "machine": machine(),
    }
    path = write_result("citizen_heavy.json", result, args.out)
    print(f"written {path}", flush=True)
    print(json.dumps(result["medians"]))


if __name__ == "__main__":
    main()
