"""`citysigns registry`: the shipped registry exported as a deployment's starting CSV, and a
changed file checked against it before a restart."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from citysigns.cli import app
from flows.city import load_city, load_default_registry, load_registry

CLI = CliRunner()


def test_export_writes_the_shipped_registry_as_csv(tmp_path: Path) -> None:
    out = tmp_path / "sensors.csv"
    result = CLI.invoke(app, ["registry", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{out}: 6,000 sensors" in result.output
    assert load_registry(out, load_city()).ids() == load_default_registry().ids()


def test_check_says_what_a_restart_does_to_each_sensor_level_indicator(tmp_path: Path) -> None:
    shipped = load_default_registry()
    lines = shipped.to_csv_text(load_city()).splitlines()
    gone = shipped.ids(shipped.kind_rows("water_supply")[:1])[0]
    community = lines[1].split(",")[2]
    lines = [line for line in lines if not line.startswith(gone + ",")]
    lines.append(f"AQ-310100-000001,air_quality,{community},31.2,121.4")
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join(lines) + "\n", "utf-8")
    result = CLI.invoke(app, ["registry", "check", str(changed)])
    assert result.exit_code == 0, result.output
    out = result.output
    n_air = shipped.kind_rows("air_quality").size + 1
    n_water = shipped.kind_rows("water_supply").size - 1
    assert f"air_quality   │     {n_air} │     1 │       0 │" in out
    assert f"water_supply  │     {n_water} │     0 │       1 │" in out
    assert "air.pm25: renumbered on restart; nothing dropped (1 new sensor(s) start fresh)" in out
    assert ("water.pressure: renumbered on restart; the open windows and baselines of 1 "
            "removed sensor(s) are dropped, their firing warnings withdrawn") in out  # fmt: skip
    assert "noise.laeq" not in out  # its kind did not change


def test_check_refuses_a_broken_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sensor_id,kind,community,lat,lon\nAQ-1,air_quality,nowhere,31,121\n")
    result = CLI.invoke(app, ["registry", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2: unknown community code 'nowhere'" in result.output
