"""Alerts on the flow itself (is it up, is it keeping up, is input turning into dead letters,
is the exporter within its series budget), the always-firing Watchdog that proves the alerting
path end to end, and the recording rules the dashboards and people query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from flows.metrics import (
    DEAD_LETTERS,
    EVENTS,
    EVENTS_READ,
    EXPORTED_SERIES,
    INDICATOR_WARNING,
    LAST_BATCH,
    SERIES_BUDGET,
    TICKET_STORE_UP,
    UPDATES_DROPPED,
    WATERMARK_LAG,
)
from indicators.language.durations import format_duration

from .links import DISPATCH_UID, PIPELINE_UID, dashboard_url
from .options import RulesOptions

PIPELINE_DEPARTMENT: Final = "operations_centre"
# Alertmanager and the ticket API read the colour from `level`; pipeline alerts carry one too.
SEVERITY_LEVEL: Final[dict[str, str]] = {
    "critical": "red", "major": "orange", "warning": "yellow", "info": "blue",
}  # fmt: skip


@dataclass(frozen=True)
class PipelineAlert:
    name: str
    expr: str
    for_: int
    severity: str
    summary: str
    description: str
    extra_labels: dict[str, str] = field(default_factory=dict)
    # The dashboard that shows what the alert fires on: the ticket store, the ticket API and
    # the dispatcher are on the dispatch dashboard, the flow's own health on the pipeline one.
    dashboard_uid: str = PIPELINE_UID

    def labels(self) -> dict[str, str]:
        out = {"severity": self.severity, "category": "pipeline"}
        if self.severity in SEVERITY_LEVEL:
            out["level"] = SEVERITY_LEVEL[self.severity]
            out["department"] = PIPELINE_DEPARTMENT
        out.update(self.extra_labels)
        return out

    def rule(self, options: RulesOptions) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            out["for"] = format_duration(self.for_)
        out["labels"] = self.labels()
        out["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{options.runbook_base}#pipeline-{self.name.lower()}",
            "dashboard_url": dashboard_url(options.grafana_url, self.dashboard_uid),
        }
        return out


def pipeline_alerts(options: RulesOptions) -> list[PipelineAlert]:
    job = f'job="{options.job}"'
    by = "sum by (job, instance)"
    return [
        PipelineAlert(
            "Watchdog",
            "vector(1)",
            0,
            "none",
            "Always firing: proves that Prometheus, Alertmanager and the receivers work",
            "If this alert stops arriving, the alerting path itself is broken.",
        ),
        PipelineAlert(
            "CitySignsFlowDown",
            f"up{{{job}}} == 0",
            options.flow_down_for,
            "critical",
            "The citysigns flow cannot be scraped",
            "Prometheus has failed to scrape {{ $labels.instance }} for "
            f"{format_duration(options.flow_down_for)}: no indicator is being watched there.",
        ),
        PipelineAlert(
            "CitySignsFlowAbsent",
            f"absent(up{{{job}}})",
            600,
            "critical",
            "Prometheus has no citysigns target at all",
            f"No target of job {options.job} has existed for 10m: check the scrape config.",
        ),
        PipelineAlert(
            "CitySignsFlowStalled",
            f"time() - {LAST_BATCH}{{{job}}} > {options.stalled_after}",
            300,
            "major",
            "The citysigns flow has processed no batch for a while",
            "{{ $labels.instance }} is up but its last batch was "
            '{{ $value | printf "%.0f" }}s ago: the sources may be stuck.',
        ),
        PipelineAlert(
            "CitySignsWatermarkLag",
            f"{WATERMARK_LAG}{{{job}}} > {options.watermark_lag_warning}",
            600,
            "warning",
            "Event time is falling behind",
            "The watermark of {{ $labels.instance }} is "
            '{{ $value | printf "%.0f" }}s behind the newest events read: windows close late and '
            "warnings come late.",
        ),
        PipelineAlert(
            "CitySignsWatermarkLagCritical",
            f"{WATERMARK_LAG}{{{job}}} > {options.watermark_lag_critical}",
            300,
            "critical",
            "Event time is far behind",
            "The watermark of {{ $labels.instance }} is "
            '{{ $value | printf "%.0f" }}s behind the newest events read.',
        ),
        PipelineAlert(
            "CitySignsDeadLetterRate",
            f"{by} (rate({DEAD_LETTERS}_total{{{job}}}[10m]))\n"
            f"/\n{by} (rate({EVENTS}_total{{{job}, {EVENTS_READ}}}[10m]))"
            f" > {options.dead_letter_ratio}",
            600,
            "warning",
            "Many records are being dead-lettered",
            'A fraction of {{ $value | printf "%.3g" }} of the records read by '
            "{{ $labels.instance }} went to dead letters over 10 minutes: see the reasons on "
            "the pipeline dashboard.",
        ),
        PipelineAlert(
            "CitySignsTicketStoreDown",
            f"{TICKET_STORE_UP} == 0",
            120,
            "critical",
            "The ticket store refuses writes: warnings wait in the outbox",
            "{{ $labels.instance }} cannot write to the ticket store: no ticket is created or "
            "updated until it is back (nothing is lost; the outbox drains on recovery).",
            dashboard_uid=DISPATCH_UID,
        ),
        PipelineAlert(
            "CitySignsTicketApiDown",
            f'up{{job="{options.job}-tickets"}} == 0',
            options.flow_down_for,
            "critical",
            "The ticket API (citysigns serve) cannot be scraped",
            "Prometheus has failed to scrape {{ $labels.instance }} for "
            f"{format_duration(options.flow_down_for)}: departments cannot take or answer "
            "tickets, and Alertmanager's alerts do not reach the ticket store.",
            dashboard_uid=DISPATCH_UID,
        ),
        PipelineAlert(
            "CitySignsDispatcherDown",
            f'up{{job="{options.job}-dispatch"}} == 0',
            options.flow_down_for,
            "critical",
            "The dispatcher (citysigns dispatch) cannot be scraped",
            "Prometheus has failed to scrape {{ $labels.instance }} for "
            f"{format_duration(options.flow_down_for)}: the flow's warnings and hotline orders "
            "are not becoming tickets (the ticket API's own store health stays green).",
            dashboard_uid=DISPATCH_UID,
        ),
        PipelineAlert(
            "CitySignsSeriesBudget",
            f"{EXPORTED_SERIES}{{{job}}} / {SERIES_BUDGET}{{{job}}} > "
            f"{options.series_budget_ratio}",
            900,
            "warning",
            "The exporter is close to its series budget",
            '{{ $labels.instance }} exports a fraction of {{ $value | printf "%.3g" }} of its '
            "series budget; new areas will soon be refused.",
        ),
        PipelineAlert(
            "CitySignsSeriesDropped",
            f'increase({UPDATES_DROPPED}_total{{{job},reason="over_series_budget"}}[15m]) > 0',
            0,
            "warning",
            "The exporter refuses new areas (series budget reached)",
            "{{ $labels.instance }} refused area updates in the last 15 minutes; raise the "
            "flow's --metrics-max-series or lower its --metrics-max-area-level.",
        ),
    ]


def recording_rules(options: RulesOptions) -> list[dict[str, str]]:
    job = f'job="{options.job}"'
    return [
        {
            "record": "category:citysigns_indicator_warning_level:max",
            "expr": f"max by (category) ({INDICATOR_WARNING}{{{job}}})",
        },
        {
            "record": "district_category:citysigns_indicator_warning_level:max",
            "expr": f'max by (district, category) ({INDICATOR_WARNING}{{{job},district!=""}})',
        },
        {
            "record": "category:citysigns_indicator_warning_level:count_values",
            "expr": f'count_values by (category) ("level", {INDICATOR_WARNING}{{{job}}})',
        },
        {
            "record": "source_outcome:citysigns_events:rate5m",
            "expr": f"sum by (source, outcome) (rate({EVENTS}_total{{{job}}}[5m]))",
        },
        {
            "record": "reason:citysigns_dead_letters:rate5m",
            "expr": f"sum by (reason) (rate({DEAD_LETTERS}_total{{{job}}}[5m]))",
        },
    ]
