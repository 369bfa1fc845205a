"""SPOT / DSPOT (Siffer et al., KDD 2017): extreme-value tail thresholds.

The first `init` values set an initial threshold t at their 98th percentile; the excesses
over t are modelled by a generalised Pareto distribution, fitted here by the method of
moments from running sums (O(1) state per series instead of SPOT's list of peaks).  The tail
probability of a value y above t is (N_t / n) (1 + xi (y - t) / sigma) ^ (-1 / xi); below t
it is extended with the exponential tail so scores stay continuous.  A value whose tail is
below `risk` is an alarm and is not learnt.  DSPOT works on the value minus the moving mean
of the last `depth` normal values, so slow drift does not raise the tail."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import SpotDetector

from .base import Batch, RoundDetector, RoundOutput

INIT_QUANTILE = 0.98
SIDES = 2  # 0: upper tail of x, 1: upper tail of -x


def _gpd(n_peaks: np.ndarray, total: np.ndarray, sumsq: np.ndarray) -> tuple[np.ndarray, ...]:
    """Method-of-moments GPD shape and scale from the sums of excesses."""
    n = np.maximum(n_peaks, 1.0)
    mean = total / n
    var = np.maximum(sumsq / n - mean * mean, 0.0)
    ratio = np.where(var > 0, mean * mean / np.where(var > 0, var, 1.0), 1.0)
    xi = np.where((n_peaks >= 3) & (var > 0), 0.5 * (1.0 - ratio), 0.0)
    xi = np.clip(xi, -0.5, 0.5)
    sigma = np.where((n_peaks >= 3) & (var > 0), 0.5 * mean * (1.0 + ratio), mean)
    return xi, np.maximum(sigma, 1e-12)


def _tail(y: np.ndarray, frac: np.ndarray, xi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """P(excess > y) for the fitted tail; y may be negative (below the initial threshold)."""
    u = np.maximum(y, 0.0) / sigma
    small = np.abs(xi) < 1e-6
    safe_xi = np.where(small, 1.0, xi)
    base = np.maximum(1.0 + safe_xi * u, 1e-300)
    above = np.where(small, np.exp(-u), base ** (-1.0 / safe_xi))
    above = np.where((xi < 0) & (u >= -1.0 / safe_xi), 0.0, above)
    # below t: at least the initial tail fraction, rising towards 1 with the exponential tail
    below = np.maximum(frac, 1.0 - INIT_QUANTILE) * np.exp(np.minimum(-y / sigma, 700.0))
    return np.clip(np.where(y > 0, frac * above, below), 0.0, 1.0)


def _quantile_level(risk: float, frac: np.ndarray, xi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Excess over t at which the tail probability equals `risk`."""
    r = np.maximum(risk / np.maximum(frac, 1e-300), 1e-300)
    small = np.abs(xi) < 1e-6
    safe_xi = np.where(small, 1.0, xi)
    return np.where(small, -sigma * np.log(r), sigma / safe_xi * (r ** (-safe_xi) - 1.0))


class Spot(RoundDetector):
    def __init__(self, config: SpotDetector) -> None:
        super().__init__()
        self.config = config
        self.sides = {"above": [0], "below": [1], "both": [0, 1]}[config.direction]
        st = self.state
        st.add("buffer", np.nan, (config.init,))
        st.add("seen", 0.0)
        st.add("t", np.nan, (SIDES,))
        st.add("n_peaks", 0.0, (SIDES,))
        st.add("sum", 0.0, (SIDES,))
        st.add("sumsq", 0.0, (SIDES,))
        if config.depth is not None:
            st.add("window", 0.0, (config.depth,))
            st.add("window_sum", 0.0)
            st.add("window_n", 0.0)

    def _drift(self, s: np.ndarray) -> np.ndarray:
        if self.config.depth is None:
            return np.zeros(len(s))
        n = np.minimum(self.state["window_n"][s], self.config.depth)
        return np.where(n > 0, self.state["window_sum"][s] / np.maximum(n, 1.0), 0.0)

    def _push_drift(self, s: np.ndarray, x: np.ndarray) -> None:
        depth = self.config.depth
        if depth is None or not len(s):
            return
        st = self.state
        n = st["window_n"][s]
        pos = (n % depth).astype(np.int64)
        old = np.where(n >= depth, st["window"][s, pos], 0.0)
        st["window"][s, pos] = x
        st["window_sum"][s] += x - old
        st["window_n"][s] = n + 1

    def _calibrate(self, s: np.ndarray) -> None:
        """Initial thresholds and peaks from the `init` buffered values of series `s`."""
        st = self.state
        buf = st["buffer"][s]
        if self.config.depth is not None:
            # DSPOT: drift-correct the buffer against its own running mean
            csum = np.cumsum(buf, axis=1)
            k = np.arange(1, buf.shape[1] + 1)
            d = self.config.depth
            lagged = np.concatenate([np.zeros((len(s), 1)), csum[:, :-1]], axis=1)
            start = np.maximum(k - 1 - d, 0)
            back = np.take_along_axis(
                np.concatenate([np.zeros((len(s), 1)), csum], axis=1),
                np.broadcast_to(start, buf.shape),
                axis=1,
            )
            count = np.maximum(k - 1 - start, 1)
            mean = np.where(k > 1, (lagged - back) / count, buf[:, :1])
            buf = buf - mean
        for side in self.sides:
            data = buf if side == 0 else -buf
            t = np.quantile(data, INIT_QUANTILE, axis=1)
            exc = np.maximum(data - t[:, None], 0.0)
            peaks = data > t[:, None]
            st["t"][s, side] = t
            st["n_peaks"][s, side] = peaks.sum(axis=1)
            st["sum"][s, side] = exc.sum(axis=1)
            st["sumsq"][s, side] = (exc * exc).sum(axis=1)
        if self.config.depth is not None:
            for j in range(buf.shape[1]):
                self._push_drift(s, st["buffer"][s, j])

    def step(self, batch: Batch) -> RoundOutput:
        c = self.config
        st = self.state
        s, x = batch.series, batch.values
        ok = np.isfinite(x)
        seen = st["seen"][s]
        ready = seen >= c.init
        n = len(s)
        tail = np.ones(n)
        lower = np.full(n, np.nan)
        upper = np.full(n, np.nan)
        drift = self._drift(s)
        xd = x - drift
        alarm = np.zeros(n, dtype=bool)
        for side in self.sides:
            t = st["t"][s, side]
            n_peaks = st["n_peaks"][s, side]
            # the share of values above t; before any excess is seen, the initial 2%
            frac = np.where(n_peaks > 0, n_peaks / np.maximum(seen, 1.0), 1.0 - INIT_QUANTILE)
            xi, sigma = _gpd(n_peaks, st["sum"][s, side], st["sumsq"][s, side])
            y = (xd if side == 0 else -xd) - t
            p = np.where(ready & ok, _tail(y, frac, xi, sigma), 1.0)
            tail = np.minimum(tail, p)
            alarm |= p < c.risk
            level = t + _quantile_level(c.risk, frac, xi, sigma)
            edge = np.where(ready, drift + (level if side == 0 else -level), np.nan)
            if side == 0:
                upper = edge
            else:
                lower = edge
            # learn the peaks of normal values
            learn = ready & ok & (y > 0) & (~alarm | c.learn_on_anomaly)
            ls = s[learn]
            st["n_peaks"][ls, side] += 1.0
            st["sum"][ls, side] += y[learn]
            st["sumsq"][ls, side] += y[learn] ** 2
        if len(self.sides) == 2:
            tail = np.minimum(1.0, 2.0 * tail)
        # the warm-up buffer, then calibration of the series that have just filled it
        filling = ok & ~ready
        fs = s[filling]
        st["buffer"][fs, seen[filling].astype(np.int64)] = x[filling]
        keep = ok & (ready & (~alarm | c.learn_on_anomaly))
        st["seen"][s] = seen + (filling | keep)
        done = fs[seen[filling] + 1 >= c.init]
        if done.size:
            self._calibrate(done)
        normal = ready & ok & (~alarm | c.learn_on_anomaly)
        self._push_drift(s[normal], x[normal])
        return RoundOutput(tail, lower, upper, ready)
