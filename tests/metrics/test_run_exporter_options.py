"""`citysigns run` takes the exporter's settings that the generated rules and dashboards must
match: a run told `--metrics-max-area-level community` exports community series, so the
alerts `citysigns rules --max-area-level community` writes on them can fire.  Before, the
flow exported street and coarser whatever the rules were told, and those alerts never fired."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from citysigns.cli import app
from flows.city import load_default_registry
from flows.metrics import INDICATOR_VALUE
from flows.realdata import beijing_records, write_ndjson

CATALOG = """\
indicators:
  - id: test.pm25_places
    title: {zh: 细颗粒物, en: PM2.5}
    category: air
    unit: ug/m3
    owner: env
    source: {kind: air_quality}
    value:
      field: pm25
      aggregate: mean
      window: {type: tumbling, length: 1h, lateness: 10m}
      levels: [community, street, district, city]
    detection:
      detectors: [{type: threshold, upper: 75}]
      warnings:
        on: value
        levels:
          blue: {threshold: 75, for: 0s}
        clear: {threshold: 60, for: 1h}
    dispatch: none
"""


def _levels(url: str) -> set[str]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        text = resp.read().decode("utf-8")
    return {
        s.labels["area_level"]
        for family in text_string_to_metric_families(text)
        if family.name == INDICATOR_VALUE
        for s in family.samples
    }


def _exported_levels(tmp_path: Path, *options: str) -> set[str]:
    """The area levels of the indicator series a real `citysigns run` exports, scraped over
    HTTP once its windows have closed (the run lingers until it is stopped)."""
    data = tmp_path / "air.ndjson"
    write_ndjson(itertools.islice(beijing_records(load_default_registry()), 12 * 24 * 2), data)
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    cmd = [sys.executable, "-m", "citysigns.cli", "run", "-i", str(data),
           "-o", str(tmp_path / "out"), "-c", str(tmp_path / "catalog.yaml"),
           "--metrics-port", "0", "--linger", "120", *options]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("metrics on http://127.0.0.1:"), first
        url = first.split()[-1]
        levels: set[str] = set()
        deadline = time.monotonic() + 90
        while "city" not in levels and time.monotonic() < deadline:
            time.sleep(0.5)
            levels = _levels(url)
        time.sleep(0.5)  # the batch that closed the city's window closed the others too
        return _levels(url)
    finally:
        proc.kill()
        proc.wait()


def test_a_run_told_community_exports_community_series(tmp_path: Path) -> None:
    levels = _exported_levels(tmp_path, "--metrics-max-area-level", "community")
    assert levels == {"community", "street", "district", "city"}


def test_a_run_exports_street_and_coarser_by_default(tmp_path: Path) -> None:
    assert _exported_levels(tmp_path) == {"street", "district", "city"}


def test_exporter_settings_without_a_port_are_refused(tmp_path: Path) -> None:
    """Given without --metrics-port they would set nothing: a usage error says so."""
    data = tmp_path / "air.ndjson"
    data.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    for option in (["--metrics-max-area-level", "community"], ["--metrics-max-series", "10"],
                   ["--metrics-addr", "0.0.0.0"]):  # fmt: skip
        result = CliRunner().invoke(app, ["run", "-i", str(data), "-o", str(out), *option])
        assert result.exit_code == 2, (option, result.output)
        assert "give --metrics-port too" in result.output
    wrong = ["run", "-i", str(data), "-o", str(out), "--metrics-max-area-level", "building"]
    result = CliRunner().invoke(app, wrong)
    assert result.exit_code == 2
    assert "'building' is not an area level: one of sensor, community" in result.output
