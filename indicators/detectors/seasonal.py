"""Seasonal baseline: a robust time-of-day (x weekday) profile per series.

Each slot of the period keeps a level learnt with weights max(1/count, alpha), from values
winsorised to the band when they were judged anomalous, so one storm does not move the
profile.  The residual from the profile is standardised by the series' own robust residual
scale (pooled over slots, which needs far less history than a scale per slot)."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import SeasonalDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import LEARN_GATE, ew_alpha, winsorise
from .ewma import EwBaseline, residual_score
from .state import rows_view

RESIDUAL_HALFLIFE = 256  # windows: the residual scale is a long-run property of the series
RESIDUAL_WARMUP = 24


class Seasonal(RoundDetector):
    def __init__(self, config: SeasonalDetector) -> None:
        super().__init__()
        self.config = config
        period = 86400 if config.period == "day" else 7 * 86400
        self.slot = int(config.slot)
        self.n_slots = period // self.slot
        self.alpha = ew_alpha(config.halflife)
        self.state.add("level", 0.0, (self.n_slots,))
        self.state.add("count", 0.0, (self.n_slots,))
        self.residual = EwBaseline(self.state, RESIDUAL_HALFLIFE, prefix="res_")

    def slots(self, t: np.ndarray) -> np.ndarray:
        # Epoch 0 was a Thursday: shift so that slot 0 starts on Monday 00:00 (UTC).
        return ((t + 3 * 86400) // self.slot) % self.n_slots

    def step(self, batch: Batch) -> RoundOutput:
        s, x = batch.series, batch.values
        k = self.slots(batch.t)
        r = rows_view(s)
        at: tuple[slice | np.ndarray, int | np.ndarray] = (s, k)
        if isinstance(r, slice) and bool((k == k[0]).all()):
            at = (r, int(k[0]))  # the usual round, one slot for all: strided views, no gathers
        level = self.state["level"][at].copy()
        count = self.state["count"][at].copy()
        r_centre, r_scale, r_count = self.residual.predict(s)
        warm = (count >= self.config.min_history) & (r_count >= RESIDUAL_WARMUP)
        out = residual_score(x - level, r_centre, r_scale, warm, self.config.direction, r_count)
        band = RoundOutput(out.tail, out.lower + level, out.upper + level, warm)
        # learn: slot level from a winsorised value, residual scale from the profile's residual
        ok = np.isfinite(x)
        gate = (out.score >= LEARN_GATE) & (not self.config.learn_on_anomaly)
        xl = winsorise(x, level + r_centre, r_scale, gate)
        have = count >= 1
        self.residual.learn(s, np.where(have & ok, xl - level, np.nan))
        a = np.maximum(self.alpha, 1.0 / (count + 1.0))
        new_level = np.where(ok, level + a * (xl - level), level)
        self.state["level"][at] = new_level
        self.state["count"][at] = count + ok
        return band
