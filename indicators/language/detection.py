"""The `detection:` block: which anomaly detectors score an indicator's windows, and the
warning levels those scores (or the raw values) raise.

Each detector config is a frozen, validated model; `indicators.detectors.build(config)` turns it
into the logic object that holds state as arrays (Bytewax's config/logic split)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .durations import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DetectorBase(_Strict):
    learn_on_anomaly: bool = Field(
        False,
        description="let points judged anomalous update the baseline (default: they do not)",
    )


class ThresholdDetector(_DetectorBase):
    """Static limits, e.g. a regulatory limit.  Score 1 beyond a limit, rising towards it."""

    type: Literal["threshold"]
    upper: float | None = Field(None, description="values above this are anomalous")
    lower: float | None = Field(None, description="values below this are anomalous")

    @model_validator(mode="after")
    def _one_limit(self) -> Self:
        if self.upper is None and self.lower is None:
            raise ValueError("a threshold detector needs `upper`, `lower` or both")
        if self.upper is not None and self.lower is not None and self.lower >= self.upper:
            raise ValueError(f"`lower` ({self.lower}) must be below `upper` ({self.upper})")
        return self


class SeasonalDetector(_DetectorBase):
    """Robust hour-of-day x weekday profile (median and MAD per slot)."""

    type: Literal["seasonal"]
    period: Literal["day", "week"] = "week"
    slot: Duration = Field(3600, description="width of one profile slot")
    min_history: int = Field(3, ge=1, description="samples per slot before it scores")
    direction: Literal["both", "above", "below"] = "both"


class EwmaDetector(_DetectorBase):
    """Exponentially weighted mean and variance; score from the standardised residual."""

    type: Literal["ewma"]
    halflife: int = Field(24, ge=1, description="half-life of the weights, in windows")
    warmup: int = Field(12, ge=1, description="windows before it scores")
    direction: Literal["both", "above", "below"] = "both"


class SpotDetector(_DetectorBase):
    """Extreme-value (SPOT / DSPOT) tail threshold: a generalised Pareto fit to the excesses."""

    type: Literal["spot"]
    risk: float = Field(1e-4, gt=0, lt=0.5, description="target tail probability")
    init: int = Field(200, ge=20, description="points used to calibrate the first threshold")
    depth: int | None = Field(
        None, ge=2, description="DSPOT: drift-corrected against a moving mean of this many points"
    )
    direction: Literal["both", "above", "below"] = "above"


class CusumDetector(_DetectorBase):
    """Two-sided CUSUM for persistent shifts, in units of the series' standard deviation."""

    type: Literal["cusum"]
    k: float = Field(0.5, gt=0, description="allowance (slack) in standard deviations")
    h: float = Field(5.0, gt=0, description="decision interval in standard deviations")
    warmup: int = Field(24, ge=2)
    direction: Literal["both", "above", "below"] = "both"


class RateOfChangeDetector(_DetectorBase):
    """Jumps between consecutive windows, robustly standardised."""

    type: Literal["rate_of_change"]
    max_change: float | None = Field(None, gt=0, description="absolute change that scores 1")
    warmup: int = Field(12, ge=2)
    direction: Literal["both", "above", "below"] = "both"


class NoSignalDetector(_DetectorBase):
    """A series that stops reporting: scores 1 after `after` silent windows."""

    type: Literal["no_signal"]
    after: int = Field(3, ge=1, description="silent windows before it fires")


class StuckDetector(_DetectorBase):
    """A sensor repeating the same value (frozen reading)."""

    type: Literal["stuck"]
    windows: int = Field(6, ge=2, description="identical consecutive windows before it fires")
    tolerance: float = Field(0.0, ge=0, description="values closer than this count as equal")


class EnsembleDetector(_DetectorBase):
    """Combines several detectors' calibrated scores."""

    type: Literal["ensemble"]
    members: list[DetectorConfig] = Field(min_length=1)
    combine: Literal["max", "mean"] = "max"


DetectorConfig = Annotated[
    ThresholdDetector
    | SeasonalDetector
    | EwmaDetector
    | SpotDetector
    | CusumDetector
    | RateOfChangeDetector
    | NoSignalDetector
    | StuckDetector
    | EnsembleDetector,
    Field(discriminator="type"),
]
DETECTOR_TYPES: tuple[str, ...] = (
    "threshold", "seasonal", "ewma", "spot", "cusum", "rate_of_change", "no_signal", "stuck",
    "ensemble",
)  # fmt: skip

EnsembleDetector.model_rebuild()


class LevelRule(_Strict):
    threshold: float = Field(description="score (0..1) or value that raises this level")
    for_: Duration = Field(0, alias="for", description="how long it must hold first")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WarningRules(_Strict):
    """Blue < yellow < orange < red (IV .. I).  `clear` is the hysteresis: a firing warning
    resolves only once the value is back past `clear.threshold` for `clear.for`."""

    on: Literal["score", "value"] = "score"
    direction: Literal["above", "below"] = "above"
    levels: dict[Literal["blue", "yellow", "orange", "red"], LevelRule] = Field(min_length=1)
    clear: LevelRule | None = None


class Detection(_Strict):
    detectors: list[DetectorConfig] = Field(min_length=1)
    warnings: WarningRules
