"""Dashboard queries evaluated by Prometheus' own engine (promtool's PromQL tests), where the
shape of the data makes a plausible query wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from dashboards.queries import RECOVERY_RESETS_DAY
from flows.metrics import RECOVERY_RESETS
from tests.rules.servers import require_binary


def promql_test(tmp_path: Path, series: dict[str, str], expr: str, at: str,
                expected: list[dict[str, object]]) -> subprocess.CompletedProcess[str]:  # fmt: skip
    (tmp_path / "none.rules.yml").write_text("groups: []\n", "utf-8")
    test = {
        "rule_files": ["none.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": k, "values": v} for k, v in series.items()],
            "promql_expr_test": [{"expr": expr, "eval_time": at, "exp_samples": expected}],
        }],
    }  # fmt: skip
    path = tmp_path / "query.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False), "utf-8")
    exe = require_binary("promtool")
    return subprocess.run([exe, "test", "rules", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip


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
