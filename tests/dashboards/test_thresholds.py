"""The dashboards colour a value as alerting exactly where its alert fires: at a limit itself,
not only around it.  A level holds at its threshold (the catalog's `threshold` is the value
"that raises this level", and the flow's warnings compare with >= and <=), so the indicator
alerts do too and the panels colour the threshold in its level's colour; the pipeline alerts
fire strictly above their limits ("over 5% of records"), so the wall leaves each limit itself
uncoloured.  Grafana's colouring is emulated (the highest step at or below the value);
whether an alert fires is Prometheus' own engine's answer (promtool) to the generated rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alerts.rules import RulesOptions, build_rule_set
from alerts.rules.pipeline_alerts import pipeline_alerts
from dashboards.build import build_dashboards
from dashboards.panels import LEVEL_COLOURS, NEUTRAL_COLOUR, step_above
from flows.metrics import LAST_BATCH, WATERMARK_LAG
from indicators.language.registry import WARNING_LEVELS
from indicators.language.validate import Catalog
from tests.dashboards.conftest import Case, run_promql
from tests.dashboards.test_dashboards import panels_of

RANK = {LEVEL_COLOURS[lvl]: i for i, lvl in enumerate(("none", *WARNING_LEVELS))}


def grafana_colour(steps: list[dict[str, Any]], value: float) -> str:
    """The colour Grafana gives `value`: that of the last step whose value it reaches
    (@grafana/data getActiveThreshold; the first step, value null, is the base)."""
    colour = str(steps[0]["color"])
    for step in steps[1:]:
        if value >= step["value"]:
            colour = str(step["color"])
        else:
            break
    return colour


def test_the_colour_emulation() -> None:
    steps: list[dict[str, Any]] = [
        {"value": None, "color": "green"},
        {"value": 5.0, "color": "blue"},
        {"value": 10.0, "color": "red"},
    ]
    assert [grafana_colour(steps, v) for v in (4.9, 5, 9.9, 10, 11)] == [
        "green", "blue", "blue", "red", "red"]  # fmt: skip


def near(threshold: float) -> list[float]:
    """The threshold itself and a hair either side of it."""
    eps = 1e-6 * max(1.0, abs(threshold))
    return [threshold - eps, threshold, threshold + eps]


def test_indicator_panels_colour_a_level_exactly_where_its_alert_fires(
    boards: dict[str, dict[str, Any]], catalog: Catalog, tmp_path: Path
) -> None:
    """Before, the alerts compared with > (and <) while the panels coloured from the threshold
    on: a count of exactly 5 street-light reports was blue on the dashboard, a blue warning of
    the flow, and no alert.  For every alert of the shipped catalog, at every area level it
    watches, series at each threshold of its indicator at that level and a hair either side:
    the alert fires on exactly those the panel of that level colours in its level or a worse
    one (thresholds written per area level colour a panel per level)."""
    series: dict[str, str] = {}
    cases: list[Case] = []
    for ind_alerts in _alerts_by_indicator(catalog).values():
        first = ind_alerts[0]
        ind = first.indicator
        expected: dict[str, list[dict[str, Any]]] = {a.name: [] for a in ind_alerts}
        for area_level in first.area_levels:
            steps = _threshold_steps(boards, ind.id, ind.category, ind.detection.warnings.on,
                                     area_level)  # fmt: skip
            thresholds = {a.level: _threshold_at(a, area_level) for a in ind_alerts}
            values = sorted({v for t in thresholds.values() for v in near(t)})
            labels = first.example_labels("citysigns", area_level)
            codes = {}
            for i, v in enumerate(values):
                area = f"{labels['area']}-{i}"
                codes[area] = v
                inner = {**labels, "area": area}
                name = inner.pop("__name__")
                text = ",".join(f'{k}="{val}"' for k, val in sorted(inner.items()))
                series[f"{name}{{{text}}}"] = f"{v!r}x3"
            for a in ind_alerts:
                want = RANK[LEVEL_COLOURS[a.level]]
                for area, v in codes.items():
                    if RANK[grafana_colour(steps, v)] >= want:
                        inner = {k: val for k, val in labels.items() if k != "__name__"}
                        inner["area"] = area
                        text = ",".join(f'{k}="{val}"' for k, val in sorted(inner.items()))
                        expected[a.name].append(
                            {"labels": f"{labels['__name__']}{{{text}}}", "value": v}
                        )
                # the threshold itself is coloured and fires (a level holds at its threshold)
                assert RANK[grafana_colour(steps, thresholds[a.level])] >= want, a.name
        # each alert over the series of all its area levels (the condition without the
        # hysteresis)
        cases += [(a.fire, "1m", expected[a.name]) for a in ind_alerts]
    assert len(cases) > 50
    run_promql(tmp_path, series, cases)


def _threshold_at(alert: Any, area_level: str) -> float:
    (threshold,) = [c.threshold for c in alert.conditions if area_level in c.area_levels]
    return float(threshold)


def _alerts_by_indicator(catalog: Catalog) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for a in build_rule_set(catalog).indicator_alerts:
        out.setdefault(a.indicator.id, []).append(a)
    return out


def _threshold_steps(
    boards: dict[str, dict[str, Any]], indicator: str, category: str, on: str, area_level: str
) -> list[dict[str, Any]]:
    """The steps of the panel that shows the thresholds of `area_level`: the value's or the
    score's (a value panel of its own, when the thresholds differ by area level)."""
    metric = "citysigns_indicator_value" if on == "value" else "citysigns_indicator_anomaly_score"
    panels = [p for p in panels_of(boards[f"citysigns-{category}"])
              if p["targets"][0]["expr"].lstrip("(").startswith(
                  f'{metric}{{indicator="{indicator}"')]  # fmt: skip
    if len(panels) > 1:
        panels = [p for p in panels if p["title"].endswith(f" · {area_level}")]
    (panel,) = panels
    return list(panel["fieldConfig"]["defaults"]["thresholds"]["steps"])


# -- the wall's pipeline stats -----------------------------------------------------------------
# stat title -> the pipeline alerts whose limits colour it
LIMITED = {
    "Dead letters (10m)": ("CitySignsDeadLetterRate",),
    "Watermark lag": ("CitySignsWatermarkLag", "CitySignsWatermarkLagCritical"),
    "Since the last batch": ("CitySignsFlowStalled",),
}


def test_wall_stats_leave_a_pipeline_limit_itself_uncoloured(catalog: Catalog) -> None:
    """Before, the wall coloured the watermark lag yellow from 300 s on while the alert fires
    above 300 s: at exactly the limit the wall said "alerting" and no alert came."""
    for options in (RulesOptions(), RulesOptions(watermark_lag_warning=700, stalled_after=240)):
        board = build_dashboards(catalog, options=options)["citysigns-overview"]
        stats = {p["title"]: p for p in panels_of(board) if p["type"] == "stat"}
        rules = {a.name: a for a in pipeline_alerts(options)}
        for title, names in LIMITED.items():
            steps = stats[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
            for name in names:
                m = re.search(r" (>=?) ([0-9.e+-]+)$", rules[name].expr)
                assert m, rules[name].expr
                op, limit = m.group(1), float(m.group(2))
                assert op == ">", (name, "the wall below assumes strictly above")
                below, at, above = (grafana_colour(steps, v) for v in near(limit))
                assert at == below, (title, name, limit, at, below)
                assert above != at, (title, name, limit)
            assert grafana_colour(steps, 0.0) == NEUTRAL_COLOUR


def test_pipeline_alerts_fire_strictly_above_their_limits(tmp_path: Path) -> None:
    """Prometheus' answer for two of them: the watermark lag and the time since the last
    batch exactly at the limit raise nothing, a second more does."""
    o = RulesOptions()
    rules = {a.name: a for a in pipeline_alerts(o)}
    job = 'job="citysigns",instance="flow:9464"'
    lag = rules["CitySignsWatermarkLag"].expr
    stalled = rules["CitySignsFlowStalled"].expr
    at_eval = 600  # seconds: the evaluation time of the cases below
    series = {
        f"{WATERMARK_LAG}{{{job}}}": f"{o.watermark_lag_warning}x10",
        f"{LAST_BATCH}{{{job}}}": f"{at_eval - o.stalled_after}x10",
    }
    cases: list[Case] = [(lag, "10m", []), (stalled, "10m", [])]
    run_promql(tmp_path, series, cases)
    series = {
        f"{WATERMARK_LAG}{{{job}}}": f"{o.watermark_lag_warning + 1}x10",
        f"{LAST_BATCH}{{{job}}}": f"{at_eval - o.stalled_after - 1}x10",
    }
    cases = [
        (lag, "10m", [{"labels": f"{WATERMARK_LAG}{{{job}}}",
                       "value": o.watermark_lag_warning + 1}]),
        (stalled, "10m", [{"labels": f"{{{job}}}", "value": o.stalled_after + 1}]),
    ]  # fmt: skip
    run_promql(tmp_path, series, cases)


def test_a_step_past_a_limit_reads_as_people_write_it(boards: dict[str, dict[str, Any]]) -> None:
    """Before, a step just past a limit was the next float up: a `below` indicator's panel
    read 198.00000000000003 in Grafana's editor, the wall 300.00000000000006.  It is now a
    millionth of the limit's leading digit past it (198.0001), above the limit and below any
    value a person tells apart from it (the tests above check the colours either side)."""
    assert step_above(198) == 198.0001 and step_above(205) == 205.0001
    assert step_above(0.05) == 0.05000001 and step_above(3600) == 3600.001
    assert step_above(-5) == -4.999999 and step_above(0) == 0.000001
    for limit in (198.0, 0.05, 0.1, 1e-9, 7.5e12, -0.3):
        assert limit < step_above(limit) <= limit + 1e-6 * max(1.0, abs(limit))
    values = [
        s["value"]
        for board in boards.values()
        for p in panels_of(board)
        for s in p.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
        if s["value"] is not None
    ]
    assert 198.0001 in values and 300.0001 in values  # power.voltage_low; the watermark lag
    for v in values:
        digits = repr(float(v)).split("e")[0].replace("-", "").replace(".", "").strip("0")
        assert len(digits) <= 8, v
