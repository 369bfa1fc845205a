"""Dashboard queries evaluated by Prometheus' own engine (promtool's PromQL tests), where the
shape of the data makes a plausible query wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dashboards.queries import DEAD_LETTER_RATIO, EVENTS_RATE_TOTAL, RECOVERY_RESETS_DAY
from flows.metrics import DEAD_LETTERS, EVENTS, RECOVERY_RESETS
from tests.dashboards.conftest import promql_cases


def promql_test(tmp_path: Path, series: dict[str, str], expr: str, at: str,
                expected: list[dict[str, object]]) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return promql_cases(tmp_path, series, [(expr, at, expected)])


def test_the_recovery_panel_shows_resets_counted_at_start(tmp_path: Path) -> None:
    """A restart counts its resets before the first scrape, so the counter's series appears
    already at its final value and never increases: `increase()` would read 0 there.  A
    second restart starts the counter again."""
    labels = 'job="citysigns",instance="flow:9464"'
    series = {
        f'{RECOVERY_RESETS}_total{{indicator="air.pm25",reason="geometry",{labels}}}':
            "_x30 1x60 _x10 1x30",  # restarted twice, each time afresh
        f'{RECOVERY_RESETS}_total{{indicator="water.pressure",reason="areas",{labels}}}':
            "_x100 1x30",
    }  # fmt: skip
    expected = [
        {"labels": '{indicator="air.pm25",reason="geometry"}', "value": 1},
        {"labels": '{indicator="water.pressure",reason="areas"}', "value": 1},
    ]
    run = promql_test(tmp_path, series, RECOVERY_RESETS_DAY, "125m", expected)
    assert run.returncode == 0, run.stdout + run.stderr


def test_records_without_an_area_are_read_once(tmp_path: Path) -> None:
    """`unplaced` counts again some of a channel's `accepted` records (those in no area of
    the city model): a sum over every outcome read each of them twice, so a hotline feed
    without positions doubled "Events per second" and halved the dead-letter ratio (and
    CitySignsDeadLetterRate's, which the generated promtool tests check)."""
    labels = 'job="citysigns",instance="flow:9464"'
    series = {
        f'{EVENTS}_total{{source="hotline",outcome="accepted",{labels}}}': "0+540x20",
        f'{EVENTS}_total{{source="hotline",outcome="unplaced",{labels}}}': "0+540x20",
        f'{EVENTS}_total{{source="hotline",outcome="dead_letter",{labels}}}': "0+60x20",
        f'{DEAD_LETTERS}_total{{reason="bad_json",{labels}}}': "0+60x20",
    }
    rate = promql_test(tmp_path, series, EVENTS_RATE_TOTAL, "15m", [{"value": 10}])
    assert rate.returncode == 0, rate.stdout + rate.stderr
    ratio = promql_test(tmp_path, series, DEAD_LETTER_RATIO, "15m", [{"value": 0.1}])
    assert ratio.returncode == 0, ratio.stdout + ratio.stderr
