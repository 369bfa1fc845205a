"""Anomaly detectors over many series at once.

`build(config)` turns a detector config of the indicator language (a frozen, validated
pydantic model) into its logic object; every logic object follows the `Detector` contract:
`learn_score(series, t, values) -> Scores`, `snapshot()`, `restore(state)`.  See
docs/detectors.md for what each detector models and how scores are calibrated."""

from __future__ import annotations

from indicators.language.detection import (
    CusumDetector,
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

from .base import Detector, RoundDetector, Scores
from .cusum import Cusum
from .ensemble import Ensemble
from .ewma import Ewma
from .rate import RateOfChange
from .seasonal import Seasonal
from .sensor import NoSignal, Stuck
from .spot import Spot
from .static import Threshold
from .volatility import Volatility

#: The ensemble the catalog uses when an indicator names no detectors, and that NAB runs.
DEFAULT_DETECTOR: DetectorConfig = EnsembleDetector(
    type="ensemble",
    members=[
        EwmaDetector(type="ewma", halflife=64, warmup=50),
        SeasonalDetector(type="seasonal", period="day", slot=1800, min_history=3),
        SeasonalDetector(type="seasonal", period="week", slot=3600, min_history=3),
        CusumDetector(type="cusum", k=0.5, h=20.0, halflife=256, warmup=50),
    ],
    combine="max",
    likelihood=300,
    smoothing=2,
    refractory=0.99,
    novelty=4000,
    recurrence=7,
    dead_time=20,
    fatigue=2000,
)


def build(config: DetectorConfig) -> RoundDetector:
    """The logic object for a detector config (state empty; `restore` to resume)."""
    match config:
        case ThresholdDetector():
            return Threshold(config)
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
        case EnsembleDetector():
            return Ensemble(config, [build(m) for m in config.members])
    raise TypeError(f"not a detector config: {config!r}")


__all__ = ["DEFAULT_DETECTOR", "Detector", "RoundDetector", "Scores", "build"]
