"""Category dashboards: what the annotations say and which series the panels plot, checked on
the generated JSON and with Prometheus' own engine (promtool) on synthetic series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboards import queries as q
from dashboards.build import build_dashboards
from flows.metrics import INDICATOR_WARNING
from indicators.language.validate import Catalog
from tests.dashboards.test_wall import run_promql

CITY, DISTRICT, OTHER_DISTRICT = "310000", "310101", "310104"
STREET, OTHER_STREET = "310101001", "310101002"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from citysigns.paths import CATALOG_DIR
    from indicators.language.validate import load_catalog_or_raise

    return load_catalog_or_raise([CATALOG_DIR])


@pytest.fixture(scope="module")
def boards(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return build_dashboards(catalog)


def substitute(expr: str, **values: str) -> str:
    """`expr` as Grafana sends it with the variables set to `values` (regexes, as Grafana
    formats a multi-value variable for `=~`)."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${name}", values[name])
    assert "$" not in expr.replace("$1", ""), expr
    return expr


def labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def area(level: str, code: str, district: str) -> dict[str, str]:
    return {"area": code, "area_level": level, "district": district}


# -- the warnings annotation -------------------------------------------------------------------
WARN = {"category": "water", "indicator": "water.pressure"}
WARNINGS = {  # area -> level index
    ("city", CITY, ""): 4,
    ("district", DISTRICT, DISTRICT): 1,
    ("street", STREET, DISTRICT): 2,
    ("street", OTHER_STREET, DISTRICT): 3,
}


def warning_series() -> dict[str, str]:
    return {INDICATOR_WARNING + labels(**WARN, **area(*a)): f"{v}x10" for a, v in WARNINGS.items()}


def expected_warnings(*areas: tuple[str, str, str]) -> list[dict[str, object]]:
    names = ("blue", "yellow", "orange", "red")
    return [
        {"labels": INDICATOR_WARNING
         + labels(**WARN, **area(*a), level=names[WARNINGS[a] - 1]),
         "value": WARNINGS[a]}
        for a in areas
    ]  # fmt: skip


def test_warning_markers_say_which_indicator_where_and_at_what_level(
    boards: dict[str, dict[str, Any]],
) -> None:
    """Before, the annotation had no title or text: a marker showed only its time."""
    for uid, board in boards.items():
        for ann in board["annotations"]["list"]:
            assert "{{indicator}}" in ann["titleFormat"] + ann["textFormat"], uid
            assert "{{area}}" in ann["textFormat"] and "{{level}}" in ann["textFormat"], uid
            assert "level" in ann["tagKeys"].split(","), uid
            assert '"$street"' in ann["expr"], uid


def test_warnings_annotation_follows_the_street_filter(tmp_path: Path) -> None:
    """A chosen street shows its own warnings (and its district's), not its neighbours'; each
    marker's `level` label names the level its value stands for."""
    expr = q.category_warnings("water")
    every = substitute(expr, district=".*", street=".*", level=".*")
    one_street = substitute(expr, district=DISTRICT, street=STREET, level=".*")
    cases = [
        (every, "5m", expected_warnings(*WARNINGS)),
        (one_street, "5m",
         expected_warnings(("district", DISTRICT, DISTRICT), ("street", STREET, DISTRICT))),
    ]  # fmt: skip
    run_promql(tmp_path, warning_series(), cases)
