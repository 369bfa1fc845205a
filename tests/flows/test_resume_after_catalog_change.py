"""A release changes the catalog between a recovery snapshot and the restart: the flow
resumes without crashing, drops what no longer fits and says so."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from citysigns.run import run
from flows import instrument
from flows.city import load_city, load_default_registry
from flows.flow import FlowConfig, IndicatorLogic
from flows.metrics import CitySignsMetrics
from flows.plan import compile_plan
from indicators.language.validate import load_catalog_or_raise

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small"


def changed_catalog(tmp_path: Path, window: str = "1h") -> Path:
    """SMALL without test.no2_p95, with other detectors for test.pm25 (and its window)."""
    text = (SMALL / "air.yaml").read_text("utf-8")
    text = text[: text.index("  - id: test.no2_p95")]
    text = text.replace(
        "        - {type: ewma, halflife: 24}\n",
        "        - {type: ewma, halflife: 48}\n        - {type: cusum}\n",
    ).replace("length: 1h, lateness", f"length: {window}, lateness")
    out = tmp_path / f"catalog_{window}"
    out.mkdir()
    (out / "air.yaml").write_text(text, "utf-8")
    return out


def pm25_windows(out: Path) -> list[str]:
    lines = (out / "windows.ndjson").read_text("utf-8").splitlines()
    return sorted(line for line in lines if json.loads(line)["indicator"] == "test.pm25")


def killed_then_resumed(inputs: Path, out: Path, catalog: Path) -> subprocess.CompletedProcess:
    """Run SMALL until killed mid-stream, then resume the same recovery under `catalog`."""
    recovery = out.parent / (out.name + "_recovery")
    cmd = [
        sys.executable, "-m", "citysigns.cli", "run", "-i", str(inputs), "-o", str(out),
        "--recovery", str(recovery), "--snapshot-every", "0.2", "--chunk-bytes", "20000",
        "--speed", "200000",
    ]  # fmt: skip
    first = subprocess.Popen([*cmd, "--catalog", str(SMALL)], stdout=subprocess.DEVNULL)
    try:
        first.wait(timeout=3.0)
    except subprocess.TimeoutExpired:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it was killed"
    return subprocess.run(
        [*cmd, "--catalog", str(catalog)], capture_output=True, text=True, timeout=300
    )


def test_removed_indicator_and_changed_detectors(beijing_week: Path, tmp_path: Path) -> None:
    catalog = changed_catalog(tmp_path)
    reference = tmp_path / "reference"
    run(FlowConfig((str(beijing_week),), str(reference), catalog=(str(catalog),)), workers=1)
    out = tmp_path / "resumed"
    resumed = killed_then_resumed(beijing_week, out, catalog)
    assert resumed.returncode == 0, resumed.stderr
    assert "'test.no2_p95' is no longer in the catalog" in resumed.stderr
    assert "'test.pm25': its detectors changed" in resumed.stderr
    # the windows do not depend on the detectors: none lost or repeated across the change
    assert pm25_windows(out) == pm25_windows(reference)


def test_changed_windows_start_afresh(beijing_week: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    resumed = killed_then_resumed(beijing_week, out, changed_catalog(tmp_path, window="2h"))
    assert resumed.returncode == 0, resumed.stderr
    assert "'test.pm25': its windows, aggregate or area levels changed" in resumed.stderr
    # the resumed run's windows are two hours long
    windows = [json.loads(line) for line in pm25_windows(out)]
    last = max(windows, key=lambda w: datetime.fromisoformat(w["end"]))
    span = datetime.fromisoformat(last["end"]) - datetime.fromisoformat(last["start"])
    assert span.total_seconds() == 7200


def test_each_reset_is_counted_for_the_operator() -> None:
    """The three cases, resumed in-process from hand-altered snapshots, each add one to
    citysigns_recovery_resets_total."""
    catalog = load_catalog_or_raise([SMALL])
    plans = compile_plan(catalog, load_city(), load_default_registry()).by_id()
    metrics = CitySignsMetrics.for_catalog(catalog)
    instrument.install(metrics)
    try:
        fresh = IndicatorLogic(plans, 1, None)
        fresh._start("test.pm25", None)
        snap = fresh.snapshot()
        IndicatorLogic(plans, 1, {**snap, "indicator": "test.gone"})
        IndicatorLogic(plans, 1, {**snap, "geometry": "another window"})
        IndicatorLogic(plans, 1, {**snap, "scorer": [{}]})  # one detector's state, not two
        IndicatorLogic(plans, 1, snap)  # unchanged: nothing to count
    finally:
        instrument.install(None)
    assert metrics.snapshot().resets == {
        ("test.gone", "removed"): 1,
        ("test.pm25", "geometry"): 1,
        ("test.pm25", "detectors"): 1,
    }
