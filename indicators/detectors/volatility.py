"""Variance change: the recent spread of window-to-window changes against the long-run one.

The statistic is log(recent mean square change / long-run mean square change).  With an EW
average of half-life h the recent estimate has about nu = (2 - a) / a degrees of freedom, so
the log-ratio has a standard deviation near sqrt(2 / nu): that standardises it, and the tail
probability makes the score comparable with the other detectors."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import VolatilityDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import LEARN_GATE, ew_alpha, normal_tail

TINY = 1e-300


class Volatility(RoundDetector):
    def __init__(self, config: VolatilityDetector) -> None:
        super().__init__()
        self.config = config
        self.a_short = ew_alpha(config.short)
        self.a_long = ew_alpha(config.long)
        nu = (2.0 - self.a_short) / self.a_short
        self.sd = float(np.sqrt(2.0 / nu))
        self.state.add("last", np.nan)
        self.state.add("short", 0.0)
        self.state.add("long", 0.0)
        self.state.add("count", 0.0)
        self.state.add("floor", np.inf)

    def step(self, batch: Batch) -> RoundOutput:
        c = self.config
        st = self.state
        s, x = batch.series, batch.values
        last = st["last"][s]
        d = x - last
        ok = np.isfinite(d)
        sq = np.where(ok, d * d, 0.0)
        count = st["count"][s]
        short, long_ = st["short"][s], st["long"][s]
        a_s = np.maximum(self.a_short, 1.0 / (count + 1.0))
        a_l = np.maximum(self.a_long, 1.0 / (count + 1.0))
        new_short = short + a_s * (sq - short)
        # the floor (smallest non-zero squared change) keeps flat series from dividing by 0
        floor = np.where(ok & (sq > 0), np.minimum(st["floor"][s], sq), st["floor"][s])
        fl = np.where(np.isfinite(floor), floor, TINY) * self.a_short
        z = np.log((new_short + fl) / (long_ + fl)) / self.sd
        warm = ok & (count >= c.warmup)
        tail = np.where(warm, normal_tail(z, c.direction), 1.0)
        # learn: the long-run spread ignores changes from a window judged anomalous
        learn_long = ok & ((1.0 - tail < LEARN_GATE) | c.learn_on_anomaly)
        st["short"][s] = np.where(ok, new_short, short)
        st["long"][s] = np.where(learn_long, long_ + a_l * (sq - long_), long_)
        st["count"][s] = count + ok
        st["floor"][s] = floor
        st["last"][s] = np.where(np.isfinite(x), x, last)
        nan = np.full(len(s), np.nan)
        return RoundOutput(tail, nan, nan, count >= c.warmup)
