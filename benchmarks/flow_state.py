"""Recovery state and memory of the whole flow: the shipped catalog over the simulated city.

    python -m benchmarks.flow_state [--days 2] [--runs 3] [--input FILE ...]

Runs `citysigns run` (one worker, recovery snapshots every 2 s) as a child process over the
demo's simulated city (`--days` of sensors, hotline, photo reports and checkpoints; or the
given `--input` files) and reports, per run:
- peak resident memory of the flow process (its own rusage, from wait4) and wall time;
- the bytes of each step's latest recovery snapshot (the SQLite recovery partitions), which
  is what a restart must read back and what every epoch writes for the keys it touched;
- windows written.
Prints the figures (medians over `--runs`) as JSON on its last line and writes
benchmarks/results/flow_state.json."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.reliability.common import REPO, flow_command, machine, write_result

LATEST = """
select step_id, sum(length(ser_change)) from snaps s
where snap_epoch = (select max(snap_epoch) from snaps t
                    where t.step_id = s.step_id and t.state_key = s.state_key)
group by step_id
"""


def snapshot_bytes(recovery: Path) -> dict[str, int]:
    """Bytes of the latest snapshot of every key, per step, over the recovery partitions."""
    out: dict[str, int] = {}
    for part in sorted(recovery.glob("*.sqlite3")):
        with sqlite3.connect(part) as db:
            for step, size in db.execute(LATEST):
                out[step] = out.get(step, 0) + int(size or 0)
    return out


def one_run(inputs: list[Path], work: Path) -> dict[str, Any]:
    out, recovery = work / "out", work / "recovery"
    cmd = flow_command(inputs, out, "--recovery", str(recovery), "--snapshot-every", "2")
    work.mkdir(parents=True, exist_ok=True)
    with (work / "stderr.txt").open("wb") as err:
        t = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        wall = time.perf_counter() - t
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = (work / "stderr.txt").read_text("utf-8", "replace")[-2000:]
        raise RuntimeError(f"flow run failed ({child.returncode}): {tail}")
    by_step = snapshot_bytes(recovery)
    with (out / "windows.ndjson").open("rb") as f:
        windows = sum(1 for _ in f)
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "snapshot_bytes": by_step,
        "indicator_state_mb": round(by_step.get("citysigns.indicators", 0) / 2**20, 2),
        "windows": windows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2, help="days of the simulated city")
    ap.add_argument("--input", type=Path, action="append", help="replay these files instead")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="flow-state-") as tmp:
        root = Path(tmp)
        if args.input:
            inputs = list(args.input)
            source = [str(p) for p in inputs]
        else:
            from flows.simulator.simulate import write_demo_inputs

            sim = write_demo_inputs(root / "city", days=args.days)
            inputs = sorted(p for p in sim.files.values() if p.suffix == ".ndjson")
            source = f"simulated city, {args.days} days, {sum(sim.lines.values()):,} lines"
        runs = []
        for i in range(args.runs):
            run = one_run(inputs, root / f"run{i}")
            runs.append(run)
            print(json.dumps(run), flush=True)
    result = {
        "input": source,
        "catalog": "shipped (indicators/catalog)",
        "runs": runs,
        "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in runs),
        "wall_s_median": statistics.median(r["wall_s"] for r in runs),
        "indicator_state_mb": runs[-1]["indicator_state_mb"],
        "windows": runs[-1]["windows"],
        "machine": machine(),
    }
    path = write_result("flow_state.json", result, args.out)
    print(f"written {path}", flush=True)
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "machine")}))


if __name__ == "__main__":
    main()
