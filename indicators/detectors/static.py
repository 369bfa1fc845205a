"""Static thresholds: a fixed limit such as a regulatory standard.

Beyond a limit the score is 1; within RAMP of it (a tenth of the limit's magnitude) the score
rises linearly to 0.9 so dashboards see a value approaching its limit.  The band is the
limits themselves.  A limit written per area level (`upper: {street: 5, district: 15}`) is
looked up for each row by its series' area level."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from indicators.language.detection import Limit, ThresholdDetector, at_level

from .base import Batch, RoundDetector, RoundOutput, SeriesLevels

RAMP = 0.1  # the approach zone is 10% of the limit's magnitude
APPROACH_MAX = 0.9


def _approach(distance: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Score of a value `distance` inside the limit: 0.9 at the limit, 0 one ramp away.

    The zone scales with the limit and has no floor in units: a floor of 1 unit made a water
    pressure of 0.34 MPa "approach" the 0.14 MPa minimum (score 0.72, a warning that never
    cleared).  A limit of 0 has no scale, hence no approach zone: 0 up to it, 1 beyond.  (A
    NaN limit, none at that row's level, scores 0.)"""
    ramp = RAMP * np.abs(np.asarray(limit, dtype=np.float64))
    scaled = ramp > 0.0
    close = 1.0 - np.asarray(distance) / np.where(scaled, ramp, 1.0)
    return np.where(scaled, APPROACH_MAX * np.clip(close, 0.0, 1.0), 0.0)


class Threshold(RoundDetector):
    def __init__(self, config: ThresholdDetector, levels: SeriesLevels | None = None) -> None:
        super().__init__()
        self.config = config
        if config.per_area_level and levels is None:
            raise ValueError(
                "a threshold written per area level needs the area level of each series "
                "(SeriesLevels, which the flow's scorer keeps)"
            )
        self.levels = levels
        self.upper = self._table(config.upper)
        self.lower = self._table(config.lower)

    def _table(self, limit: Limit | None) -> np.ndarray | float | None:
        """A plain limit as is; one per area level as an array by level index (NaN: none at
        that level)."""
        if limit is None or not isinstance(limit, Mapping):
            return limit
        assert self.levels is not None
        return np.array(
            [at_level(limit, name) if name in limit else np.nan for name in self.levels.names]
        )

    def _at(self, table: np.ndarray | float | None, batch: Batch) -> np.ndarray | float | None:
        if isinstance(table, np.ndarray):
            assert self.levels is not None
            return table[self.levels.of(batch.series)]
        return table

    def step(self, batch: Batch) -> RoundOutput:
        x = batch.values
        score = np.zeros(len(x))
        ok = np.isfinite(x)
        up, lo = self._at(self.upper, batch), self._at(self.lower, batch)
        if up is not None:
            score = np.maximum(score, np.where(x > up, 1.0, _approach(up - x, up)))
        if lo is not None:
            score = np.maximum(score, np.where(x < lo, 1.0, _approach(x - lo, lo)))
        score = np.where(ok, score, 0.0)
        n = len(x)
        lower = np.broadcast_to(np.nan if lo is None else lo, n).astype(np.float64)
        upper = np.broadcast_to(np.nan if up is None else up, n).astype(np.float64)
        return RoundOutput(1.0 - score, lower, upper)
