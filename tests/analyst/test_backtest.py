"""Backtests: the Beijing and NAB adapters, episodes and time at level, label scoring, the
comparison with an older definition, and the HTML report with its embedded plots."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from alerts.events import WarningEvent
from citysigns.cli import app
from citysigns.paths import CATALOG_DIR
from flows.decode.sensors import SensorDecoder
from indicators.backtest.data import beijing_source, is_nab, nab_source, records_source
from indicators.backtest.places import Places
from indicators.backtest.report import (
    Episode,
    Label,
    LabelsError,
    diff,
    episodes,
    load_labels,
    score_labels,
    summarise,
)
from indicators.testing.pipeline import world

CLI = CliRunner()
COLUMNS = '"No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","PRES",'
COLUMNS += '"DEWP","RAIN","wd","WSPM","station"'
AIR = str(CATALOG_DIR / "air.yaml")


def prsa(path: Path, station: str, pm25: list[float | None], day0: int = 1) -> Path:
    """A file shaped like the UCI data: hourly rows from 2016-03-<day0> 00:00 local time."""
    lines = [COLUMNS]
    for i, v in enumerate(pm25):
        day, hour = day0 + i // 24, i % 24
        cell = "NA" if v is None else f"{v}"
        lines.append(
            f'{i + 1},2016,3,{day},{hour},{cell},10,3,20,300,50,5,1020,-5,0,"N",2,"{station}"'
        )
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_beijing_adapter_gives_flow_records(tmp_path: Path) -> None:
    folder = tmp_path / "bj"
    folder.mkdir()
    prsa(folder / "PRSA_Data_Dongsi_x.csv", "Dongsi", [10.0, None, 30.0])
    prsa(folder / "PRSA_Data_Tiantan_x.csv", "Tiantan", [5.0, 6.0, 7.0])
    src = beijing_source(folder, world().registry, {"pm25"})
    assert src.records == 5  # the NA cell is not a reading
    assert src.first == 1456761600  # 2016-03-01 00:00 at UTC+8
    batch, dead = SensorDecoder(world().registry).decode(src.chunks[0])
    assert not dead.letters
    assert sorted(batch.value.tolist()) == [5.0, 6.0, 7.0, 10.0, 30.0]
    assert len(np.unique(batch.sensor)) == 2


def test_nab_adapter_reads_utc(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("timestamp,value\n2014-01-01 00:00:00,1.5\n2014-01-01 00:05:00,2.5\n")
    src = nab_source(f, "PW-310101-000001", "load")
    assert (src.records, src.first, src.last) == (2, 1388534400, 1388534700)
    assert src.chunks[0].data.startswith(b"PW-310101-000001,2014-01-01T00:00:00Z,load,1.5")


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_records_saved_with_a_byte_order_mark_decode_from_the_first_line(
    tmp_path: Path, fmt: str
) -> None:
    """A spreadsheet's "CSV UTF-8" starts with a byte-order mark: the flow's file sources drop
    it, and so does --data.  It used to spoil the header (every reading a dead letter, the
    backtest "over 1970-01-01") or the first NDJSON record."""
    sid = world().registry.ids([0])[0]
    rows = [(f"2026-03-02T{h:02d}:00:00+08:00", 20 + h) for h in range(3)]
    if fmt == "csv":
        text = "sensor_id,ts,metric,value\r\n" + "".join(
            f"{sid},{ts},pm25,{v}\r\n" for ts, v in rows
        )
    else:
        text = "".join(json.dumps({"sensor_id": sid, "ts": ts, "pm25": v}) + "\n" for ts, v in rows)
    f = tmp_path / f"records.{fmt}"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode())
    src = records_source(f)
    batch, dead = SensorDecoder(world().registry).decode(src.chunks[0])
    assert [d.reason for d in dead.letters] == []
    assert batch.value.tolist() == [20.0, 21.0, 22.0]
    nab = tmp_path / "nab.csv"
    nab.write_bytes(b"\xef\xbb\xbftimestamp,value\r\n2014-01-01 00:00:00,1.5\r\n")
    assert is_nab(nab)
    assert nab_source(nab, sid, "pm25").records == 1


def event(kind: str, level: str, at: int, area: str = "A") -> WarningEvent:
    blank = dict.fromkeys(("category", "title_zh", "title_en", "unit", "text_zh", "text_en"), "")
    return WarningEvent(
        warning_id=f"x@{area}", kind=kind, indicator_id="x", area_code=area,  # type: ignore[arg-type]
        area_level="sensor", level=level, previous_level=None, at=at, since=at,
        window_start=at - 3600, window_end=at, value=1.0, score=1.0, lower=None, upper=None,
        **blank,
    )  # fmt: skip


def test_episodes_time_at_level_and_labels() -> None:
    h = 3600
    evs = [
        event("firing", "blue", 10 * h),
        event("escalated", "orange", 12 * h),
        event("resolved", "orange", 15 * h),
        event("firing", "blue", 40 * h),
    ]
    eps = episodes(evs, data_end=50 * h)
    assert [(e.start, e.end, e.top, e.resolved) for e in eps] == [
        (10 * h, 15 * h, "orange", True),
        (40 * h, 50 * h, "blue", False),
    ]
    s = summarise(eps, [])
    assert s.hours_at == {"blue": 12.0, "yellow": 0.0, "orange": 3.0, "red": 0.0}
    assert s.per_level["orange"] == 1 and s.reached["blue"] == 2
    scored = score_labels(eps, [Label(9 * h, 20 * h, 11 * h), Label(60 * h, 70 * h, 65 * h)])
    assert (scored.detected, scored.missed, scored.false_alarms) == (1, 1, 1)
    assert scored.lead_times_h == [1.0]  # warned an hour before the labelled instant
    # a known incident (not a NAB window): a warning already on when it starts counts,
    # with a positive lead time
    incident = score_labels(eps, [Label(11 * h, 13 * h, 11 * h, inside=False)])
    assert (incident.detected, incident.false_alarms, incident.lead_times_h) == (1, 1, [1.0])
    nab = score_labels(eps, [Label(11 * h, 13 * h, 12 * h)])
    assert (nab.detected, nab.false_alarms) == (0, 2)
    d = diff(eps[:1], eps)
    assert (len(d.added), len(d.removed), d.kept) == (1, 0, 1)


def test_against_matches_episodes_of_the_same_indicator() -> None:
    """A change that silences PM10 removes its episodes, even where PM2.5 warns in the same
    area at the same time (before, the area alone matched: they counted as kept)."""
    h = 3600
    pm25 = Episode(
        "air.pm25", "310101", "district", 10 * h, 20 * h, True, [(10 * h, 20 * h, "blue")]
    )
    pm10 = Episode(
        "air.pm10", "310101", "district", 11 * h, 19 * h, True, [(11 * h, 19 * h, "blue")]
    )
    d = diff([pm25, pm10], [pm25])
    assert (len(d.added), len(d.removed), d.kept) == (0, 1, 1)
    assert d.removed == [pm10]
    assert d.to_dict()["removed_episodes"][0]["indicator"] == "air.pm10"
    d2 = diff([pm25], [pm10])  # a new indicator's episode is added, the old one's removed
    assert (len(d2.added), len(d2.removed), d2.kept) == (1, 1, 0)


@pytest.fixture(scope="module")
def episode_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five days at one station with one pollution episode (day 3, 08:00-20:00 local)."""
    root = tmp_path_factory.mktemp("bt")
    folder = root / "bj"
    folder.mkdir()
    values: list[float | None] = [40.0] * 120
    for i in range(56, 68):
        values[i] = 180.0
    prsa(folder / "PRSA_Data_Dongsi_x.csv", "Dongsi", values)
    labels = root / "incidents.csv"
    labels.write_text(
        "start,end,name\n2016-03-03T09:00:00+08:00,2016-03-03T20:00:00+08:00,"
        "smog\n2016-03-05T09:00:00+08:00,2016-03-05T12:00:00+08:00,none\n"
    )
    return folder, labels


def test_backtest_command_writes_report(episode_data: tuple[Path, Path], tmp_path: Path) -> None:
    folder, labels = episode_data
    old = tmp_path / "old.yaml"
    text = Path(AIR).read_text("utf-8")
    for a, b in (
        ("{threshold: 75,  for: 2h}", "{threshold: 500, for: 2h}"),
        ("{threshold: 115, for: 1h}", "{threshold: 600, for: 1h}"),
        ("{threshold: 150, for: 1h}", "{threshold: 700, for: 1h}"),
        ("{threshold: 250, for: 0s}", "{threshold: 800, for: 0s}"),
    ):
        assert a in text
        text = text.replace(a, b)  # the older definition: thresholds too high to fire here
    old.write_text(text, "utf-8")
    out = tmp_path / "r.html"
    result = CLI.invoke(
        app,
        [
            "backtest",
            AIR,
            "-i",
            "air.pm25",
            "--data",
            str(folder),
            "--labels",
            str(labels),
            "--against",
            str(old),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(out.with_suffix(".json").read_text())
    s = summary["summary"]
    # the station, its district and the city: one episode each, orange at the top
    assert s["per_level"]["orange"] == 3 and sum(s["per_level"].values()) == 3
    assert summary["labels"]["detected"] == 1 and summary["labels"]["missed"] == 1
    # orange fires at 09:00 local, when its hour over 150 ends: inside the window, no lead
    assert summary["labels"]["false_alarms"] == 0
    assert summary["labels"]["windows"][0]["lead_h"] == 0.0
    assert (summary["against"]["added"], summary["against"]["removed"]) == (3, 0)
    assert s["tickets"]["tickets"] >= 1
    page = out.read_text("utf-8")
    pngs = re.findall(r"base64,([A-Za-z0-9+/=]+)'", page)
    assert len(pngs) == 1 and base64.b64decode(pngs[0])[:4] == b"\x89PNG"
    assert "Against the labels" in page and "Against the older definition" in page


def test_backtest_refuses_unknown_indicator(episode_data: tuple[Path, Path]) -> None:
    folder, _ = episode_data
    result = CLI.invoke(app, ["backtest", AIR, "-i", "air.nope", "--data", str(folder)])
    assert result.exit_code == 1 and "air.nope" in result.output


def labels_file(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "labels.csv"
    f.write_text(text, "utf-8")
    return f


def label_errors(f: Path) -> list[str]:
    with pytest.raises(LabelsError) as e:
        load_labels(f, Path("data"))
    return [str(d) for d in e.value.diagnostics]


def test_label_times_without_offset_are_city_time(tmp_path: Path) -> None:
    naive = labels_file(tmp_path, "start,end,name\n2015-12-08T07:00:00,2015-12-10,red alert\n")
    [lab] = load_labels(naive, Path("data"))
    assert lab.start == int(datetime.fromisoformat("2015-12-08T07:00:00+08:00").timestamp())
    assert lab.end == int(datetime.fromisoformat("2015-12-10T00:00:00+08:00").timestamp())
    assert (lab.ref, lab.name, lab.area, lab.inside) == (lab.start, "red alert", None, False)
    utc = labels_file(tmp_path, "\ufeffstart,end,area\n2015-12-07T23:00:00Z,,110101\n")
    [lab2] = load_labels(utc, Path("data"))  # a BOM, an offset, an instant, an area
    assert (lab2.start, lab2.end, lab2.area) == (lab.start, lab.start, "110101")


def test_a_wrong_header_names_the_expected_one(tmp_path: Path) -> None:
    f = labels_file(tmp_path, "begin,finish\n2014-01-01T00:00:00+00:00,2014-01-02T00:00:00+00:00\n")
    assert label_errors(f) == [
        f"{f}:1:1: the header is begin,finish (missing start, end; unknown begin, finish): a "
        "labels file has the columns start,end[,area][,name] (e.g. start,end,name)"
    ]
    assert "missing start, end" in label_errors(labels_file(tmp_path, "garbage\n"))[0]
    assert "unknown nmae" in label_errors(labels_file(tmp_path, "start,end,nmae\n"))[0]
    assert "empty" in label_errors(labels_file(tmp_path, ""))[0]
    assert "no labels" in label_errors(labels_file(tmp_path, "start,end\n"))[0]


def test_bad_rows_are_all_reported_at_their_line(tmp_path: Path) -> None:
    f = labels_file(
        tmp_path,
        "start,end,name\n"
        "2015-12-08T07:00:00+08:00,2015-12-10T12:00:00+08:00,fine\n"
        "not-a-date,2014-01-01,bad start\n"
        "2014-01-02T00:00:00+00:00,2014-01-01T00:00:00+00:00,reversed\n"
        "\n"
        "2014-01-02,2014-01-03\n",
    )
    assert label_errors(f) == [
        f"{f}:3:1: start 'not-a-date' is not a time: write ISO 8601, e.g. "
        "2015-12-08T07:00:00+08:00 or 2015-12-08 (city time without an offset)",
        f"{f}:4:27: end 2014-01-01T00:00:00+00:00 is before start 2014-01-02T00:00:00+00:00: "
        "swap them",
        f"{f}:6:1: 2 fields, the header has 3 (start,end,name)",
    ]


def test_a_broken_labels_file_is_refused_before_the_replay(
    episode_data: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = episode_data
    bad = labels_file(tmp_path, "begin,finish\n2016-03-03,2016-03-04\n")
    out = tmp_path / "r.html"
    args = ["backtest", AIR, "-i", "air.pm25", "--data", str(folder), "--labels", str(bad)]
    result = CLI.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 1
    assert f"{bad}:1:1: the header is begin,finish" in result.output
    assert "Traceback" not in result.output and "replaying" not in result.output
    assert not out.exists()


def _sensor_records(path: Path, hours: int) -> Path:
    """Hourly PM2.5 of four stations in the flow's own NDJSON, from 2016-03-01 00:00 local
    (four, so that the decoder's stream time, a median over 64 records, follows the data)."""
    lines = []
    for h in range(hours):
        day, hour = 1 + h // 24, h % 24
        ts = f"2016-03-{day:02d}T{hour:02d}:00:00+08:00"
        for k in range(1, 5):
            sensor = f"AQ-310101-{k:06d}"
            lines.append(f'{{"sensor_id": "{sensor}", "ts": "{ts}", "pm25": 40.0}}')
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_a_file_of_records_is_cut_to_from_and_to(tmp_path: Path) -> None:
    """--from/--to were ignored for the flow's own records: the whole file was replayed."""
    data = _sensor_records(tmp_path / "sensors.ndjson", 72)
    out = tmp_path / "r.html"
    args = ["backtest", AIR, "-i", "air.pm25", "--data", str(data), "--plots", "0"]
    period = ["--from", "2016-03-02", "--to", "2016-03-02T12:00:00+08:00"]
    result = CLI.invoke(app, [*args, *period, "--no-tickets", "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())["meta"]
    assert meta["period"] == "2016-03-02 00:00 .. 2016-03-02 12:00"
    assert meta["records"] == 4 * 72 and meta["used by the indicators"] == 4 * 12
    whole = CLI.invoke(app, [*args, "--no-tickets", "--out", str(out)])
    assert whole.exit_code == 0, whole.output
    meta = json.loads(out.with_suffix(".json").read_text())["meta"]
    assert meta["period"] == "2016-03-01 00:00 .. 2016-03-04 00:00"
    assert meta["used by the indicators"] == 4 * 72


def test_data_that_feeds_none_of_the_indicators_is_refused(tmp_path: Path) -> None:
    """A file of hotline orders backtested on PM2.5 printed a 1970 period and an empty
    report, exit 0; now it says what the indicators read and what the file holds."""
    hotline = tmp_path / "hotline.ndjson"
    hotline.write_text(
        '{"service_request_id": "12345-2016-000001", "service_code": "noise_complaint", '
        '"description": "noise", "requested_datetime": "2016-03-01T10:00:00+08:00", '
        '"lat": 31.2304, "long": 121.4737}\n',
        "utf-8",
    )
    args = ["backtest", AIR, "-i", "air.pm25", "--out", str(tmp_path / "r.html")]
    result = CLI.invoke(app, [*args, "--data", str(hotline)])
    assert result.exit_code == 1
    assert (
        f"{hotline}: nothing for these indicators (air.pm25 reads air_quality pm25); the data "
        "holds 1 hotline records" in " ".join(result.output.split())
    )
    sensors = _sensor_records(tmp_path / "sensors.ndjson", 24)
    later = ["--from", "2016-04-01", "--to", "2016-04-02"]
    result = CLI.invoke(app, [*args, "--data", str(sensors), *later])
    assert result.exit_code == 1
    assert (
        "nothing for these indicators from 2016-04-01 00:00 to 2016-04-02 00:00 (air.pm25 "
        "reads air_quality pm25); the data holds 96 air_quality pm25"
        in " ".join(result.output.split())
    )
    assert "Traceback" not in result.output and not (tmp_path / "r.html").exists()


def _places() -> Places:
    return Places(world().city, world().registry)


def test_a_label_s_area_is_a_code_an_id_or_a_name_of_the_city_model(tmp_path: Path) -> None:
    """A typo or a name was accepted and the label silently counted as missed."""
    good = labels_file(
        tmp_path,
        "start,end,area,name\n"
        "2015-12-08,2015-12-10,310101,code\n"
        "2015-12-08,2015-12-10,Huangpu,English name\n"
        "2015-12-08,2015-12-10,黄浦区,Chinese name\n"
        "2015-12-08,2015-12-10,AQ-310101-000001,station\n",
    )
    got = [lab.area for lab in load_labels(good, Path("data"), _places())]
    assert got == ["310101", "310101", "310101", "AQ-310101-000001"]
    bad = labels_file(
        tmp_path,
        "start,end,area,name\n"
        "2015-12-08,2015-12-10,31O101,typo\n"
        "2015-12-08,2015-12-10,Community 1,ambiguous\n"
        "2015-12-08,2015-12-10,AQ-310101-00001,short id\n",
    )
    with pytest.raises(LabelsError) as e:
        load_labels(bad, Path("data"), _places())
    got = [str(d) for d in e.value.diagnostics]
    assert got[0] == (
        f"{bad}:2:23: area '31O101' is not an area of the city model (did you mean "
        '"310101", Huangpu?)'
    )
    assert got[1].startswith(f"{bad}:3:23: area 'Community 1' names 2182 areas (")
    assert got[1].endswith("write the area's code")
    assert got[2].startswith(
        f"{bad}:4:23: area 'AQ-310101-00001' is not an area of the city model (did you mean "
        '"AQ-310101-000001", air_quality sensor in '
    )


def test_a_label_on_an_area_credits_the_areas_inside_it_and_around_it() -> None:
    """A district's incident is seen by its station and by the city's mean as well: they
    counted as false alarms; a warning in another district still is one."""
    h = 3600
    eps = episodes(
        [
            event("firing", "blue", 10 * h, "AQ-310101-000001"),
            event("firing", "blue", 10 * h, "310101"),
            event("firing", "blue", 11 * h, "310000"),
            event("firing", "blue", 10 * h, "310104"),
            event("firing", "blue", 10 * h, "AQ-310104-000001"),
        ],
        data_end=20 * h,
    )
    label = Label(9 * h, 12 * h, 9 * h, "310101", "district", inside=False)
    scored = score_labels(eps, [label], _places())
    assert (scored.detected, scored.false_alarms) == (1, 2)
    exact = score_labels(eps, [label])  # without the city model: the area alone
    assert (exact.detected, exact.false_alarms) == (1, 4)
    station = Label(9 * h, 12 * h, 9 * h, "AQ-310101-000001", "station", inside=False)
    assert score_labels(eps, [station], _places()).false_alarms == 2  # its district, the city
    missed = score_labels(eps, [Label(30 * h, 40 * h, 30 * h, "310101", inside=False)])
    assert missed.median_lead_h is None and missed.median_lead == "n/a"
    assert scored.median_lead == "-1.0 h"  # an hour after the incident began


def test_backtest_refuses_a_label_area_it_does_not_know(
    episode_data: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = episode_data
    bad = labels_file(tmp_path, "start,end,area\n2016-03-03,2016-03-04,Huangpo\n")
    args = ["backtest", AIR, "-i", "air.pm25", "--data", str(folder), "--labels", str(bad)]
    result = CLI.invoke(app, [*args, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert (
        f"{bad}:2:23: area 'Huangpo' is not an area of the city model (did you mean "
        '"Huangpu", 310101?)' in result.output
    )
    assert "replaying" not in result.output


THIN = """indicators:
  - id: t.pm25_of_many
    title: {zh: 细颗粒物, en: PM2.5 of many readings}
    category: air
    unit: ug/m3
    owner: env
    source: {kind: air_quality}
    value:
      field: pm25
      aggregate: mean
      window: {type: tumbling, length: 1h, lateness: 10m}
      levels: [sensor, district]
      min_count: 5
    detection:
      detectors: [{type: threshold, upper: 75}]
      warnings: {on: value, levels: {blue: {threshold: 75, for: 0s}}}
    dispatch: none
"""


def test_a_backtest_says_how_many_windows_were_too_few_to_judge(tmp_path: Path) -> None:
    """An indicator whose areas never reach its `min_count` judged nothing, and the backtest
    said only "windows scored" and no warnings (a checkpoint rate per community on the demo
    city: 3,178 windows, every one of them unjudged)."""
    data = _sensor_records(tmp_path / "sensors.ndjson", 24)  # 1 reading a station, 4 a district
    definition = tmp_path / "thin.yaml"
    definition.write_text(THIN, "utf-8")
    out = tmp_path / "r.html"
    args = ["backtest", str(definition), "--data", str(data), "--plots", "0", "--no-tickets"]
    result = CLI.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())["meta"]
    assert meta["windows scored"] == 5 * 24  # 4 stations and their district, 24 hours
    assert meta["windows too few to judge (min_count)"] == 5 * 24
    assert (
        "120 of 120 windows had fewer records than their indicator's min_count and were not "
        "judged" in " ".join(result.output.split())
    )
    result = CLI.invoke(app, ["backtest", AIR, "-i", "air.pm25", *args[2:], "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())["meta"]
    assert meta["windows too few to judge (min_count)"] == 0
    assert "not judged" not in result.output
