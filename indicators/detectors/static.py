"""Static thresholds: a fixed limit such as a regulatory standard.

Beyond a limit the score is 1; within RAMP of it (a tenth of the limit's magnitude) the score
rises linearly to 0.9 so dashboards see a value approaching its limit.  The band is the
limits themselves."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import ThresholdDetector

from .base import Batch, RoundDetector, RoundOutput

RAMP = 0.1  # the approach zone is 10% of the limit's magnitude
APPROACH_MAX = 0.9


def _approach(distance: np.ndarray, limit: float) -> np.ndarray:
    """Score of a value `distance` inside the limit: 0.9 at the limit, 0 one ramp away.

    The zone scales with the limit and has no floor in units: a floor of 1 unit made a water
    pressure of 0.34 MPa "approach" the 0.14 MPa minimum (score 0.72, a warning that never
    cleared).  A limit of 0 has no scale, hence no approach zone: 0 up to it, 1 beyond."""
    ramp = RAMP * abs(limit)
    if ramp == 0.0:
        return np.zeros(np.shape(distance))
    return APPROACH_MAX * np.clip(1.0 - distance / ramp, 0.0, 1.0)


class Threshold(RoundDetector):
    def __init__(self, config: ThresholdDetector) -> None:
        super().__init__()
        self.config = config

    def step(self, batch: Batch) -> RoundOutput:
        x = batch.values
        score = np.zeros(len(x))
        ok = np.isfinite(x)
        up, lo = self.config.upper, self.config.lower
        if up is not None:
            score = np.maximum(score, np.where(x > up, 1.0, _approach(up - x, up)))
        if lo is not None:
            score = np.maximum(score, np.where(x < lo, 1.0, _approach(x - lo, lo)))
        score = np.where(ok, score, 0.0)
        n = len(x)
        lower = np.full(n, np.nan if lo is None else lo)
        upper = np.full(n, np.nan if up is None else up)
        return RoundOutput(1.0 - score, lower, upper)
