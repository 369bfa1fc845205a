"""Sensor health: silence (no signal) and frozen readings (stuck value).

Silence is a NaN value (the window had no data) or a gap in the window end times larger than
the series' usual step.  A stuck sensor repeats one value; it is scored against how often the
series repeats itself normally (1 - r^L for a run of L repeats at the usual repeat rate r),
so a series that is flat by nature, or quantised and often repeating, does not alarm."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import NoSignalDetector, StuckDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import ew_alpha

STEP_HALFLIFE = 32  # windows: the usual spacing of window end times
REPEAT_HALFLIFE = 256  # windows: how often the series normally repeats a value


class NoSignal(RoundDetector):
    def __init__(self, config: NoSignalDetector) -> None:
        super().__init__()
        self.config = config
        self.alpha = ew_alpha(STEP_HALFLIFE)
        self.state.add("silent", 0.0)
        self.state.add("last_t", np.nan)
        self.state.add("step", np.nan)
        self.state.add("steps_seen", 0.0)

    def step(self, batch: Batch) -> RoundOutput:
        st = self.state
        s, t, x = batch.series, batch.t.astype(np.float64), batch.values
        last_t = st["last_t"][s]
        usual = st["step"][s]
        dt = t - last_t
        known = (st["steps_seen"][s] >= 3) & np.isfinite(usual) & (usual > 0)
        missed = np.where(
            known & np.isfinite(dt), np.floor(dt / np.where(known, usual, 1.0) + 0.5) - 1, 0
        )
        silent_before = st["silent"][s]
        silent = np.where(np.isfinite(x), 0.0, silent_before + 1.0 + np.maximum(missed, 0.0))
        # a value arriving after a long gap is judged on the gap it ends
        gap = np.where(np.isfinite(x), silent_before + np.maximum(missed, 0.0), silent)
        after = self.config.after
        score = np.where(gap >= after, 1.0, 0.5 * gap / after)
        # learn the usual step from regular arrivals only
        regular = np.isfinite(dt) & (dt > 0) & np.isfinite(x) & (gap < after)
        a = np.maximum(self.alpha, 1.0 / (st["steps_seen"][s] + 1.0))
        new_step = np.where(np.isfinite(usual), usual + a * (dt - usual), dt)
        st["step"][s] = np.where(regular, new_step, usual)
        st["steps_seen"][s] += regular
        st["silent"][s] = silent
        st["last_t"][s] = t
        nan = np.full(len(s), np.nan)
        return RoundOutput(1.0 - score, nan, nan)


class Stuck(RoundDetector):
    def __init__(self, config: StuckDetector) -> None:
        super().__init__()
        self.config = config
        self.alpha = ew_alpha(REPEAT_HALFLIFE)
        self.state.add("last", np.nan)
        self.state.add("run", 0.0)
        self.state.add("repeat_rate", 0.0)
        self.state.add("seen", 0.0)

    def step(self, batch: Batch) -> RoundOutput:
        c = self.config
        st = self.state
        s, x = batch.series, batch.values
        ok = np.isfinite(x)
        last = st["last"][s]
        same = ok & np.isfinite(last) & (np.abs(x - last) <= c.tolerance)
        run = np.where(same, st["run"][s] + 1.0, 0.0)
        rate = st["repeat_rate"][s]
        seen = st["seen"][s]
        warm = seen >= 2 * c.windows
        firing = warm & (run + 1.0 >= c.windows)
        tail = np.where(firing, np.power(np.clip(rate, 0.0, 1.0), run), 1.0)
        # learn the normal repeat rate from rows that are not part of a stuck run
        learn = ok & np.isfinite(last) & ~(firing & ~c.learn_on_anomaly)
        a = np.maximum(self.alpha, 1.0 / (seen + 1.0))
        st["repeat_rate"][s] = np.where(learn, rate + a * (same - rate), rate)
        st["seen"][s] = seen + learn
        st["run"][s] = np.where(ok, run, st["run"][s])
        st["last"][s] = np.where(ok, x, last)
        band = np.where(ok & warm, last, np.nan)
        return RoundOutput(tail, band, band)
