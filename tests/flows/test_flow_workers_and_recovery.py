"""The Bytewax flow gives the same windows with 1 and 2 workers, and a run killed with
SIGKILL and restarted from its recovery snapshots loses and duplicates nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from citysigns.run import run
from flows.flow import FlowConfig
from tests.flows.killing import run_killed_then_finished

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")


def window_lines(out: Path) -> list[str]:
    return sorted((out / "windows.ndjson").read_text("utf-8").splitlines())


def test_one_and_two_workers_give_identical_windows(beijing_week: Path, tmp_path: Path) -> None:
    one = run(FlowConfig((str(beijing_week),), str(tmp_path / "one")), workers=1)
    two = run(FlowConfig((str(beijing_week),), str(tmp_path / "two")), workers=2)
    assert one.windows > 1000
    assert window_lines(tmp_path / "one") == window_lines(tmp_path / "two")
    assert one.dead_letters == two.dead_letters


def test_killed_and_restarted_run_equals_an_uninterrupted_one(
    beijing_week: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    run(FlowConfig((str(beijing_week),), str(reference), catalog=(SMALL,)), workers=1)
    out, recovery = tmp_path / "killed", tmp_path / "recovery"
    cmd = [
        sys.executable, "-m", "citysigns.cli", "run", "-i", str(beijing_week), "-o", str(out),
        "--recovery", str(recovery), "--snapshot-every", "0.2", "--chunk-bytes", "20000",
        "--speed", "200000", "--catalog", SMALL,
    ]  # fmt: skip
    # SIGKILL at random points, each run resuming from the last snapshot
    run_killed_then_finished(cmd, seed=7, wait_s=(2.0, 5.0))
    assert window_lines(out) == window_lines(reference)
