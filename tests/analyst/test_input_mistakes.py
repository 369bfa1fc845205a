"""Mistakes in a test's inputs are reported where they were written, with what to write:
a bad count at its term, a field the sensor's kind does not report with a suggestion, an
interval the decoder would refuse at its line, an unknown sensor with the ids like it."""

from __future__ import annotations

from pathlib import Path

import pytest

from citysigns.paths import CATALOG_DIR
from indicators.testing.runner import run_paths
from indicators.testing.spec import TestFormatError as SpecError
from indicators.testing.spec import load_test_file

HOTLINE = """\
tests:
  - name: counts
    indicator: hotline.water_outage
    interval: 1h
    series:
      - {{area: "310101001001001", category: water_outage, values: {values}}}
"""


@pytest.mark.parametrize(
    ("values", "col", "message"),
    [
        ("1 -1 2", 69, "term 2 '-1': orders per interval are whole numbers >= 0, not -1"),
        ("1 1.5 2", 69, "term 2 '1.5': orders per interval are whole numbers >= 0, not 1.5"),
        ("1 2 10-5x3", 71, "term 3 '10-5x3': orders per interval are whole numbers >= 0, not -5"),
        ('"1  _ 2"', 71, "term 2 '_': orders per interval are whole numbers >= 0; write 0"),
    ],
)
def test_a_bad_count_is_reported_at_its_term(
    tmp_path: Path, values: str, col: int, message: str
) -> None:
    """They were reported at the start of `values`, whichever term was wrong."""
    f = tmp_path / "t.yaml"
    f.write_text(HOTLINE.format(values=values), "utf-8")
    with pytest.raises(SpecError) as e:
        load_test_file(f)
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (6, col), str(d)
    assert message in d.message


def test_abnormal_checks_are_whole_numbers_at_their_term(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(
        HOTLINE.replace('{{area: "310101001001001", category: water_outage, values: {values}}}',
                        "{venue: V-310101-0001, checks: 5 5, abnormal: 0 0.5}"),
        "utf-8",
    )  # fmt: skip
    with pytest.raises(SpecError) as e:
        load_test_file(f)
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (6, 57), str(d)
    assert "term 2 '0.5': abnormal checks per interval are whole numbers >= 0" in d.message


def test_an_interval_over_a_day_is_refused_at_its_line(tmp_path: Path) -> None:
    """It failed when the test ran, as records the decoder refused ("timestamp ... is too
    far from the stream's time"), reported at the test's name."""
    f = tmp_path / "t.yaml"
    f.write_text(HOTLINE.format(values="1 2").replace("interval: 1h", "interval: 2d"), "utf-8")
    with pytest.raises(SpecError) as e:
        load_test_file(f)
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (4, 15)
    assert d.message.startswith("the interval must be at most a day (1d), not 2d")
    f.write_text(HOTLINE.format(values="1 2").replace("interval: 1h", "interval: 1d"), "utf-8")
    assert load_test_file(f).tests[0].interval == 86_400


SENSOR = """\
catalog: CATALOG
tests:
  - name: a gauge
    indicator: water.pressure
    interval: 15m
    series:
      - {sensor: SENSOR, FIELDvalues: 0.3x10}
"""


def _report(tmp_path: Path, sensor: str, field: str = "") -> str:
    f = tmp_path / "t.yaml"
    text = SENSOR.replace("CATALOG", str(CATALOG_DIR)).replace("SENSOR", sensor)
    f.write_text(text.replace("FIELD", field), "utf-8")
    report = run_paths([f])
    assert not report.ok
    return report.outcomes[0].report()


def test_a_misspelt_field_is_reported_at_its_position_with_a_suggestion(tmp_path: Path) -> None:
    """Every reading was refused by decoding ("11 input record(s) refused by decoding ...
    field 'presure' not known"), reported at the test's name."""
    text = _report(tmp_path, "WS-310106-000011", "field: presure, ")
    assert (
        f"input: {tmp_path / 't.yaml'}:7:43: field 'presure' is not one a water_supply sensor "
        'reports (did you mean "pressure"?); its fields: pressure, flow'
    ) in text, text
    assert "refused by decoding" not in text


def test_an_unknown_sensor_is_shown_the_ids_like_it(tmp_path: Path) -> None:
    text = _report(tmp_path, "WS-310106-999999")
    assert f"input: {tmp_path / 't.yaml'}:7:18: sensor 'WS-310106-999999' is not in the" in text
    assert "its ids starting WS-310106-: WS-310106-000001, WS-310106-000002, " in text, text
    assert "AQ-310101-000001" not in text
    text = _report(tmp_path, "ws-310106-000011")
    assert 'registry (did you mean "WS-310106-000011"?)' in text, text
