"""The shipped catalog and its dashboards, built once per module, and a PromQL checker that
runs queries with Prometheus' own engine (promtool) on synthetic series."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import build_dashboards
from indicators.language.validate import Catalog
from tests.rules.servers import require_binary


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from citysigns.paths import CATALOG_DIR
    from indicators.language.validate import load_catalog_or_raise

    return load_catalog_or_raise([CATALOG_DIR])


@pytest.fixture(scope="module")
def boards(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return build_dashboards(catalog)


Case = tuple[str, str, list[dict[str, object]]]  # (expr, eval_time, expected samples)


def promql_cases(
    tmp_path: Path, series: dict[str, str], cases: list[Case]
) -> subprocess.CompletedProcess[str]:
    """promtool's run of (expr, eval_time, expected samples) over `series` (name -> values)."""
    (tmp_path / "none.rules.yml").write_text("groups: []\n", "utf-8")
    test = {
        "rule_files": ["none.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": k, "values": v} for k, v in series.items()],
            "promql_expr_test": [{"expr": e, "eval_time": at, "exp_samples": exp}
                                 for e, at, exp in cases],
        }],
    }  # fmt: skip
    path = tmp_path / "query.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False), "utf-8")
    return subprocess.run([require_binary("promtool"), "test", "rules", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip


def run_promql(
    tmp_path: Path, series: dict[str, str], cases: list[tuple[str, str, list[dict[str, object]]]]
) -> None:
    """Evaluate (expr, eval_time, expected samples) with promtool; fail with its report."""
    run = promql_cases(tmp_path, series, cases)
    assert run.returncode == 0, run.stdout + run.stderr
