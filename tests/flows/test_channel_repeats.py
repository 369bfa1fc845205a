"""A citizen record delivered by two inputs of its channel counts once, through the real
Bytewax flow.  Deployments deliver overlapping exports (yesterday's and today's hotline
export share their boundary; a primary and a backup feed): each input partition's decoder
only knew its own file, so every order in both was accepted twice, written twice to
orders.ndjson and counted twice in the windows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from citysigns.run import RunSummary, run
from flows.flow import FlowConfig
from tests.flows.killing import run_killed_then_finished
from tests.flows.summary import summary_rows
from tests.reliability.fuzz_inputs import good_reading, hotline_warm_up

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
ORDERS = hotline_warm_up(60)  # ids 12345-2026-000000 ... 000059, one second apart


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _order_ids(out: Path) -> list[str]:
    return [json.loads(x)["service_request_id"] for x in (out / "orders.ndjson").open()]


def _windows(out: Path) -> list[str]:
    return sorted((out / "windows.ndjson").read_text("utf-8").splitlines())


def _run(out: Path, *inputs: Path, workers: int = 1, recovery: Path | None = None) -> RunSummary:
    cfg = FlowConfig(tuple(str(p) for p in inputs), str(out))
    return run(cfg, workers=workers, recovery_dir=recovery, snapshot_every=0.5)


@pytest.fixture
def overlapping(tmp_path: Path) -> tuple[Path, Path]:
    """Yesterday's export (orders 0-39, order 0 repeated inside it) and today's (20-59)."""
    a = _write(tmp_path / "export_1.ndjson", [*ORDERS[:40], ORDERS[0]])
    b = _write(tmp_path / "export_2.ndjson", ORDERS[20:])
    return a, b


@pytest.mark.parametrize("workers", [1, 2])
def test_overlapping_exports_count_each_order_once(
    overlapping: tuple[Path, Path], tmp_path: Path, workers: int
) -> None:
    reference = _run(tmp_path / "ref", _write(tmp_path / "all.ndjson", ORDERS))
    summary = _run(tmp_path / "out", *overlapping, workers=workers)
    # 21 repeats: one within export_1 (the decoder's), 20 across the two files
    assert summary.decoded["hotline"] == {"accepted": 60, "duplicate": 21}
    ids = _order_ids(tmp_path / "out")
    assert sorted(ids) == sorted(json.loads(o)["service_request_id"] for o in ORDERS)
    assert not [i for i, n in Counter(ids).items() if n > 1]
    assert reference.windows > 0
    assert _windows(tmp_path / "out") == _windows(tmp_path / "ref")


def test_a_copy_of_a_file_is_reported_as_repeats(tmp_path: Path) -> None:
    """The operator's case: a file given twice.  The summary's line counts the copy's
    records as repeats, with those repeated inside one file."""
    from typer.testing import CliRunner

    from citysigns.cli import app

    h50 = _write(tmp_path / "h50.ndjson", ORDERS[:50])
    h50b = _write(tmp_path / "h50b.ndjson", ORDERS[:50])
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", "-i", str(h50), "-i", str(h50b), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = summary_rows(result.output)
    assert rows["read: hotline"] == "50 records accepted, 50 repeated records dropped"
    assert len(_order_ids(out)) == 50
    counts = {json.loads(w)["count"] for w in _windows(out)}
    assert counts == {50}


def test_a_resumed_run_remembers_the_ids_of_the_run_before(
    overlapping: tuple[Path, Path], tmp_path: Path
) -> None:
    """The channel's memory of ids is in the recovery snapshots: a run resumed with an input
    added (today's export, after yesterday's was read) drops the orders the earlier run
    accepted; its summary counts the whole run, the earlier run's 40 orders included."""
    a, b = overlapping
    out, recovery = tmp_path / "out", tmp_path / "recovery"
    first = _run(out, a, recovery=recovery)
    assert first.decoded["hotline"] == {"accepted": 40, "duplicate": 1}
    resumed = _run(out, a, b, recovery=recovery)
    assert resumed.decoded["hotline"] == {"accepted": 60, "duplicate": 21}
    ids = _order_ids(out)
    assert len(ids) == 60 and len(set(ids)) == 60


def test_sensor_readings_repeated_across_files_are_still_counted_twice(tmp_path: Path) -> None:
    """The documented limit (docs/design.md, "Repeated records"): a sensor's memory is its
    latest reading, per input, so a second file's copy of readings is accepted again.  Here
    so that a change to it is seen and the documentation follows."""
    readings = "".join(json.dumps(good_reading(k)) + "\n" for k in range(8))
    a, b = tmp_path / "sensors_1.ndjson", tmp_path / "sensors_2.ndjson"
    a.write_text(readings)
    b.write_text(readings)
    cfg = FlowConfig((str(a), str(b)), str(tmp_path / "out"), catalog=(SMALL,))
    assert run(cfg).decoded["sensor"] == {"accepted": 16}


def test_a_run_killed_and_resumed_drops_each_repeat_once(tmp_path: Path) -> None:
    """SIGKILL at random points while two overlapping exports are read: the resumed runs
    neither forget the ids seen before the last snapshot (a copy would be accepted again)
    nor lose an order; orders and windows equal an uninterrupted run's, and so does the last
    run's summary of what was read (it counted only what that process read)."""
    import sys

    orders = hotline_warm_up(6000, step_s=10)
    a = _write(tmp_path / "export_1.ndjson", orders[:4000])
    b = _write(tmp_path / "export_2.ndjson", orders[2000:])
    _run(tmp_path / "reference", a, b)
    out, recovery = tmp_path / "killed", tmp_path / "recovery"
    cmd = [
        sys.executable, "-m", "citysigns.cli", "run", "-i", str(a), "-i", str(b),
        "-o", str(out), "--recovery", str(recovery), "--snapshot-every", "0.2",
        "--chunk-bytes", "20000", "--speed", "10000",
    ]  # fmt: skip
    final = run_killed_then_finished(cmd, seed=11, wait_s=(3.0, 6.0))
    ids = _order_ids(out)
    assert len(ids) == 6000 and len(set(ids)) == 6000
    rows = [line.split("│")[1:3] for line in final.stdout.splitlines() if "│ read" in line]
    assert [[c.strip() for c in r] for r in rows] == [
        ["read: hotline", "6,000 records accepted, 2,000 repeated records dropped"]
    ]
    assert _windows(out) == _windows(tmp_path / "reference")
