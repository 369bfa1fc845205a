"""Prometheus rules compiled from the catalog: recording rules, alerting rules per indicator
warning level and for the pipeline's health, promtool unit tests generated beside them, and an
example Alertmanager configuration that routes to the ticket API's webhook.

One definition, several targets: the thresholds and `for` durations in the alerts are the
catalog's own, so an analyst's change reaches Prometheus by re-running `citysigns rules`."""

from .build import RuleSet, build_rule_set
from .options import RulesOptions
from .write import write_rules

__all__ = ["RuleSet", "RulesOptions", "build_rule_set", "write_rules"]
