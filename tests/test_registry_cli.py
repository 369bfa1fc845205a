"""`citysigns registry`: the shipped registry exported as a deployment's starting CSV, and a
changed file checked against it before a restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    lines.append(f"AQ-310100-000001,air_quality,{community},31.23,121.47")
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


def shipped_lines() -> list[str]:
    """The shipped registry as CSV lines, header first: a valid file to break."""
    return load_default_registry().to_csv_text(load_city()).splitlines()


def test_check_lists_every_error_with_its_line_then_one_summary(tmp_path: Path) -> None:
    """An operator fixing a file sees all its errors in one run, in line order, each with what
    to write, and the count last; the sensors after a bad line are checked too."""
    lines = shipped_lines()
    community = lines[1].split(",")[2]
    lines[3] = lines[3].replace(",31.", ",95.", 1)  # line 4: latitude out of range
    lines[5] = lines[5].split(",")[0] + ",unicorn," + ",".join(lines[5].split(",")[2:])  # line 6
    lines[7] = lines[2]  # line 8 repeats line 3's sensor
    lines.append(f"AQ-310101-900001,air_quality,{community},north,121.47")  # line 6002
    lines.append("AQ-310101-900002,air_quality")  # line 6003
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    result = CLI.invoke(app, ["registry", "check", str(bad)])
    assert result.exit_code == 1, result.output
    sid = lines[2].split(",")[0]
    expected = [
        f"{bad}:4: latitude 95.",
        f"{bad}:6: unknown sensor kind 'unicorn'; write one of air_quality,",
        f"{bad}:8: sensor id '{sid}' is already on line 3; list each sensor once",
        f"{bad}:6002: latitude 'north' is not a number; write decimal degrees",
        f"{bad}:6003: 2 column(s), not 5; write sensor_id,kind,community,lat,lon",
        f"sensor registry {bad}: 5 errors; the registry was not loaded",
    ]
    out = result.output.splitlines()
    assert len(out) == len(expected), result.output
    for line, start in zip(out, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert "is outside -90..90; write the sensor's latitude" in out[0]


def test_check_lists_the_first_errors_and_counts_them_all(tmp_path: Path) -> None:
    lines = shipped_lines()
    for i in range(1, 81):  # 80 unknown kinds
        lines[i] = lines[i].replace(lines[i].split(",")[1], "unicorn", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    result = CLI.invoke(app, ["registry", "check", str(bad)])
    assert result.exit_code == 1
    out = result.output.splitlines()
    assert len(out) == 51, result.output
    assert out[0].startswith(f"{bad}:2: unknown sensor kind 'unicorn'")
    assert out[49].startswith(f"{bad}:51: unknown sensor kind 'unicorn'")
    assert out[50] == (
        f"sensor registry {bad}: 80 errors, the first 50 shown; the registry was not loaded"
    )


def test_check_refuses_a_sensor_far_from_its_community_saying_how_far_and_what_to_write(
    tmp_path: Path,
) -> None:
    """The operator's cases: Beijing's coordinates on a Huangpu community, a position in
    Xuhui, and Shanghai's coordinates with latitude and longitude swapped."""
    lines = shipped_lines()
    huangpu = "310101001004004"  # Community 4, Grid 4, Nanjing East Road, at 31.2266,121.4788
    lines.append(f"AQ-310101-900001,air_quality,{huangpu},39.9,116.4")  # Beijing
    lines.append(f"AQ-310101-900002,air_quality,{huangpu},31.2,121.4")  # Xuhui, 8 km away
    lines.append(f"AQ-310101-900003,air_quality,{huangpu},121.47,31.23")  # swapped
    lines.append(f"AQ-310101-900004,air_quality,{huangpu},31.25,121.47")  # 2.7 km: fine
    bad = tmp_path / "far.csv"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    result = CLI.invoke(app, ["registry", "check", str(bad)])
    assert result.exit_code == 1, result.output
    out = result.output.splitlines()
    assert len(out) == 4, result.output
    centre = f"its community {huangpu} (Community 4, Grid 4, Nanjing East Road, Huangpu) at "
    assert out[0].startswith(f"{bad}:6002: 39.9,116.4 is 1,068 km from the centre of {centre}")
    assert "more than the 5 km a sensor may stand from it;" in out[0]
    assert "in no community of the city model" in out[0]
    assert "latitude 30.65..31.80, longitude 120.88..121.91" in out[0]
    assert out[1].startswith(f"{bad}:6003: 31.2,121.4 is 8.1 km from the centre of {centre}")
    assert out[1].endswith(
        "write the code of the community it stands in (the nearest is 310104013003004, "
        "Community 4, Grid 3, Huajing Town, Xuhui, 0.1 km away), or the sensor's own position"
    )
    assert out[2] == (
        f"{bad}:6004: latitude 121.47 is outside -90..90, and latitude and longitude look "
        "swapped; write 31.23,121.47 (latitude first)"
    )
    assert out[3] == f"sensor registry {bad}: 3 errors; the registry was not loaded"


def test_check_refuses_a_registry_of_no_sensors(tmp_path: Path) -> None:
    """A header alone used to pass the check ("6,000 removed sensor(s)") and then crash `run`."""
    header = tmp_path / "header.csv"
    header.write_text(shipped_lines()[0] + "\n", "utf-8")
    empty = tmp_path / "empty.npz"
    load_default_registry().subset(np.array([], dtype=np.int64)).save(empty)
    for path, what in ((header, "write one line per sensor after the header, sensor_id,kind,"
                                "community,lat,lon"),
                       (empty, "save a registry of the deployment's sensors")):  # fmt: skip
        result = CLI.invoke(app, ["registry", "check", str(path)])
        assert result.exit_code == 1, result.output
        assert result.output.splitlines() == [
            f"{path}: no sensors; {what} (start from `citysigns registry export`)",
            f"sensor registry {path}: 1 error; the registry was not loaded",
        ]


def test_check_reads_a_spreadsheets_csv_utf8_with_its_byte_order_mark(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts the file with a byte-order mark: not part of the header."""
    saved = tmp_path / "excel.csv"
    saved.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(shipped_lines()).encode() + b"\r\n")
    result = CLI.invoke(app, ["registry", "check", str(saved)])
    assert result.exit_code == 0, result.output
    assert "renumbered on restart" not in result.output  # the shipped sensors, all of them
    assert load_registry(saved, load_city()).ids() == load_default_registry().ids()
