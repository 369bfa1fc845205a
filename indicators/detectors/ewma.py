"""EWMA mean / variance: the residual from an exponentially weighted baseline, standardised.

During warm-up the weights are plain averages (1/count), so the baseline is sound as soon as
scoring starts; anomalous rows enter the baseline only winsorised to the band edge."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import EwmaDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import (
    BAND_Z,
    LEARN_GATE,
    Direction,
    ew_alpha,
    floor_scale,
    student_tail,
    update_resolution,
    winsorise,
)
from .state import SeriesState, rows_view


class EwBaseline:
    """Exponentially weighted mean and variance per series, with a warm-up count.

    Shared by the EWMA, CUSUM and rate-of-change detectors: `predict` gives centre and
    scale for a round, `learn` folds the round in."""

    def __init__(self, state: SeriesState, halflife: float, prefix: str = "") -> None:
        self.alpha = ew_alpha(halflife)
        self.p = prefix
        state.add(prefix + "mean", 0.0)
        state.add(prefix + "var", 0.0)
        state.add(prefix + "count", 0.0)
        state.add(prefix + "resolution", np.inf)
        state.add(prefix + "last", np.nan)
        self.state = state

    def predict(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre, usable scale and number of rows learnt, for series `s`."""
        st, p = self.state, self.p
        r = rows_view(s)  # a slice for the usual round: contiguous copies instead of gathers
        mean = st[p + "mean"][r].copy()
        sd = np.sqrt(st[p + "var"][r])
        return mean, floor_scale(sd, mean, st[p + "resolution"][r]), st[p + "count"][r].copy()

    def learn(self, s: np.ndarray, x: np.ndarray) -> None:
        """Fold finite values of `x` into series `s` (NaN rows are skipped)."""
        st, p = self.state, self.p
        ok = np.isfinite(x)
        r: slice | np.ndarray
        if ok.all():
            r = rows_view(s)  # every read below happens before its write
        else:
            r, x = s[ok], x[ok]
        count = st[p + "count"][r]
        mean = st[p + "mean"][r]
        var = st[p + "var"][r]
        a = np.maximum(self.alpha, 1.0 / (count + 1.0))
        d = x - mean
        st[p + "var"][r] = (1.0 - a) * (var + a * d * d)
        st[p + "mean"][r] = mean + a * d
        st[p + "count"][r] = count + 1.0
        st[p + "resolution"][r] = update_resolution(st[p + "resolution"][r], st[p + "last"][r], x)
        st[p + "last"][r] = x


def residual_score(
    x: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    warm: np.ndarray,
    direction: Direction,
    count: np.ndarray,
) -> RoundOutput:
    """Score and band of a standardised residual; 0 and no band while warming up or silent.

    `count` rows went into the scale: the tail is Student's t with count - 1 degrees of
    freedom, so a young series needs stronger evidence."""
    ok = warm & np.isfinite(x)
    z = np.where(ok, (x - centre) / scale, 0.0)
    tail = np.ones(len(x))
    if ok.any():  # tails only for the rows that are scored: Student's t is not cheap
        tail[ok] = student_tail(z[ok], (count - 1.0)[ok], direction)
    lower = np.where(warm, centre - BAND_Z * scale, np.nan)
    upper = np.where(warm, centre + BAND_Z * scale, np.nan)
    return RoundOutput(tail, lower, upper, warm)


class Ewma(RoundDetector):
    def __init__(self, config: EwmaDetector) -> None:
        super().__init__()
        self.config = config
        self.base = EwBaseline(self.state, config.halflife)

    def step(self, batch: Batch) -> RoundOutput:
        s, x = batch.series, batch.values
        centre, scale, count = self.base.predict(s)
        out = residual_score(
            x, centre, scale, count >= self.config.warmup, self.config.direction, count
        )
        gate = (out.score >= LEARN_GATE) & (not self.config.learn_on_anomaly)
        self.base.learn(s, winsorise(x, centre, scale, gate))
        return out
