"""What a run leaves in its output folder and what its summary counts: a rerun into a folder an
earlier run wrote holds this run's lines only."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from citysigns.run import RunSummary, run
from flows.flow import FlowConfig
from tests.reliability.fuzz_inputs import good_reading, hotline_warm_up

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
ORDERS = hotline_warm_up(40)


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _readings(path: Path, n: int) -> Path:
    return _write(path, [json.dumps(good_reading(k)).encode() for k in range(n)])


def _run(out: Path, *inputs: Path, recovery: Path | None = None) -> RunSummary:
    cfg = FlowConfig(tuple(str(p) for p in inputs), str(out), catalog=(SMALL,))
    return run(cfg, recovery_dir=recovery, snapshot_every=0.5)


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def _read_rows(output: str) -> dict[str, str]:
    return {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in output.splitlines()
        if line.startswith("│ read")
    }


def test_a_rerun_into_a_used_folder_holds_only_its_own_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator's case: a run with malformed lines, then one good reading into the same
    -o.  Bytewax's sinks empty a file only when they first write to it, so the second run
    kept the first's dead letters and orders, and its summary counted them."""
    good = [json.dumps(good_reading(k)).encode() for k in range(20)]
    sensors = _write(tmp_path / "sensors.ndjson", [*good, b"{bad", b'{"sensor_id": 5}', b"no"])
    hotline = _write(tmp_path / "hotline.ndjson", [*ORDERS[:7], b"{bad"])
    out = tmp_path / "out"
    first = _run(out, sensors, hotline)
    assert sum(first.dead_letters.values()) == 4 and _lines(out / "orders.ndjson") == 7

    one = _readings(tmp_path / "one.ndjson", 1)
    with caplog.at_level(logging.INFO, logger="citysigns.run"):
        second = _run(out, one)
    fresh = _run(tmp_path / "fresh", one)
    assert not second.dead_letters and _lines(out / "dead_letters.ndjson") == 0
    assert _lines(out / "orders.ndjson") == 0
    for name in ("windows", "warnings", "dead_letters", "orders"):
        path = f"{name}.ndjson"
        assert (out / path).read_bytes() == (tmp_path / "fresh" / path).read_bytes(), name
    assert second.windows == fresh.windows > 0
    said = [r.getMessage() for r in caplog.records if "earlier run" in r.getMessage()]
    assert said == [
        f"replacing the outputs of an earlier run in {out} "
        "(dead_letters.ndjson, orders.ndjson, windows.ndjson start empty)"
    ]
