"""promtool unit tests for the generated rules, generated beside them.

Each indicator alert gets a scenario built from its own threshold, `for` and windows, the
series shaped as the flow exports it (one value per window, held until the next window
closes): the first window past the threshold closes at 0m, and the alert must be quiet one
evaluation before the end of the window the flow's own warning fires on and firing at it
(the catalog's `for` of 2h on hourly windows: at 1h, the second window's end).  Then either
the way back below the threshold (resolved at the end of the first window below it, or, with
a `clear` rule, at the end of the window the flow steps the level down on, `clear.for` after
that window's start), or for the mildest level with a `clear` rule, two windows between the
two thresholds (still firing: hysteresis) and then windows past `clear` (resolved at the end
of the window the flow resolves on, `clear.for` after the first one's start).  So a change
in the rule generator that breaks an alert, or makes it fire or clear at another time than
the flow's warning, breaks `promtool test rules`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flows.metrics import (
    AREA_INFO,
    DEAD_LETTERS,
    EVENTS,
    EXPORTED_SERIES,
    INDICATOR_WARNING,
    LAST_BATCH,
    SERIES_BUDGET,
    TICKET_STORE_UP,
    UPDATES_DROPPED,
    WATERMARK_LAG,
)
from indicators.language.durations import format_duration

from .indicator_alerts import EXAMPLE_AREA_NAMES, AreaCondition, IndicatorAlert
from .options import RulesOptions
from .pipeline_alerts import PipelineAlert
from .templates import number, render

STEP_MINUTES = 1
INSTANCE = "127.0.0.1:9464"


def _round(x: float) -> float:
    """Four significant digits, so Go's and Python's number formatting agree exactly."""
    return float(f"{x:.4g}")


def _margin(x: float) -> float:
    return abs(x) * 0.1 if x else 1.0


def _series(labels: dict[str, str]) -> str:
    name = labels["__name__"]
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}"


def _expected(rule: dict[str, Any], series_labels: dict[str, str], value: float) -> dict[str, Any]:
    labels = {k: v for k, v in series_labels.items() if k != "__name__"}
    labels.update(rule["labels"])
    annotations = {
        k: render(v, labels, value, EXAMPLE_AREA_NAMES) for k, v in rule["annotations"].items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def _area_info(labels: dict[str, str], job: str, samples: int) -> list[dict[str, str]]:
    """The citysigns_area_info series that names the example area, as the flow exports it,
    over `samples` steps; none for an area the info does not name (the annotations then give
    its code alone)."""
    area = labels["area"]
    names = EXAMPLE_AREA_NAMES.get(area)
    if names is None:
        return []
    info = {"__name__": AREA_INFO, "area": area, "area_level": labels["area_level"],
            "district": labels.get("district", ""), **names, "latitude": "31.24",
            "longitude": "121.45", "job": job, "instance": INSTANCE}  # fmt: skip
    return [{"series": _series(info), "values": f"1x{samples}"}]


def step_minutes_for(durations: Iterable[int]) -> int:
    """The evaluation step of a test file: 5 minutes when every duration in it is a multiple
    of 5 minutes (a 7-day `clear.for` is then 2016 evaluations, not 10080), else 1 minute.
    Not longer: the hysteresis reads the previous evaluation's ALERTS series, which must be
    within Prometheus's 5-minute lookback."""
    return 5 if all(d % 300 == 0 for d in durations) else 1


def alert_durations(alert: IndicatorAlert) -> list[int]:
    """The times an alert's scenario places values and checks at: its durations and its
    windows' spacing (a value changes only when a window closes)."""
    out = [alert.for_, alert.window]
    if alert.keep_firing_for is not None:
        out.append(alert.keep_firing_for)
    return out


def indicator_alert_tests(
    alert: IndicatorAlert, options: RulesOptions, step: int = 1
) -> list[dict[str, Any]]:
    """The scenarios of one alert, one per area condition: an alert whose thresholds differ
    by area level is tested at each level against that level's numbers, so a rule that
    judged a district by a street's threshold would fail (a district's values between the
    two keep the street's limit passed)."""
    return [indicator_alert_test(alert, c, options, step) for c in alert.conditions]


def indicator_alert_test(
    alert: IndicatorAlert, condition: AreaCondition, options: RulesOptions, step: int = 1
) -> dict[str, Any]:
    """The scenario of one alert at the area levels of `condition`, `step` minutes between
    samples and evaluations, its checks at the times the flow's warning fires and clears."""
    rule = alert.rule()
    labels = alert.example_labels(options.job, condition.area_levels[0])
    sign = 1.0 if alert.op == ">=" else -1.0
    thr = condition.threshold
    fire = _round(thr + sign * _margin(thr))
    w = max(1, _steps(alert.window, step))  # samples per window
    f = _steps(alert.for_, step)  # the flow fires at the end of the window closing then

    def at(n: int) -> str:
        return f"{n * step}m"

    checks: list[dict[str, Any]] = []
    if f >= 1:
        checks.append({"eval_time": at(f - 1), "alertname": alert.name, "exp_alerts": []})
    checks.append(
        {"eval_time": at(f), "alertname": alert.name, "exp_alerts": [_expected(rule, labels, fire)]}
    )  # fmt: skip
    values = f"{fire}x{f + w - 1}"  # samples at steps 0 .. f+w-1: windows up to the firing one
    clear = condition.clear
    if clear is None or not alert.hysteresis:
        quiet = _round(thr - sign * _margin(thr))
        k = _steps(alert.keep_firing_for or 0, step)
        # the next window is back below: resolved at its end, or `clear.for` after its start
        # (kept firing, with the value it last held at), when the flow steps the level down
        values += f" {quiet}x{w + k + 1}"
        if k:
            checks.append({"eval_time": at(f + w + k - 1), "alertname": alert.name,
                           "exp_alerts": [_expected(rule, labels, fire)]})  # fmt: skip
        checks.append({"eval_time": at(f + w + k), "alertname": alert.name, "exp_alerts": []})
    else:
        mid = _round((thr + clear) / 2)
        low = _round(clear - sign * _margin(clear))
        k = _steps(alert.keep_firing_for or 0, step)
        below = f + 3 * w  # two windows between the thresholds, then past clear from here
        values += f" {mid}x{2 * w - 1} {low}x{k + 2}"
        held = [_expected(rule, labels, mid)]
        checks.append({"eval_time": at(below - 1), "alertname": alert.name, "exp_alerts": held})
        if k:  # (kept firing: with the value it last held at)
            checks.append({"eval_time": at(below + k - 1), "alertname": alert.name,
                           "exp_alerts": held})  # fmt: skip
        checks.append({"eval_time": at(below + k), "alertname": alert.name, "exp_alerts": []})
    what = "hysteresis" if alert.hysteresis else "threshold"
    where = f" in a {' or '.join(condition.area_levels)}" if len(alert.conditions) > 1 else ""
    return {
        "name": f"{alert.name}: {alert.op} {number(thr)}{where} for "
        f"{format_duration(alert.level_for)} on {format_duration(alert.window)} windows "
        f"({what})",
        "interval": f"{step}m",
        "input_series": [
            {"series": _series(labels), "values": values},
            *_area_info(labels, options.job, f + 3 * w + k + 3),
        ],
        "alert_rule_test": checks,
    }


def _steps(seconds: int, step_minutes: int) -> int:
    return math.ceil(seconds / (60 * step_minutes))


@dataclass(frozen=True)
class _Scenario:
    series: dict[str, str]  # series -> values
    eval_minutes: int
    value: float
    labels: dict[str, str]  # the alert's labels from the expression (before rule labels)
    quiet_minutes: int | None = None


def _pipeline_scenarios(options: RulesOptions) -> dict[str, _Scenario]:
    j = options.job
    inst = {"job": j, "instance": INSTANCE}
    s = _series
    budget_over = _round(min(0.999, options.series_budget_ratio + 0.05))
    lag_warn = options.watermark_lag_warning + 100
    lag_crit = options.watermark_lag_critical + 100
    flow_down = _steps(options.flow_down_for, 1)
    # time() - last batch passes `stalled_after` at minute `stall`, then fires 5m later.
    stall = options.stalled_after // 60 + 1
    return {
        "Watchdog": _Scenario({}, 1, 1.0, {}),
        "CitySignsFlowDown": _Scenario(
            {s({"__name__": "up", **inst}): "0x10"}, flow_down + 1, 0.0, dict(inst),
            quiet_minutes=max(flow_down - 1, 0),
        ),
        "CitySignsFlowAbsent": _Scenario(
            {s({"__name__": "up", "job": "other", "instance": INSTANCE}): "1x20"},
            11, 1.0, {"job": j}, quiet_minutes=9,
        ),
        "CitySignsFlowStalled": _Scenario(
            {s({"__name__": LAST_BATCH, **inst}): f"0x{stall + 10}"},
            stall + 6, float((stall + 6) * 60), dict(inst), quiet_minutes=stall + 4,
        ),
        "CitySignsWatermarkLag": _Scenario(
            {s({"__name__": WATERMARK_LAG, **inst}): f"{lag_warn}x20"},
            11, float(lag_warn), dict(inst), quiet_minutes=9,
        ),
        "CitySignsWatermarkLagCritical": _Scenario(
            {s({"__name__": WATERMARK_LAG, **inst}): f"{lag_crit}x20"},
            6, float(lag_crit), dict(inst), quiet_minutes=4,
        ),
        "CitySignsDeadLetterRate": _Scenario(
            {
                s({"__name__": f"{EVENTS}_total", "source": "air_quality",
                   "outcome": "accepted", **inst}): "0+50x30",
                s({"__name__": f"{EVENTS}_total", "source": "hotline",
                   "outcome": "accepted", **inst}): "0+50x30",
                # the hotline's orders all lie in no area: counted again under `unplaced`, a
                # share of `accepted`, they are no more records read (10 of 100, not of 150)
                s({"__name__": f"{EVENTS}_total", "source": "hotline",
                   "outcome": "unplaced", **inst}): "0+50x30",
                s({"__name__": f"{DEAD_LETTERS}_total", "reason": "bad_json", **inst}):
                    "0+10x30",
            },
            12, 0.1, dict(inst), quiet_minutes=10,
        ),
        "CitySignsTicketStoreDown": _Scenario(
            {s({"__name__": TICKET_STORE_UP, **inst}): "1x2 0x10"},
            5, 0.0, dict(inst), quiet_minutes=4,
        ),
        "CitySignsTicketApiDown": _Scenario(
            {s({"__name__": "up", "job": f"{j}-tickets", "instance": INSTANCE}): "1x2 0x10"},
            flow_down + 3, 0.0, {"job": f"{j}-tickets", "instance": INSTANCE},
            quiet_minutes=flow_down + 1,
        ),
        "CitySignsDispatcherDown": _Scenario(
            {s({"__name__": "up", "job": f"{j}-dispatch", "instance": INSTANCE}): "1x2 0x10"},
            flow_down + 3, 0.0, {"job": f"{j}-dispatch", "instance": INSTANCE},
            quiet_minutes=flow_down + 1,
        ),
        "CitySignsSeriesBudget": _Scenario(
            {
                s({"__name__": EXPORTED_SERIES, **inst}): f"{budget_over * 1000:.0f}x30",
                s({"__name__": SERIES_BUDGET, **inst}): "1000x30",
            },
            16, budget_over, dict(inst), quiet_minutes=14,
        ),
        "CitySignsSeriesDropped": _Scenario(
            {s({"__name__": f"{UPDATES_DROPPED}_total", "reason": "over_series_budget",
                **inst}): "0+5x10"},
            3, math.nan, {**inst, "reason": "over_series_budget"},
        ),
    }  # fmt: skip


def pipeline_alert_tests(
    alerts: list[PipelineAlert], options: RulesOptions
) -> list[dict[str, Any]]:
    scenarios = _pipeline_scenarios(options)
    missing = [a.name for a in alerts if a.name not in scenarios]
    if missing:
        raise ValueError(f"no unit-test scenario for pipeline alert(s) {', '.join(missing)}")
    tests: list[dict[str, Any]] = []
    for a in alerts:
        sc = scenarios[a.name]
        rule = a.rule(options)
        labels = {**sc.labels, **rule["labels"]}
        exp = {
            "exp_labels": labels,
            "exp_annotations": {
                k: render(v, labels, sc.value) for k, v in rule["annotations"].items()
            },
        }
        checks: list[dict[str, Any]] = []
        if sc.quiet_minutes is not None:
            checks.append({"eval_time": f"{sc.quiet_minutes}m", "alertname": a.name,
                           "exp_alerts": []})  # fmt: skip
        checks.append({"eval_time": f"{sc.eval_minutes}m", "alertname": a.name,
                       "exp_alerts": [exp]})  # fmt: skip
        test: dict[str, Any] = {"name": a.name, "interval": f"{STEP_MINUTES}m"}
        test["input_series"] = [{"series": k, "values": v} for k, v in sc.series.items()]
        test["alert_rule_test"] = checks
        tests.append(test)
    return tests


def recording_rule_tests(options: RulesOptions) -> list[dict[str, Any]]:
    j = options.job

    def warn(indicator: str, category: str, area: str, values: str) -> dict[str, str]:
        labels = {"__name__": INDICATOR_WARNING, "indicator": indicator, "category": category,
                  "area_level": "district", "area": area, "district": area, "job": j,
                  "instance": INSTANCE}  # fmt: skip
        return {"series": _series(labels), "values": values}

    return [
        {
            "name": "recording: the worst warning level per category and per district",
            "interval": f"{STEP_MINUTES}m",
            "input_series": [
                warn("air.pm25", "air", "310106", "0 2 4"),
                warn("air.pm10", "air", "310101", "1 1 1"),
                warn("flood.ponding_depth", "flood", "310106", "0 0 3"),
            ],
            "promql_expr_test": [
                {
                    "expr": "category:citysigns_indicator_warning_level:max",
                    "eval_time": "1m",
                    "exp_samples": [
                        {"labels": 'category:citysigns_indicator_warning_level:max'
                                   '{category="air"}', "value": 2},
                        {"labels": 'category:citysigns_indicator_warning_level:max'
                                   '{category="flood"}', "value": 0},
                    ],
                },
                {
                    "expr": 'district_category:citysigns_indicator_warning_level:max'
                            '{district="310106"}',
                    "eval_time": "2m",
                    "exp_samples": [
                        {"labels": 'district_category:citysigns_indicator_warning_level:max'
                                   '{category="air",district="310106"}', "value": 4},
                        {"labels": 'district_category:citysigns_indicator_warning_level:max'
                                   '{category="flood",district="310106"}', "value": 3},
                    ],
                },
            ],
        }
    ]  # fmt: skip
