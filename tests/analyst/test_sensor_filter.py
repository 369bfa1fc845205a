"""A `sensor_id` filter restricts a sensor indicator to some sensors (or leaves some out),
through the flow's own routing; citizen records have no sensor id, and `check` says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app
from indicators.language.validate import load_catalog
from indicators.testing.runner import run_paths

CLI = CliRunner()

DRAFT = """\
indicators:
  - id: air.pm25_some
    title: {{zh: 部分站点PM2.5, en: PM2.5 at some stations}}
    category: air
    unit: ug/m3
    owner: env
    source:
      kind: air_quality
      filter: [{flt}]
    value: {{field: pm25, aggregate: mean, window: {{length: 1h}}, levels: [sensor, district]}}
    detection:
      detectors: [{{type: threshold, upper: 75}}]
      warnings: {{on: value, levels: {{blue: {{threshold: 75, for: 0s}}}}}}
    dispatch: none
"""

TEST = """\
catalog: draft.yaml
tests:
  - name: only the chosen station counts
    indicator: air.pm25_some
    interval: 1h
    series:
      - sensor: AQ-310101-000001
        values: 40x5
      - sensor: AQ-310101-000002
        values: 200x5
    expect:
      warnings: [{expect}]
"""

HIGH = '{{at: 1h, area: AQ-310101-000002, level: blue}}, {{at: 1h, area: "310101", level: blue}}'


@pytest.mark.parametrize(
    ("flt", "expect"),
    [
        ("{field: sensor_id, in: [AQ-310101-000001]}", ""),
        ("{field: sensor_id, equals: AQ-310101-000001}", ""),
        ('{field: sensor_id, not_in: ["AQ-310101-000002"]}', ""),
        ("{field: sensor_id, in: [AQ-310101-000002]}", HIGH),
        # with a filter on the readings beside it (both must hold)
        ("{field: sensor_id, in: [AQ-310101-000002]}, {field: pm25, range: [0, 100]}", ""),
    ],
)
def test_a_sensor_id_filter_keeps_the_sensors_it_names(
    tmp_path: Path, flt: str, expect: str
) -> None:
    (tmp_path / "draft.yaml").write_text(DRAFT.format(flt=flt), "utf-8")
    test = tmp_path / "t.yaml"
    test.write_text(TEST.format(expect=expect.replace("{{", "{").replace("}}", "}")), "utf-8")
    report = run_paths([test])
    assert not report.errors, [str(d) for d in report.errors]
    assert report.ok, "\n".join(o.report() for o in report.outcomes)


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text, "utf-8")
    _, diags = load_catalog([path])
    return [f"{d.line}:{d.col}: {d.message}" for d in diags]


def test_check_accepts_a_sensor_id_filter_beside_the_readings_field(tmp_path: Path) -> None:
    flt = "{field: sensor_id, not_in: [AQ-310101-000002]}, {field: pm25, range: [0, 500]}"
    assert _errors(tmp_path, DRAFT.format(flt=flt)) == []


def test_check_refuses_what_a_sensor_id_filter_cannot_mean(tmp_path: Path) -> None:
    number = _errors(tmp_path, DRAFT.format(flt="{field: sensor_id, in: [310101]}"))
    assert number == [
        '9:40: field "sensor_id" holds text, so `in` compares text, not the number 310101: '
        'write it in quotes (in: ["310101"])'
    ]
    ranged = _errors(tmp_path, DRAFT.format(flt="{field: sensor_id, range: [1, 2]}"))
    assert len(ranged) == 1 and "a `range` filter compares numbers" in ranged[0]
    count = DRAFT.format(flt="{field: sensor_id, in: [AQ-310101-000001]}").replace(
        "field: pm25, aggregate: mean", "aggregate: count"
    )
    assert _errors(tmp_path, count) == [
        "10:12: say which readings to count: set `field`, or a `filter` on one field (a "
        "`sensor_id` filter says which sensors, not which of their readings)"
    ]


def test_citizen_records_have_no_sensor_id(tmp_path: Path) -> None:
    hotline = """\
indicators:
  - id: hotline.some
    title: {zh: 工单, en: Orders}
    category: hotline
    unit: orders
    owner: operations_centre
    source: {kind: hotline, filter: [{field: sensor_id, in: ["12345-2026-000001"]}]}
    value: {aggregate: count, window: {length: 1h}, levels: [city]}
    detection:
      detectors: [{type: threshold, upper: 10}]
      warnings: {on: value, levels: {blue: {threshold: 10}}}
    dispatch: none
"""
    assert _errors(tmp_path, hotline) == [
        '7:46: "hotline" records come from citizens, not sensors: they have no "sensor_id"; '
        "fields: category, channel, description, service_code"
    ]


def test_a_sensor_the_registry_does_not_have_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    """The registry is the deployment's (`--registry`), so `check` cannot know its ids; run,
    test and backtest, which place sensors by it, refuse an id it lacks at its position."""
    flt = "{field: sensor_id, in: [AQ-310101-000001, AQ-310101-00002, WQ-310101-000001]}"
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT.format(flt=flt), "utf-8")
    assert _errors(tmp_path, DRAFT.format(flt=flt)) == []  # check: fine
    typo = (
        f'{draft}:9:58: indicator "air.pm25_some": no sensor "AQ-310101-00002" in the sensor '
        'registry (did you mean "AQ-310101-000002"?); its air_quality sensors have ids like '
        "AQ-310101-000001"
    )
    kind = (
        f'{draft}:9:75: indicator "air.pm25_some": sensor "WQ-310101-000001" is a '
        "water_quality sensor, not air_quality: this indicator reads air_quality sensors only"
    )
    test = tmp_path / "t.yaml"
    test.write_text(TEST.format(expect=""), "utf-8")
    report = run_paths([test])
    got = [str(d) for d in report.errors]
    assert got == [typo, kind]

    data = tmp_path / "sensors.ndjson"
    data.write_text(
        '{"sensor_id": "AQ-310101-000001", "ts": "2026-03-02T00:00:00+08:00", "pm25": 40}\n'
    )
    for args in (
        ["backtest", str(draft), "--data", str(data), "--out", str(tmp_path / "b.html")],
        ["run", "-i", str(data), "--catalog", str(draft), "-o", str(tmp_path / "out")],
    ):
        result = CLI.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert typo in result.output and kind in result.output
        assert "Traceback" not in result.output
