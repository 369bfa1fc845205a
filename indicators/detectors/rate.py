"""Rate of change: the jump from the previous window, robustly standardised.

Jumps are standardised by the series' own EW spread of jumps; `max_change` adds a hard limit
(a jump that large scores 1 whatever the history).  A silent window breaks the chain: the
first value after silence has no jump."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import RateOfChangeDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import LEARN_GATE, winsorise
from .ewma import EwBaseline, residual_score

JUMP_HALFLIFE = 64


class RateOfChange(RoundDetector):
    def __init__(self, config: RateOfChangeDetector) -> None:
        super().__init__()
        self.config = config
        self.base = EwBaseline(self.state, JUMP_HALFLIFE, prefix="jump_")
        self.state.add("previous", np.nan)

    def step(self, batch: Batch) -> RoundOutput:
        c = self.config
        s, x = batch.series, batch.values
        prev = self.state["previous"][s]
        jump = x - prev
        centre, scale, count = self.base.predict(s)
        out = residual_score(jump, centre, scale, count >= c.warmup, c.direction, count)
        tail = out.tail
        if c.max_change is not None:
            signed = {"above": jump, "below": -jump, "both": np.abs(jump)}[c.direction]
            hard = np.where(np.isfinite(signed), np.clip(signed / c.max_change, 0.0, 1.0), 0.0)
            tail = np.minimum(tail, 1.0 - hard)
        gate = (out.score >= LEARN_GATE) & (not c.learn_on_anomaly)
        self.base.learn(s, winsorise(jump, centre, scale, gate))
        self.state["previous"][s] = x
        return RoundOutput(tail, out.lower + prev, out.upper + prev, out.warm)
