"""What `citysigns rules` needs besides the catalog: where links point, which Prometheus job
scrapes the flow, the pipeline-health thresholds, and the exporter's granularity (alerts are
only written for area levels the exporter actually exports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.metrics import MetricsConfig


@dataclass(frozen=True)
class RulesOptions:
    grafana_url: str = "http://localhost:3000"
    runbook_base: str = "runbooks.md"
    job: str = "citysigns"
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    # pipeline health
    flow_down_for: int = 120  # seconds `up == 0` before FlowDown fires
    stalled_after: int = 300  # seconds without a batch
    watermark_lag_warning: int = 600  # seconds
    watermark_lag_critical: int = 3600
    dead_letter_ratio: float = 0.05  # of events, over 10 minutes
    series_budget_ratio: float = 0.9

    def __post_init__(self) -> None:
        if not self.job or not self.job.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"job {self.job!r}: use letters, digits, '-' or '_'")
        if not 0 < self.dead_letter_ratio < 1:
            raise ValueError("dead_letter_ratio is a fraction between 0 and 1")
        if not 0 < self.series_budget_ratio <= 1:
            raise ValueError("series_budget_ratio is a fraction in (0, 1]")
        if self.watermark_lag_warning >= self.watermark_lag_critical:
            raise ValueError("watermark_lag_warning must be below watermark_lag_critical")
