"""One Prometheus alert per indicator and warning level, from the catalog's `warnings:` block.

The alert compares the exported value (or anomaly score) with the level's threshold and holds
for the level's `for`.  A level holds at its threshold and past it (`>=` for `direction:
above`, `<=` for `below`), as the flow's own warnings judge it (alerts/warning_state.py): a
count of 5 reports against a threshold of 5 is a warning in both, and on the dashboards.

The catalog's `clear` rule (hysteresis) applies to the warning as a whole, which is its
mildest level: once that alert fires it keeps firing while the value stays at or past the
clear threshold (PromQL over the `ALERTS` series) and for `clear.for` after
(`keep_firing_for`).  Higher levels resolve at their own threshold and hand over to the levels
below, which Alertmanager's inhibition had kept quiet.

Alerts are written for the indicator's area levels that the exporter exports (see
MetricsConfig.max_area_level); an indicator with none of them gets no alert (the flow's own
warnings still dispatch it) and is listed as skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from flows.metrics import INDICATOR_SCORE, INDICATOR_VALUE
from indicators.language.durations import format_duration
from indicators.language.model import Indicator
from indicators.language.registry import AREA_LEVELS, WARNING_LEVELS

from .links import category_uid, dashboard_url, runbook_anchor
from .options import RulesOptions
from .templates import VALUE_FULL, VALUE_SHORT, label, number

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
class Hysteresis:
    threshold: float
    keep_firing_for: int  # seconds


@dataclass(frozen=True)
class IndicatorAlert:
    """A generated alert and what its unit test needs to know about it."""

    name: str
    indicator: Indicator
    level: str
    metric: str
    area_levels: tuple[str, ...]
    op: str  # ">=" or "<=": a level holds at its threshold
    threshold: float
    for_: int
    hysteresis: Hysteresis | None
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def selector(self) -> str:
        return (
            f'{self.metric}{{indicator="{self.indicator.id}",'
            f'area_level=~"{"|".join(self.area_levels)}"}}'
        )

    @property
    def expr(self) -> str:
        fire = f"{self.selector} {self.op} {number(self.threshold)}"
        if self.hysteresis is None:
            return fire
        hold = (
            f"{self.selector} {self.op} {number(self.hysteresis.threshold)}\n"
            f"  and on(indicator, area_level, area)\n"
            f'  ALERTS{{alertname="{self.name}", alertstate="firing"}}'
        )
        return f"{fire}\nor\n(\n  {hold}\n)\n"

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            out["for"] = format_duration(self.for_)
        if self.hysteresis and self.hysteresis.keep_firing_for:
            out["keep_firing_for"] = format_duration(self.hysteresis.keep_firing_for)
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out

    def example_labels(self, job: str) -> dict[str, str]:
        """The labels of a series this alert watches, as scraped from the flow."""
        lvl = self.area_levels[0]
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
    present = sorted(rules.levels.items(), key=lambda kv: WARNING_LEVELS.index(kv[0]))
    disp = ind.dispatched()
    out: list[IndicatorAlert] = []
    for i, (level, rule) in enumerate(present):
        hyst = None
        if i == 0 and rules.clear is not None:
            hyst = Hysteresis(rules.clear.threshold, rules.clear.for_)
        name = alert_name(ind.id, level)
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
                name=name,
                indicator=ind,
                level=level,
                metric=metric,
                area_levels=area_levels,
                op=op,
                threshold=rule.threshold,
                for_=rule.for_,
                hysteresis=hyst,
                labels=labels,
                annotations=_annotations(ind, level, rule.threshold, rule.for_, options),
            )
        )
    return out


def _annotations(
    ind: Indicator, level: str, threshold: float, for_: int, options: RulesOptions
) -> dict[str, str]:
    rules = ind.detection.warnings
    what = "value" if rules.on == "value" else "anomaly score"
    # "1" is UCUM's dimensionless unit (a share): "0.12", not "0.12 1"
    unit = f" {ind.unit}" if rules.on == "value" and ind.unit != "1" else ""
    held = f" for {format_duration(for_)}" if for_ else ""
    area = label("area")
    return {
        "summary": f"{ind.title.en}: {level} warning in {area}",
        "summary_zh": f"{ind.title.zh}{LEVEL_ZH[level]}预警:{area}",
        "description": (
            f"{ind.title.en} ({ind.id}) {what} is {VALUE_SHORT}{unit} in "
            f"{label('area_level')} {area} ({level} level: {LEVEL_OP_WORDS[rules.direction]} "
            f"{number(threshold)}{unit}{held})."
        ),
        "value": VALUE_FULL,
        "runbook_url": f"{options.runbook_base}#{runbook_anchor(ind.id)}",
        "dashboard_url": dashboard_url(
            options.grafana_url, category_uid(ind.category), district=label("district")
        ),
    }
