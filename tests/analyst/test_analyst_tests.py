"""`citysigns test`: the shipped analysts' tests of the catalog pass through the real flow
code, a wrong expectation fails with expected against got, and format mistakes are reported
as file:line:col."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app
from citysigns.paths import CATALOG_DIR
from flows.city import load_city, load_default_registry
from indicators.language.validate import catalog_files
from indicators.testing.pipeline import use_registry, world
from indicators.testing.runner import run_paths
from indicators.testing.spec import load_test_file

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "indicators" / "tests"
CLI = CliRunner()

PM25 = """
catalog: {catalog}
tests:
  - name: blue after two hours over 75
    indicator: air.pm25
    interval: 1h
    series:
      - sensor: AQ-310101-000001
        values: 40x5 90x2 40x4
    expect:
      warnings:
        - {{at: 8h, area: AQ-310101-000001, level: blue}}
"""


def test_shipped_tests_pass_and_cover_the_catalog() -> None:
    # the command itself, on one test (the command exits 0 exactly when `report.ok`, and the
    # whole folder is run once, below, to keep this suite fast)
    proc = subprocess.run(
        [sys.executable, "-m", "citysigns.cli", "test", str(TESTS), "-k", "a single water"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 test(s) passed" in proc.stdout
    report = run_paths([TESTS])
    assert report.ok, "\n".join(o.report() for o in report.outcomes if not o.ok)
    assert len(report.outcomes) >= 10
    tested = {i for o in report.outcomes for i in o.case.indicators}
    # at least one test per catalog file
    for f in catalog_files([CATALOG_DIR]):
        assert (TESTS / f.name).is_file(), f"no analysts' tests for {f.name}"
    categories = {o.warnings[0].category for o in report.outcomes if o.warnings}
    assert len(categories) >= 5, categories
    kinds = {e.kind for o in report.outcomes for e in o.warnings}
    assert {"firing", "escalated", "deescalated", "resolved"} <= kinds
    assert any(o.tickets for o in report.outcomes)
    assert len(tested) >= 10
    # entrance checkpoints are testable, and departments act in the shipped tests: every
    # lifecycle path (supervised, closed after verification, reopened) is exercised
    assert "checkpoint" in categories
    assert any(o.case.actions for o in report.outcomes)
    tickets = [t for o in report.outcomes for t in o.tickets]
    assert {"dispatched", "closed", "reopened"} <= {t.status for t in tickets}
    assert any(t.supervise_count > 0 for t in tickets)


ONE_CALL = """
catalog: {catalog}
tests:
  - name: one water-outage call makes its own ticket
    indicator: hotline.water_outage
    interval: 15m
    hotline:
      - {{at: 20m, category: water_outage, area: "310101001001001"}}
    series:
      - area: "310101001001001"
        category: water_outage
        values: 0x7
    expect:
      warnings: []
      tickets:
        - {{department: water_supply, level: blue, tier: street, area: "310101001", orders: 1}}
"""


def test_tickets_name_their_areas_as_the_real_service_does(tmp_path: Path) -> None:
    """The ticket service of `citysigns test` names areas by the city model, as the one of
    `citysigns dispatch` and `serve` does: a hotline ticket's summary says where in names,
    not in codes."""
    from alerts.areas import CityAreaNames, area_label

    f = tmp_path / "call.yaml"
    f.write_text(ONE_CALL.format(catalog=CATALOG_DIR), "utf-8")
    report = run_paths([f])
    assert report.ok, report.outcomes[0].report()
    (ticket,) = report.outcomes[0].tickets
    zh, en = area_label("310101001001001", CityAreaNames(load_city()))
    assert not en.startswith("310101")  # the city model names this community
    assert ticket.summary_en.startswith(f"{en}: 12345 order, "), ticket.summary_en
    assert ticket.summary_zh.startswith(f"{zh}: 12345 工单, "), ticket.summary_zh


def test_expectations_are_checked_exactly(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(PM25.format(catalog=CATALOG_DIR), "utf-8")
    report = run_paths([good])
    # the district and city means warn too: the expectation lists only the station
    assert not report.ok
    text = report.outcomes[0].report()
    assert "unexpected:" in text and 'area: "310101", level: blue' in text


def test_a_wrong_expectation_fails_with_a_readable_diff(tmp_path: Path) -> None:
    f = tmp_path / "wrong.yaml"
    f.write_text(PM25.format(catalog=CATALOG_DIR).replace("at: 8h", "at: 9h"), "utf-8")
    result = CLI.invoke(app, ["test", str(f)])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL" in out and "wrong.yaml:4:5" in out
    assert "missing (line 12):  - {at: 9h, area: AQ-310101-000001, level: blue}" in out
    assert "unexpected:       - {at: 8h, area: AQ-310101-000001, level: blue}" in out
    assert "0 of 1 test(s) passed" in out


def test_format_mistakes_have_positions(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "tests:\n"
        "  - name: typo\n"
        "    indicator: air.pm25\n"
        "    intervall: 1h\n"
        "    series:\n"
        "      - sensor: AQ-310101-000001\n"
        "        values: 40x5 9O 40\n",
        "utf-8",
    )
    result = CLI.invoke(app, ["test", str(f)])
    assert result.exit_code == 1
    assert 'bad.yaml:4:5: unknown key "intervall" (did you mean "interval"?)' in result.output
    assert "bad.yaml:7:22: term 2 '9O' is not a value" in result.output


def test_unknown_sensor_is_reported_not_crashed(tmp_path: Path) -> None:
    f = tmp_path / "sensor.yaml"
    f.write_text(PM25.format(catalog=CATALOG_DIR).replace("AQ-310101-000001\n", "AQ-999\n"))
    report = run_paths([f])
    assert "sensor 'AQ-999' is not in the sensor registry" in report.outcomes[0].report()


def test_a_deployment_registry_places_its_own_sensors(tmp_path: Path) -> None:
    """`citysigns test --registry`: a test of a station that only the deployment's registry
    knows runs as in the flow (`citysigns run --registry`), and a broken registry is refused
    with its file:line before any test runs."""
    new_station = "AQ-310101-900001"
    f = tmp_path / "station.yaml"
    f.write_text(
        PM25.format(catalog=CATALOG_DIR)
        .replace(
            "        - {at: 8h, area: AQ-310101-000001, level: blue}\n",
            "".join(
                f"        - {{at: {at}, area: {area}, level: blue{kind}}}\n"
                for at, kind in (("8h", ""), ("11h", ", kind: resolved"))
                for area in ('"310000"', '"310101"', new_station)
            ),
        )
        .replace("AQ-310101-000001", new_station)
    )
    shipped = load_default_registry()
    text = shipped.to_csv_text(load_city())
    community = text.splitlines()[1].split(",")[2]  # where AQ-310101-000001 stands
    registry = tmp_path / "sensors.csv"
    registry.write_text(text + f"{new_station},air_quality,{community},31.23,121.47\n")
    try:
        unknown = CLI.invoke(app, ["test", str(f)])
        assert unknown.exit_code == 1
        assert f"sensor '{new_station}' is not in the sensor registry" in unknown.output
        placed = CLI.invoke(app, ["test", str(f), "--registry", str(registry)])
        assert f"sensor registry: {registry} (6,001 sensors)" in placed.output
        assert placed.exit_code == 0, placed.output  # the station, its district and the city
        assert "1 of 1 test(s) passed" in placed.output
        broken = tmp_path / "broken.csv"
        broken.write_text(text.replace("air_quality", "air_qualty", 1))
        refused = CLI.invoke(app, ["test", str(f), "--registry", str(broken)])
        assert refused.exit_code == 2
        assert f"{broken}:2: unknown sensor kind 'air_qualty'" in refused.output
    finally:
        use_registry(None)
    assert load_default_registry() is world().registry


def test_hex_looking_terms_are_read_as_written() -> None:
    tf = load_test_file(TESTS / "citizens.yaml")
    single = next(t for t in tf.tests if t.name.startswith("a single"))
    assert single.areas[0].values == [0.0] * 8  # `0x7`, not hexadecimal 7


@pytest.mark.timeout(60)
def test_series_past_the_limit_are_refused_with_their_position(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    f.write_text(
        f"catalog: {CATALOG_DIR}\n"
        "tests:\n"
        "  - name: a repeat count typo\n"
        "    indicator: air.pm25\n"
        "    interval: 1h\n"
        "    series:\n"
        "      - sensor: AQ-310101-000001\n"
        "        values: 40x5 90x99999999 40x4\n"
        "  - name: a hotline count typo\n"
        "    indicator: hotline.water_outage\n"
        "    interval: 600\n"
        "    series:\n"
        '      - {area: "310101001001001", category: water_outage, values: 0x5 99999999999 0}\n',
        "utf-8",
    )
    result = CLI.invoke(app, ["test", str(f)])
    assert result.exit_code == 1
    assert "huge.yaml:8:22: term 2 '90x99999999': the series would have more than 100,000" in (
        result.output
    )
    assert "huge.yaml:11:15: 600 has no unit: write 600m or 600s" in result.output
    assert "longer than 0s" not in result.output  # one mistake, one message
    assert "huge.yaml:13:71: term 2 '99999999999': the series would make more than 100,000" in (
        result.output
    )


def test_orders_that_would_spill_into_the_next_interval_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "spill.yaml"
    f.write_text(
        f"catalog: {CATALOG_DIR}\n"
        "tests:\n"
        "  - name: more orders than seconds\n"
        "    indicator: hotline.water_outage\n"
        "    interval: 1m\n"
        "    series:\n"
        '      - {area: "310101001001001", category: water_outage, values: 0x5 61 0}\n',
        "utf-8",
    )
    report = run_paths([f])
    assert "61 orders in one interval of 60s would spill" in report.outcomes[0].report()


def test_an_unknown_indicator_names_the_catalog_searched(tmp_path: Path) -> None:
    packaged = tmp_path / "packaged.yaml"
    packaged.write_text(PM25.format(catalog=CATALOG_DIR).replace("catalog: ", "# "), "utf-8")
    packaged.write_text(packaged.read_text("utf-8").replace("air.pm25", "qa.draft"), "utf-8")
    msg = run_paths([packaged]).outcomes[0].report()
    assert "unknown indicator(s) qa.draft: not in the packaged catalog; to test a draft" in msg
    assert "`catalog: path/to/draft.yaml`" in msg
    named = tmp_path / "named.yaml"
    named.write_text(PM25.format(catalog=CATALOG_DIR).replace("air.pm25", "air.pm52"), "utf-8")
    msg = run_paths([named]).outcomes[0].report()
    assert 'unknown indicator(s) air.pm52 (did you mean "air.pm25"?): not in the catalog ' in msg
    assert str(CATALOG_DIR) in msg
