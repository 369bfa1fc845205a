"""Dashboard queries evaluated by Prometheus' own engine (promtool's PromQL tests), where the
shape of the data makes a plausible query wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dashboards.queries import RECOVERY_RESETS_DAY
from flows.metrics import RECOVERY_RESETS
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
