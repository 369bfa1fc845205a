"""Anomaly detectors over many series at once.

`build(config)` turns a detector config of the indicator language (a frozen, validated
pydantic model) into its logic object; every logic object follows the `Detector` contract:
`learn_score(series, t, values) -> Scores`, `snapshot()`, `restore(state)`.  See
docs/detectors.md for what each detector models and how scores are calibrated."""

from __future__ import annotations

from indicators.language.detection import (
    DEFAULT_ENSEMBLE,
    CusumDetector,
    DefaultDetector,
    DetectorConfig,
    EnsembleDetector,
    EwmaDetector,
    NoSignalDetector,
    RateOfChangeDetector,
    SeasonalDetector,
    SpotDetector,
    StuckDetector,
    ThresholdDetector,
    VolatilityDetector,
)

from .base import Detector, RoundDetector, Scores, SeriesLevels
from .cusum import Cusum
from .ensemble import Ensemble
from .ewma import Ewma
from .rate import RateOfChange
from .seasonal import Seasonal
from .sensor import NoSignal, Stuck
from .spot import Spot
from .static import Threshold
from .volatility import Volatility

#: The ensemble an indicator without `detectors:` gets (`{type: default}`), and that NAB runs.
#: It is defined with the indicator language (`DEFAULT_ENSEMBLE`), which spells it out.
DEFAULT_DETECTOR: DetectorConfig = DEFAULT_ENSEMBLE


def build(config: DetectorConfig, levels: SeriesLevels | None = None) -> RoundDetector:
    """The logic object for a detector config (state empty; `restore` to resume).  `levels`:
    the area level of each series, which a threshold written per area level needs."""
    match config:
        case ThresholdDetector():
            return Threshold(config, levels)
        case SeasonalDetector():
            return Seasonal(config)
        case EwmaDetector():
            return Ewma(config)
        case SpotDetector():
            return Spot(config)
        case CusumDetector():
            return Cusum(config)
        case RateOfChangeDetector():
            return RateOfChange(config)
        case VolatilityDetector():
            return Volatility(config)
        case NoSignalDetector():
            return NoSignal(config)
        case StuckDetector():
            return Stuck(config)
        case DefaultDetector():  # for windows under a day; see Detection.concrete
            return build(DEFAULT_ENSEMBLE)
        case EnsembleDetector():
            return Ensemble(config, [build(m, levels) for m in config.members])
    raise TypeError(f"not a detector config: {config!r}")


def needs_levels(configs: list[DetectorConfig]) -> bool:
    """Whether any of `configs` (ensembles' members too) has a setting per area level."""
    for c in configs:
        if isinstance(c, ThresholdDetector) and c.per_area_level:
            return True
        if isinstance(c, EnsembleDetector) and needs_levels(list(c.members)):
            return True
    return False


__all__ = [
    "DEFAULT_DETECTOR",
    "Detector",
    "RoundDetector",
    "Scores",
    "SeriesLevels",
    "build",
    "needs_levels",
]
