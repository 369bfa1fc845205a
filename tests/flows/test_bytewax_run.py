"""`python -m bytewax.run` runs the same dataflow as `citysigns run`, with the same output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from citysigns.run import run
from flows.flow import FlowConfig

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")


def test_bytewax_run_gives_the_same_windows(beijing_week: Path, tmp_path: Path) -> None:
    run(FlowConfig((str(beijing_week),), str(tmp_path / "cli"), catalog=(SMALL,)))
    target = (
        f"flows.flow:get_flow({str(tmp_path / 'bw')!r}, {str(beijing_week)!r}, catalog={SMALL!r})"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bytewax.run", target, "-w", "2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cli = sorted((tmp_path / "cli" / "windows.ndjson").read_text("utf-8").splitlines())
    bw = sorted((tmp_path / "bw" / "windows.ndjson").read_text("utf-8").splitlines())
    assert len(cli) > 100 and cli == bw
