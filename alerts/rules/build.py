"""Compile a catalog into rule files and their promtool tests (pure: no files written)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indicators.language.model import Indicator

from .indicator_alerts import IndicatorAlert, indicator_alerts
from .options import RulesOptions
from .pipeline_alerts import PipelineAlert, pipeline_alerts, recording_rules
from .unittests import (
    alert_durations,
    indicator_alert_tests,
    pipeline_alert_tests,
    recording_rule_tests,
    step_minutes_for,
)

PIPELINE_RULES = "citysigns-pipeline.rules.yml"


def indicator_rules_file(indicator_id: str) -> str:
    return f"indicator-{indicator_id}.rules.yml"


def tests_file_for(rules_file: str) -> str:
    return rules_file.replace(".rules.yml", ".test.yml")


@dataclass
class RuleSet:
    """Rule files and test files as mappings, by file name."""

    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    indicator_alerts: list[IndicatorAlert] = field(default_factory=list)
    pipeline_alerts: list[PipelineAlert] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (indicator, why)

    @property
    def alert_count(self) -> int:
        return len(self.indicator_alerts) + len(self.pipeline_alerts)


def build_rule_set(catalog: Iterable[Indicator], options: RulesOptions | None = None) -> RuleSet:
    o = options or RulesOptions()
    out = RuleSet()
    by_indicator: dict[str, list[IndicatorAlert]] = {}
    names: dict[str, str] = {}
    for ind in sorted(catalog, key=lambda i: i.id):
        alerts = indicator_alerts(ind, o)
        if not alerts:
            out.skipped.append(
                (ind.id, f"levels {', '.join(ind.value.levels)} are all finer than the "
                         f"exported max_area_level {o.metrics.max_area_level}")
            )  # fmt: skip
            continue
        for a in alerts:
            if a.name in names:
                raise ValueError(
                    f"alert name {a.name} of {ind.id} clashes with {names[a.name]}; "
                    "rename one of the indicators"
                )
            names[a.name] = ind.id
            by_indicator.setdefault(ind.id, []).append(a)
            out.indicator_alerts.append(a)
    # One rule file (and one test file) per indicator: promtool evaluates every rule of a file
    # at every step of every test, so small files keep `promtool test rules` fast (a 7-day
    # `clear.for` is thousands of steps).  Prometheus also evaluates groups in parallel.
    for ind_id, alerts in sorted(by_indicator.items()):
        name = indicator_rules_file(ind_id)
        out.rules[name] = {"groups": [{"name": f"citysigns-{ind_id}",
                                       "rules": [a.rule() for a in alerts]}]}  # fmt: skip
        step = step_minutes_for(d for a in alerts for d in alert_durations(a))
        out.tests[tests_file_for(name)] = _test_doc(
            name, [t for a in alerts for t in indicator_alert_tests(a, o, step)], step
        )
    out.pipeline_alerts = pipeline_alerts(o)
    out.rules[PIPELINE_RULES] = {
        "groups": [
            {"name": "citysigns-recording", "rules": recording_rules(o)},
            {"name": "citysigns-pipeline", "rules": [a.rule(o) for a in out.pipeline_alerts]},
        ]
    }
    out.tests[tests_file_for(PIPELINE_RULES)] = _test_doc(
        PIPELINE_RULES, pipeline_alert_tests(out.pipeline_alerts, o) + recording_rule_tests(o), 1
    )
    return out


def _test_doc(rules_file: str, tests: list[dict[str, Any]], step: int) -> dict[str, Any]:
    return {
        "rule_files": [f"../rules/{rules_file}"],
        "evaluation_interval": f"{step}m",
        "tests": tests,
    }
