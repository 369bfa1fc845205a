"""One Prometheus alert per indicator and warning level, from the catalog's `warnings:` block.

The alert compares the exported value (or anomaly score) with the level's threshold and holds
for the level's `for`, as the flow counts it.  A level holds at its threshold and past it
(`>=` for `direction: above`, `<=` for `below`), as the flow's own warnings judge it
(alerts/warning_state.py): a count of 5 reports against a threshold of 5 is a warning in
both, and on the dashboards.

The flow counts a `for` from the start of the first window past the threshold (its end minus
the window spacing), Prometheus from the moment it sees that window's value, its end: the
rule's `for` is the level's minus one window (`prometheus_for`), so both fire at the end of
the same window.  With the catalog's `for: 2h` on hourly windows copied as is, the flow
fired at the second window past 75 and Prometheus an hour later, at the third; and `for: 0s`
and `for: 15m` on 15-minute windows, the same in the flow, differed in Prometheus.

The catalog's `clear` rule (hysteresis) applies to the warning as a whole, which is its
mildest level: once that alert fires it keeps firing while the value stays at or past the
clear threshold (PromQL over the `ALERTS` series) and for `clear.for` after, less one window
as for `for` (`keep_firing_for`).  A higher level holds at its own threshold and, as the
flow steps a warning down only once its level's condition has been false for `clear.for`,
keeps firing for `clear.for` less one window after it (`keep_firing_for` again); then it
hands over to the levels below, which Alertmanager's inhibition had kept quiet.  (Without
that, a red water-pressure alert of the demo resolved 45 minutes before the flow's red
warning stepped down, and its ticket's level with it.)

A threshold written per area level (`{street: 5, district: 15}`) makes the condition a union,
each area level against its own number, as the flow judges each series by its own level's:

    citysigns_indicator_value{indicator="hotline.water_outage",area_level=~"street"} >= 5
    or citysigns_indicator_value{indicator="hotline.water_outage",area_level=~"district"} >= 15

Alerts are written for the indicator's area levels that the exporter exports (see
MetricsConfig.max_area_level); an indicator with none of them gets no alert (the flow's own
warnings still dispatch it) and is listed as skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from flows.metrics import INDICATOR_SCORE, INDICATOR_VALUE
from indicators.language.detection import LevelRule
from indicators.language.durations import format_duration
from indicators.language.model import Indicator
from indicators.language.registry import AREA_LEVELS

from .links import category_uid, dashboard_url, runbook_anchor
from .options import RulesOptions
from .templates import VALUE_FULL, VALUE_SHORT, area_named, label, number

SEVERITY: Final[dict[str, str]] = {
    "blue": "info", "yellow": "warning", "orange": "major", "red": "critical",
}  # fmt: skip
LEVEL_ZH: Final[dict[str, str]] = {
    "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色",
}  # fmt: skip
# How a value is compared with a level's threshold (and, to keep a warning, with `clear`'s):
# at the threshold the level holds, as in the flow, whose warning state machine compares with
# >= (and its calm condition, strictly below `clear`, is the negation of the hold below).
LEVEL_OP: Final[dict[str, str]] = {"above": ">=", "below": "<="}
# How the descriptions and runbooks say it.
LEVEL_OP_WORDS: Final[dict[str, str]] = {"above": "at or above", "below": "at or below"}
# The names citysigns_area_info gives the example areas in the generated tests (the shipped
# city's); the grid, community and sensor are left unnamed, so the tests also check the
# annotation of an area the info does not name.
EXAMPLE_AREA_NAMES: Final[dict[str, dict[str, str]]] = {
    "310106001": {"name": "江宁路街道", "name_en": "Jiangning Road"},
    "310106": {"name": "静安区", "name_en": "Jing'an"},
    "310000": {"name": "上海市", "name_en": "Shanghai"},
}
# Where the example series of the generated tests live, per area level.
EXAMPLE_AREA: Final[dict[str, str]] = {
    "sensor": "AQ-310106-000001",
    "community": "310106001001001",
    "grid": "310106001001",
    "street": "310106001",
    "district": "310106",
    "city": "310000",
}


@dataclass(frozen=True)
class AreaCondition:
    """An alert's numbers at some of its area levels: the threshold, and for the mildest
    level with a `clear` rule the clear threshold that keeps it firing.  Thresholds written
    per area level give one condition per set of levels that share their numbers; a plain
    threshold gives one for every level."""

    area_levels: tuple[str, ...]
    threshold: float
    clear: float | None = None


@dataclass(frozen=True)
class IndicatorAlert:
    """A generated alert and what its unit test needs to know about it."""

    name: str
    indicator: Indicator
    level: str
    metric: str
    op: str  # ">=" or "<=": a level holds at its threshold
    conditions: tuple[AreaCondition, ...]  # finest area levels first
    for_: int  # the rule's `for`: the level's less one window (prometheus_for)
    keep_firing_for: int | None  # the same of `clear.for`; None: no `clear` rule
    labels: dict[str, str]
    annotations: dict[str, str]
    window: int = 0  # seconds between two windows' ends: how often the value changes
    level_for: int = 0  # the catalog's `for` of the level, as the flow counts it
    clear_for: int | None = None  # the catalog's `clear.for`; None: no `clear` rule

    @property
    def area_levels(self) -> tuple[str, ...]:
        return tuple(lvl for c in self.conditions for lvl in c.area_levels)

    @property
    def hysteresis(self) -> bool:
        """Whether the alert keeps firing past the clear threshold: the mildest level of a
        warning with a `clear` rule (higher levels only keep firing for `clear.for`)."""
        return self.keep_firing_for is not None and all(
            c.clear is not None for c in self.conditions
        )

    def selector(self, condition: AreaCondition) -> str:
        return (
            f'{self.metric}{{indicator="{self.indicator.id}",'
            f'area_level=~"{"|".join(condition.area_levels)}"}}'
        )

    @property
    def fire(self) -> str:
        """The condition that raises the alert, each area level against its own threshold
        (without the hysteresis that keeps it firing)."""
        return "\nor ".join(
            f"{self.selector(c)} {self.op} {number(c.threshold)}" for c in self.conditions
        )

    @property
    def expr(self) -> str:
        if not self.hysteresis:
            return self.fire
        held = [
            f"{self.selector(c)} {self.op} {number(c.clear)}"
            for c in self.conditions
            if c.clear is not None
        ]
        past_clear = held[0] if len(held) == 1 else "(\n    " + "\n    or ".join(held) + "\n  )"
        hold = (
            f"{past_clear}\n"
            f"  and on(indicator, area_level, area)\n"
            f'  ALERTS{{alertname="{self.name}", alertstate="firing"}}'
        )
        return f"{self.fire}\nor\n(\n  {hold}\n)\n"

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            out["for"] = format_duration(self.for_)
        if self.keep_firing_for:
            out["keep_firing_for"] = format_duration(self.keep_firing_for)
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out

    def example_labels(self, job: str, area_level: str | None = None) -> dict[str, str]:
        """The labels of a series this alert watches, as scraped from the flow: of
        `area_level`, by default the alert's first."""
        lvl = area_level or self.area_levels[0]
        area = EXAMPLE_AREA[lvl]
        district = "" if lvl == "city" else "310106"
        out = {
            "__name__": self.metric,
            "indicator": self.indicator.id,
            "category": self.indicator.category,
            "area_level": lvl,
            "area": area,
            "job": job,
            "instance": "127.0.0.1:9464",
        }
        if district:
            out["district"] = district
        return out


def prometheus_for(flow_for: int, window: int) -> int:
    """The Prometheus `for` (or `keep_firing_for`) that acts as a flow's `for` of `flow_for`
    seconds on windows `window` seconds apart: the flow measures a run of windows from the
    first one's end minus the spacing, Prometheus from when it sees that first value, one
    window later (never below 0s: `for: 0s` and one window's `for` both fire on the first)."""
    return max(0, flow_for - window)


def alert_name(indicator_id: str, level: str) -> str:
    """`air.pm25`, `red` -> `AirPm25Red` (Prometheus alert names are CamelCase)."""
    parts = [p for p in re.split(r"[._]", indicator_id) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts) + level.capitalize()


def exported_levels(ind: Indicator, options: RulesOptions) -> tuple[str, ...]:
    levels = [lvl for lvl in ind.value.levels if options.metrics.exports(lvl)]
    return tuple(sorted(levels, key=AREA_LEVELS.index))


def indicator_alerts(ind: Indicator, options: RulesOptions) -> list[IndicatorAlert]:
    area_levels = exported_levels(ind, options)
    if not area_levels:
        return []
    rules = ind.detection.warnings
    op = LEVEL_OP[rules.direction]
    metric = INDICATOR_VALUE if rules.on == "value" else INDICATOR_SCORE
    disp = ind.dispatched()
    window = ind.value.window.spacing
    out: list[IndicatorAlert] = []
    # the flow steps any level down, and resolves, after `clear.for` calm: every level keeps
    # firing that long (less one window) once its condition fails
    keep = None if rules.clear is None else prometheus_for(rules.clear.for_, window)
    for i, (level, rule) in enumerate(rules.rules()):
        clear = rules.clear if i == 0 else None  # the hysteresis holds the mildest level
        conditions = _conditions(area_levels, rule, clear)
        labels = {
            "severity": SEVERITY[level],
            "level": level,
            "category": ind.category,
            "department": disp.department if disp else ind.owner,
            "tier": disp.tiers.get(level, "city") if disp else "none",
            "dispatch": "true" if disp else "false",
        }
        out.append(
            IndicatorAlert(
                name=alert_name(ind.id, level),
                indicator=ind,
                level=level,
                metric=metric,
                op=op,
                conditions=conditions,
                for_=prometheus_for(rule.for_, window),
                keep_firing_for=keep,
                labels=labels,
                annotations=_annotations(ind, level, conditions, rule.for_, options),
                window=window,
                level_for=rule.for_,
                clear_for=None if rules.clear is None else rules.clear.for_,
            )
        )
    return out


def _conditions(
    area_levels: tuple[str, ...], rule: LevelRule, clear: LevelRule | None
) -> tuple[AreaCondition, ...]:
    """The area levels grouped by their numbers, finest first: one condition for all of them
    unless the thresholds are written per area level and differ."""
    groups: dict[tuple[float, float | None], list[str]] = {}
    for lvl in area_levels:
        numbers = (rule.at(lvl), None if clear is None else clear.at(lvl))
        groups.setdefault(numbers, []).append(lvl)
    return tuple(AreaCondition(tuple(lvls), thr, cl) for (thr, cl), lvls in groups.items())


def _annotations(
    ind: Indicator,
    level: str,
    conditions: tuple[AreaCondition, ...],
    for_: int,
    options: RulesOptions,
) -> dict[str, str]:
    rules = ind.detection.warnings
    what = "value" if rules.on == "value" else "anomaly score"
    # "1" is UCUM's dimensionless unit (a share): "0.12", not "0.12 1"
    unit = f" {ind.unit}" if rules.on == "value" and ind.unit != "1" else ""
    if len(conditions) == 1:
        limits = f"{number(conditions[0].threshold)}{unit}"
    else:  # "5 orders in a street, 15 orders in a district or city"
        limits = ", ".join(
            f"{number(c.threshold)}{unit} in a {' or '.join(c.area_levels)}" for c in conditions
        )
    held = f"{',' if len(conditions) > 1 else ''} for {format_duration(for_)}" if for_ else ""
    return {
        "summary": f"{ind.title.en}: {level} warning in {area_named('name_en')}",
        "summary_zh": f"{ind.title.zh}{LEVEL_ZH[level]}预警:{area_named('name')}",
        "description": (
            f"{ind.title.en} ({ind.id}) {what} is {VALUE_SHORT}{unit} in "
            f"{label('area_level')} {area_named('name_en')} ({level} level: "
            f"{LEVEL_OP_WORDS[rules.direction]} "
            f"{limits}{held})."
        ),
        "value": VALUE_FULL,
        "runbook_url": f"{options.runbook_base}#{runbook_anchor(ind.id)}",
        "dashboard_url": dashboard_url(
            options.grafana_url, category_uid(ind.category), district=label("district")
        ),
    }
