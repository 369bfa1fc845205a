"""An ensemble: several detectors' calibrated evidence combined into one score.

`combine: max` takes the most surprising member (the smallest tail), `mean` averages the
members' scores.  Two optional stages turn the combination into a score that behaves the
same on every series and alerts once per event:

* likelihood (as in Numenta's "anomaly likelihood"): the combined surprise -log10(tail) is
  smoothed, then judged against the series' own history of surprise (EW mean and variance
  with the given half-life).  A series that is always a little surprising no longer alerts
  all the time, and a quiet series alerts on smaller deviations.
* refractory: an envelope follows the last peak of that surprise and decays by the given
  factor per window; a row passes only when it beats the envelope.  One event therefore
  raises one high score, not a run of them."""

from __future__ import annotations

import numpy as np

from indicators.language.detection import EnsembleDetector

from .base import Batch, RoundDetector, RoundOutput
from .calibrate import ew_alpha, normal_tail

LIKELIHOOD_WARMUP = 50  # windows of surprise history before the likelihood scores
MIN_TAIL = 1e-300
SURPRISE_SCALE_FLOOR = 1e-3


class Ensemble(RoundDetector):
    def __init__(self, config: EnsembleDetector, members: list[RoundDetector]) -> None:
        super().__init__()
        self.config = config
        self.members = members
        for i, m in enumerate(members):
            self.state.child(f"m{i}", m.state)
        if config.likelihood is not None:
            k = len(members)
            self.smooth_alpha = ew_alpha(config.smoothing)
            self.history_alpha = ew_alpha(config.likelihood)
            self.state.add("smoothed", np.nan, (k,))
            self.state.add("lik_mean", 0.0, (k,))
            self.state.add("lik_var", 0.0, (k,))
            self.state.add("lik_count", 0.0, (k,))
        if config.refractory > 0:
            self.state.add("envelope", 0.0)

    def _combine(self, tails: np.ndarray) -> np.ndarray:
        """One tail per row from the members' tails (members on axis 1)."""
        if self.config.combine == "max":
            return np.asarray(np.minimum(1.0, tails.min(axis=1) * tails.shape[1]))
        return np.asarray(1.0 - (1.0 - tails).mean(axis=1))

    def _band(self, outs: list[RoundOutput]) -> tuple[np.ndarray, np.ndarray]:
        """The intersection of the members' bands (fmax/fmin skip members without one)."""
        lower = np.fmax.reduce(np.vstack([o.lower for o in outs]), axis=0)
        upper = np.fmin.reduce(np.vstack([o.upper for o in outs]), axis=0)
        return lower, upper

    def _likelihood(self, s: np.ndarray, tails: np.ndarray) -> np.ndarray:
        """Each member's tail re-judged against that member's own history of surprise."""
        st = self.state
        surprise = -np.log10(np.maximum(tails, MIN_TAIL))
        prev = st["smoothed"][s]
        smoothed = np.where(np.isnan(prev), surprise, prev + self.smooth_alpha * (surprise - prev))
        mean, var, count = st["lik_mean"][s], st["lik_var"][s], st["lik_count"][s]
        scale = np.maximum(np.sqrt(var), SURPRISE_SCALE_FLOOR)
        z = (smoothed - mean) / scale
        out = np.where(count >= LIKELIHOOD_WARMUP, normal_tail(z, "above"), 1.0)
        a = np.maximum(self.history_alpha, 1.0 / (count + 1.0))
        d = smoothed - mean
        st["smoothed"][s] = smoothed
        st["lik_mean"][s] = mean + a * d
        st["lik_var"][s] = (1.0 - a) * (var + a * d * d)
        st["lik_count"][s] = count + 1.0
        return np.asarray(out)

    def _refractory(self, s: np.ndarray, tail: np.ndarray) -> np.ndarray:
        surprise = -np.log10(np.maximum(tail, MIN_TAIL))
        envelope = self.state["envelope"][s]
        passed = np.where(surprise > envelope, tail, 1.0)
        self.state["envelope"][s] = np.maximum(envelope * self.config.refractory, surprise)
        return np.asarray(passed)

    def grow(self, n_series: int) -> None:
        super().grow(n_series)  # the members' states are children of this one

    def step(self, batch: Batch) -> RoundOutput:
        outs = [m.step(batch) for m in self.members]
        tails = np.stack([o.tail for o in outs], axis=1)
        if self.config.likelihood is not None:
            tails = self._likelihood(batch.series, tails)
        tail = self._combine(tails)
        if self.config.refractory > 0:
            tail = self._refractory(batch.series, tail)
        lower, upper = self._band(outs)
        return RoundOutput(tail, lower, upper)
