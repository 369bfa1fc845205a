"""The command line as an analyst uses it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app

runner = CliRunner()
BAD = Path(__file__).resolve().parent.parent / "fixtures" / "catalog" / "bad"


def test_check_shipped_catalog_passes() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "ok: " in result.output and " indicators in " in result.output


def test_check_reports_every_error_with_excerpt_and_exit_1() -> None:
    result = runner.invoke(app, ["check", str(BAD / "five_mistakes.yaml")])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.startswith(str(BAD))]
    assert len(lines) == 5
    assert "      27 |       deadlnes: {red: {accept: 30m, handle: 4h}}" in result.output
    assert "5 error(s) in 1 file(s)" in result.output


def test_duplicate_ids_across_files_are_reported_with_the_first_place(tmp_path: Path) -> None:
    from citysigns.paths import CATALOG_DIR

    src = (CATALOG_DIR / "water.yaml").read_text("utf-8")
    (tmp_path / "a.yaml").write_text(src, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(src, encoding="utf-8")
    result = runner.invoke(app, ["check", "--standalone", str(tmp_path)])
    assert result.exit_code == 1
    dup = [ln for ln in result.output.splitlines() if "duplicate id" in ln]
    assert len(dup) == src.count("  - id: ")
    assert dup[0].startswith(f'{tmp_path / "b.yaml"}:6:9: indicator "water.pressure": duplicate')
    assert f"already defined at {tmp_path / 'a.yaml'}:6:9" in dup[0]


def test_a_draft_checked_alone_may_not_reuse_a_packaged_id(tmp_path: Path) -> None:
    """A draft runs beside the packaged catalog: its clash is found without naming both."""
    src = (Path(__file__).resolve().parents[2] / "indicators" / "catalog" / "air.yaml").read_text(
        "utf-8"
    )
    draft = tmp_path / "draft.yaml"
    draft.write_text(src, encoding="utf-8")
    result = runner.invoke(app, ["check", str(draft)])
    assert result.exit_code == 1
    dup = [ln for ln in result.output.splitlines() if "duplicate id" in ln]
    assert len(dup) == src.count("  - id: ")
    assert dup[0].startswith(f'{draft}:27:9: indicator "air.pm25": duplicate id: already defined')
    assert "air.yaml:27:9 (in the packaged catalog" in dup[0]
    # a catalog that replaces the packaged one (run --catalog) is checked alone
    assert runner.invoke(app, ["check", "--standalone", str(draft)]).exit_code == 0
    # the packaged files themselves are not clashes with themselves
    from citysigns.paths import CATALOG_DIR

    assert runner.invoke(app, ["check", str(CATALOG_DIR / "air.yaml")]).exit_code == 0
    # --beside names the catalog the draft will run with instead
    other = tmp_path / "other"
    other.mkdir()
    assert runner.invoke(app, ["check", str(draft), "--beside", str(other)]).exit_code == 0


def test_schema_prints_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$defs"]["Indicator"]["additionalProperties"] is False


def test_schema_write_says_where_not_what(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--write printed the whole schema too, burying where it went."""
    import citysigns.cli
    from indicators.language.schema import schema_text

    target = tmp_path / "indicators.schema.json"
    monkeypatch.setattr(citysigns.cli, "SCHEMA_PATH", target)
    result = runner.invoke(app, ["schema", "--write"])
    assert result.exit_code == 0, result.output
    assert target.read_text("utf-8") == schema_text()
    assert result.output.strip() == f"wrote the schema to {target}"


def test_catalog_table_lists_indicators() -> None:
    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 0
    assert "air.pm25" in result.output and "hotline.water_outage" in result.output


def test_no_traceback_for_user_mistakes(tmp_path: Path) -> None:
    for args in (["check", str(tmp_path / "missing.yaml")], ["nosuchcommand"], ["check", "--x"]):
        proc = subprocess.run(
            [sys.executable, "-m", "citysigns.cli", *args], capture_output=True, text=True
        )
        assert proc.returncode in (1, 2), args
        assert "Traceback" not in proc.stderr + proc.stdout, args


def test_run_refuses_a_broken_registry_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "in.ndjson").write_text("", "utf-8")
    registry = tmp_path / "sensors.csv"
    registry.write_text("sensor_id,kind,community,lat,lon\nAQ-1,air_qualty,x,31,121\n", "utf-8")
    args = ["run", "-i", str(tmp_path / "in.ndjson"), "-o", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "--registry", str(registry)])
    assert result.exit_code == 2
    assert f"{registry}:2: unknown sensor kind 'air_qualty'" in result.output
    assert not (tmp_path / "out").exists()


def test_log_level_is_checked() -> None:
    result = runner.invoke(app, ["--log-level", "loud", "check"])
    assert result.exit_code == 2
    assert "'loud' is not one of debug, info, warning, error" in result.output
    assert runner.invoke(app, ["--log-level", "warning", "check"]).exit_code == 0


def test_an_empty_folder_is_named_with_the_suffixes_read(tmp_path: Path) -> None:
    """`.:1:1:` named no folder, and `*.yaml` hid that .yml files are read too."""
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path}:1:1: no catalog files (*.yaml or *.yml) found" in result.output


def test_a_missing_beside_path_is_refused(tmp_path: Path) -> None:
    """A --beside path that does not exist was read as an empty catalog: the draft passed
    with no id compared."""
    draft = tmp_path / "draft.yaml"
    draft.write_text((BAD.parent / "small" / "air.yaml").read_text("utf-8"), "utf-8")
    missing = tmp_path / "no_such_catalog"
    result = runner.invoke(app, ["check", str(draft), "--beside", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"no such catalog file or directory (given with --beside): {missing}" in result.output
