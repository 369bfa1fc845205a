"""Every example the project ships passes `citysigns check` and runs as its documentation
says.  The NAB example's unit drifted from the registry's and its documented backtest failed
at its first line: examples are checked here so one cannot rot unnoticed again."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from citysigns.cli import app
from citysigns.paths import CATALOG_DIR
from indicators.backtest.report import load_labels

CLI = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "indicators" / "backtest" / "examples"
#: covered elsewhere: the catalog (tests/language/test_check_fixtures.py), the analysts'
#: tests (tests/analyst/test_analyst_tests.py) and the tests' own fixtures
ELSEWHERE = (CATALOG_DIR, ROOT / "indicators" / "tests", ROOT / "tests")


def _definitions() -> list[Path]:
    """Every YAML file of indicator definitions in the repository, outside ELSEWHERE."""
    out = []
    for path in sorted(ROOT.rglob("*.yaml")):
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") for part in rel.parts) or any(
            path.is_relative_to(d) for d in ELSEWHERE
        ):
            continue
        data = yaml.safe_load(path.read_text("utf-8"))
        if isinstance(data, dict) and "indicators" in data:
            out.append(path)
    return out


DEFINITIONS = _definitions()


def test_the_examples_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in DEFINITIONS}
    assert "indicators/backtest/examples/nab_metric.yaml" in names
    assert "benchmarks/reliability/soak_catalog.yaml" in names


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_shipped_definition_passes_check(path: Path) -> None:
    result = CLI.invoke(app, ["check", "--standalone", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("*.csv")), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_a_shipped_labels_file_loads(path: Path) -> None:
    assert load_labels(path, Path("data"))


def test_the_files_the_analysts_guide_names_exist() -> None:
    """The guide's commands name example files by their path from the repository root."""
    guide = (ROOT / "docs" / "analysts.md").read_text("utf-8")
    named = set(re.findall(r"indicators/[\w/.-]+\.(?:yaml|csv)", guide))
    assert "indicators/backtest/examples/nab_metric.yaml" in named
    for rel in sorted(named):
        assert (ROOT / rel).is_file(), rel


def test_the_nab_example_backtests_as_documented(tmp_path: Path) -> None:
    """docs/analysts.md, section 4: the NAB example on a NAB file with its labels, here a
    small file shaped like NAB's (`timestamp,value`, 5-minute rows) with one level shift."""
    folder = tmp_path / "realKnownCause"
    folder.mkdir()
    data = folder / "machine.csv"
    rows = ["timestamp,value"]
    for i in range(2000):
        minute = 5 * i
        day, hour, mm = 1 + minute // 1440, (minute // 60) % 24, minute % 60
        value = 80.0 + (i % 7) * 0.3 + (40.0 if 1500 <= i < 1520 else 0.0)
        rows.append(f"2014-01-{day:02d} {hour:02d}:{mm:02d}:00,{value}")
    data.write_text("\n".join(rows) + "\n", "utf-8")
    labels = tmp_path / "combined_windows.json"
    window = ["2014-01-06 04:00:00.000000", "2014-01-06 12:00:00.000000"]
    labels.write_text(json.dumps({"realKnownCause/machine.csv": [window]}), "utf-8")
    out = tmp_path / "nab.html"
    args = ["backtest", str(EXAMPLES / "nab_metric.yaml"), "--data", str(data)]
    result = CLI.invoke(app, [*args, "--labels", str(labels), "--out", str(out), "--plots", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert report["meta"]["records"] == 2000
    assert report["labels"]["labels"] == 1
