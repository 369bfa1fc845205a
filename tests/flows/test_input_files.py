"""Input files as producers really write them: a spreadsheet's byte-order mark, a first line
that a crashed producer left blank or cut short.  Each runs through the real flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citysigns.run import run
from flows.deadletters import read_dead_letters
from flows.flow import FlowConfig
from flows.sources import BOM
from tests.flows.summary import summary_rows
from tests.reliability.fuzz_inputs import good_reading, hotline_warm_up

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")


def _run(tmp_path: Path, *inputs: Path) -> Path:
    out = tmp_path / "out"
    run(FlowConfig(tuple(str(p) for p in inputs), str(out), catalog=(SMALL,)))
    return out


def _orders(out: Path) -> list[str]:
    return [json.loads(x)["service_request_id"] for x in (out / "orders.ndjson").open()]


def test_a_hotline_file_whose_first_line_is_blank_or_broken_is_still_hotline(
    tmp_path: Path,
) -> None:
    """The family used to come from the first line alone: three good orders after a blank
    and a cut line were decoded as sensor readings and lost as "missing sensor_id, ts"."""
    orders = hotline_warm_up(3)
    path = tmp_path / "hotline.ndjson"
    path.write_bytes(b"\n" + orders[0][:25] + b"\n" + b"\n".join(orders) + b"\n")
    out = _run(tmp_path, path)
    assert _orders(out) == [json.loads(o)["service_request_id"] for o in orders]
    (letter,) = read_dead_letters(out / "dead_letters.ndjson")
    assert letter["reason"] == "bad_json" and letter["position"] == 2


def test_a_byte_order_mark_is_not_data(tmp_path: Path) -> None:
    """Excel's UTF-8 export starts with a BOM: every CSV row was refused as "missing
    sensor_id" (the header's first name was BOM + sensor_id), and an NDJSON file lost its
    first record."""
    readings = [good_reading(k) for k in range(4)]
    csv_path = tmp_path / "readings.csv"
    rows = [f"{r['sensor_id']},{r['ts']},{r['pm25']}" for r in readings]
    csv_path.write_bytes(BOM + ("sensor_id,ts,pm25\n" + "\n".join(rows) + "\n").encode())
    nd_path = tmp_path / "hotline.ndjson"
    orders = hotline_warm_up(2)
    nd_path.write_bytes(BOM + b"\n".join(orders) + b"\n")
    out = _run(tmp_path, csv_path, nd_path)
    assert read_dead_letters(out / "dead_letters.ndjson") == []
    assert len(_orders(out)) == 2
    windows = [json.loads(x) for x in (out / "windows.ndjson").open()]
    city = [w for w in windows if w["indicator"] == "test.pm25" and w["area_level"] == "city"]
    assert sum(w["count"] for w in city) == len(readings)


def test_the_run_summary_accounts_for_every_record(tmp_path: Path) -> None:
    """`citysigns run` printed windows and dead letters only: what was read could not be
    reconciled from its own output.  It now says, per source, what was accepted, refused
    and dropped as a repeat (a channel's records read are the three together)."""
    from typer.testing import CliRunner

    from citysigns.cli import app

    orders = hotline_warm_up(3)
    hotline = tmp_path / "hotline.ndjson"
    hotline.write_bytes(b"\n".join([*orders, orders[0], orders[1][:30]]) + b"\n")
    readings = [good_reading(k) for k in range(4)]
    sensors = tmp_path / "sensors.ndjson"
    sensors.write_text("".join(json.dumps(r) + "\n" for r in [*readings, readings[0]]) + "{\n")
    result = CliRunner().invoke(
        app, ["run", "-c", SMALL, "-i", str(hotline), "-i", str(sensors), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    rows = summary_rows(result.output)
    assert rows["read: hotline"] == (
        "3 records accepted, 1 record to dead letters, 1 repeated record dropped"
    )
    assert rows["read: sensor"] == (
        "4 values accepted, 1 record to dead letters, 1 repeated value dropped"
    )


def test_the_run_summary_says_how_many_records_no_indicator_counts(tmp_path: Path) -> None:
    """A hotline order without a position, or with one outside the city model, is accepted
    (it reaches dispatch) but lies in no area, so no indicator counts it, not even the
    city's.  The summary said "3 records accepted" and the city window counted 1: the two
    left no trace.  It now says how many lie in no area."""
    from typer.testing import CliRunner

    from citysigns.cli import app

    placed, *others = (json.loads(o) for o in hotline_warm_up(3))
    no_position = {k: v for k, v in others[0].items() if k not in ("lat", "long")}
    far_away = {**others[1], "lat": 39.9, "long": 116.4}  # Beijing, not in this city
    hotline = tmp_path / "hotline.ndjson"
    hotline.write_text("".join(json.dumps(r) + "\n" for r in (placed, no_position, far_away)))
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", "-i", str(hotline), "-o", str(out)])  # the catalog
    assert result.exit_code == 0, result.output
    rows = summary_rows(result.output)
    assert rows["read: hotline"] == (
        "3 records accepted (2 in no area of the city model, without a position or outside "
        "it: no indicator counts them)"
    )
    assert len(_orders(out)) == 3  # all three still reach dispatch
    windows = [json.loads(x) for x in (out / "windows.ndjson").open()]
    city = [w for w in windows if w["indicator"] == "hotline.volume" and w["area_level"] == "city"]
    assert sum(w["count"] for w in city) == 1


def test_a_line_longer_than_any_record_goes_to_the_dead_letters_by_its_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hotline export with a JSON array on one line among its orders: the line is cut to
    its head (`flows.sources.MAX_LINE_BYTES`), which goes to the dead letters at its line;
    the orders around it are read as before."""
    from flows import sources

    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(sources, "LINE_HEAD_BYTES", 256)
    orders = hotline_warm_up(4)
    array = b"[" + b",".join(orders * 200) + b"]"
    path = tmp_path / "hotline.ndjson"
    path.write_bytes(b"\n".join([*orders[:2], array, *orders[2:]]) + b"\n")
    out = tmp_path / "out"
    run(FlowConfig((str(path),), str(out), catalog=(SMALL,), chunk_bytes=1024))
    assert _orders(out) == [json.loads(o)["service_request_id"] for o in orders]
    (letter,) = read_dead_letters(out / "dead_letters.ndjson")
    assert (letter["reason"], letter["position"]) == ("bad_json", 3)
    assert len(letter["record"]) < 1024
