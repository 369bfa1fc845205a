"""Two-sided CUSUM for persistent shifts, in units of the in-control standard deviation.

The score uses Siegmund's approximation of the in-control tail of the CUSUM statistic,
P(S > s) ~ exp(-2 k s), so it is calibrated like the others; at S = h (5 with k = 0.5) the
score is 1 - exp(-5) = 0.993.  When S crosses h the shift is announced once: the sums reset
and the baseline re-centres on the new level instead of alarming forever."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import CusumDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import BAND_Z, LEARN_GATE, winsorise
from .ewma import EwBaseline
from .state import rows_view

YOUNG_ROWS = 200.0  # rows of baseline before the statistic counts in full


class Cusum(RoundDetector):
    def __init__(self, config: CusumDetector) -> None:
        super().__init__()
        self.config = config
        self.base = EwBaseline(self.state, config.halflife)
        self.state.add("up", 0.0)
        self.state.add("down", 0.0)

    def step(self, batch: Batch) -> RoundOutput:
        c = self.config
        s, x = batch.series, batch.values
        centre, scale, count = self.base.predict(s)
        warm = count >= c.warmup
        ok = np.isfinite(x) & warm
        z = np.where(ok, (x - centre) / scale, 0.0)
        r = rows_view(s)  # a slice for the usual round: no gathers
        up = np.where(ok, np.maximum(0.0, self.state["up"][r] + z - c.k), 0.0)
        down = np.where(ok, np.maximum(0.0, self.state["down"][r] - z - c.k), 0.0)
        if c.direction == "above":
            stat = up
        elif c.direction == "below":
            stat = down
        else:
            stat = np.maximum(up, down)
        # a young baseline is uncertain: discount the statistic until ~YOUNG_ROWS rows
        stat = stat * np.minimum(1.0, count / YOUNG_ROWS) ** 0.5
        tail = np.minimum(1.0, np.exp(-2.0 * c.k * stat))
        if c.direction == "both":
            tail = np.minimum(1.0, 2.0 * tail)
        tail = np.where(ok, tail, 1.0)
        alarm = ok & (stat >= c.h)
        lower = np.where(warm, centre - BAND_Z * scale, np.nan)
        upper = np.where(warm, centre + BAND_Z * scale, np.nan)
        # learn
        gate = (1.0 - tail >= LEARN_GATE) & (not c.learn_on_anomaly)
        self.base.learn(s, np.where(alarm, np.nan, winsorise(x, centre, scale, gate)))
        recentred = s[alarm]
        self.base.state["mean"][recentred] = x[alarm]
        self.state["up"][r] = np.where(alarm, 0.0, up)
        self.state["down"][r] = np.where(alarm, 0.0, down)
        return RoundOutput(tail, lower, upper, warm)
