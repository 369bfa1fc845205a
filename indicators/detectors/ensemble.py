"""An ensemble: several detectors' calibrated evidence combined into one score.

`combine: max` takes the most surprising member (the smallest tail), `mean` averages the
members' scores.  Optional stages, in this order, turn the combination into a score that
behaves the same on every series and alerts once per event:

* likelihood (as in Numenta's "anomaly likelihood"): each member's surprise -log10(tail) is
  smoothed, then judged against that member's own history of surprise on the series (EW mean
  and variance with the given half-life).  A series that is always a little surprising no
  longer alerts all the time, and a quiet series alerts on smaller deviations.  This stage
  works in log space throughout, so very surprising rows keep their order instead of all
  underflowing to a tail of 0.
* novelty: the combined surprise is multiplied by 1 + the surprise of the current value's
  *range*: values are binned (bins a tenth of the range seen while warming up), and a
  histogram forgotten with the given half-life says how often the series has been there.  A
  spike to a level the series visits every day is old news; the first visit to a new level is
  not.  This is the value-space novelty that contextual detectors (CAD, HTM) exploit.
* recurrence: a value the series already reached at this time of day on two of the last
  `recurrence` days is a routine, not news (`recurrence.py`).
* refractory, dead time and fatigue shape the surprise into few, well-spaced alarms
  (`alarms.py`): a row must beat the decayed envelope of earlier peaks, nothing passes for
  `dead_time` windows after an alarm, and a series that alarmed often lately needs more
  surprise to alarm again.

With `likelihood` set, the surprise S (decimal digits, at most 300) is reported as the tail
10^(-S/20): score = 1 - 10^(-S/20) keeps every row's score distinct up to S = 300 instead of
rounding to exactly 1.0 from S = 16 on, which matters wherever one threshold is chosen over
many series (a score of 0.99 is then a surprise of 40 digits)."""

from __future__ import annotations

import numpy as np
from scipy import special

from indicators.language.detection import ALARM_DIGITS, EnsembleDetector

from .alarms import AlarmShaper
from .base import Batch, RoundDetector, RoundOutput
from .calibrate import ABS_SCALE_FLOOR, REL_SCALE_FLOOR, ew_alpha
from .recurrence import RecurrenceMemory
from .state import rows_view

LIKELIHOOD_WARMUP = 75  # warm windows of a member before the likelihood judges it
MIN_TAIL = 1e-300
SURPRISE_SCALE_FLOOR = 0.1  # digits: surprise that never varies more is taken as steady
MAX_SURPRISE = 300.0  # digits (a tail of 1e-300): beyond this, rows are tied
LN10 = float(np.log(10.0))
#: surprise digits per decimal digit of the reported tail: MAX_SURPRISE maps to a tail of 1e-15,
#: which float64 still tells apart from 0 in 1 - tail (see the module docstring)
SCORE_COMPRESSION = 20.0
NOVELTY_WARMUP = 150  # windows whose range defines the value bins
NOVELTY_BINS = 10  # bins across the warm-up range
NOVELTY_SIDE_BINS = 20  # bins below and above it (twice the range); beyond: the end bins
NOVELTY_PRIOR = 0.5  # pseudo-count of every bin (Jeffreys-like), so a new bin is not p = 0
NOVELTY_RENORM = 64.0  # half-lives after which a series' lazily grown weights are rescaled
RECURRENCE_ASK = 1.0 / 4.0  # rows below this fraction of an alarm's surprise are not looked up


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
            # snapshots from before: every row counted as warm (as lik_count does)
            self.state.add("lik_ready", 0.0, (k,), upgrade=lambda snap: snap["lik_count"])
        if config.novelty is not None:
            self.n_bins = NOVELTY_BINS + 1 + 2 * NOVELTY_SIDE_BINS
            self.state.add("nov_buffer", np.nan, (NOVELTY_WARMUP,))
            self.state.add("nov_seen", 0.0)
            self.state.add("nov_low", 0.0)
            self.state.add("nov_width", 0.0)
            self.state.add("nov_counts", 0.0, (self.n_bins,))
            self.state.add("nov_total", 0.0)
            self.state.add("nov_age", 0.0)
        self.recurrence = (
            RecurrenceMemory(self.state, config.recurrence) if config.recurrence else None
        )
        compression = SCORE_COMPRESSION if config.likelihood is not None else 1.0
        self.alarms = AlarmShaper(
            self.state,
            config.refractory,
            config.dead_time,
            config.fatigue,
            alarm_surprise=ALARM_DIGITS * compression,
        )

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

    def _likelihood(
        self, s: np.ndarray, tails: np.ndarray, warm: np.ndarray | None, silent: np.ndarray | None
    ) -> np.ndarray:
        """Each member's surprise judged against that member's own history of surprise on the
        series: the standardised score z (members on axis 1; -inf while warming up).

        A member is judged only after LIKELIHOOD_WARMUP warm rows (`warm`, members on axis 1;
        None: all rows are).  Judged from the first, a member that wakes late (a week
        profile of hourly windows, three weeks in) met a history of nothing but its warm-up's
        zeros, whose scale is the floor of 0.1 digits: its first real surprises looked huge,
        and every series raised a storm of alarms that day.  Its warm rows now enter the
        history first.

        Silent rows (`silent`: no value) leave the history alone: six weeks of an offline
        sensor's zero surprise would otherwise shrink the scale to its floor, and the sensor's
        first ordinary values back would alarm."""
        st = self.state
        surprise = -np.log10(np.maximum(tails, MIN_TAIL))
        r = rows_view(s)  # views when possible: every read below happens before its write
        prev = st["smoothed"][r]
        smoothed = prev + self.smooth_alpha * (surprise - prev)
        first = np.isnan(prev)
        if first.any():  # (masked fixes instead of np.where: this runs every round)
            smoothed[first] = surprise[first]
        mean, var, count = st["lik_mean"][r], st["lik_var"][r], st["lik_count"][r]
        scale = np.maximum(np.sqrt(var), SURPRISE_SCALE_FLOOR)
        z = (smoothed - mean) / scale
        ready_before = st["lik_ready"][r]
        ready = ready_before + (1.0 if warm is None else warm)  # warm rows, this one too
        cold = ready <= LIKELIHOOD_WARMUP
        if warm is not None:
            cold |= ~warm
        if cold.any():
            z[cold] = -np.inf
        a = np.maximum(self.history_alpha, 1.0 / (count + 1.0))
        d = smoothed - mean
        new_mean = mean + a * d
        new_var = (1.0 - a) * (var + a * d * d)
        new_count = count + 1.0
        if silent is not None:  # rows without a value: nothing to judge, nothing to learn
            z[silent] = -np.inf
            quiet = silent[:, None]
            smoothed = np.where(quiet, prev, smoothed)
            new_mean = np.where(quiet, mean, new_mean)
            new_var = np.where(quiet, var, new_var)
            new_count = np.where(quiet, count, new_count)
            ready = np.where(quiet, ready_before, ready)
        st["smoothed"][r] = smoothed
        st["lik_mean"][r] = new_mean
        st["lik_var"][r] = new_var
        st["lik_count"][r] = new_count
        st["lik_ready"][r] = ready
        return np.asarray(z)

    @staticmethod
    def _members_warm(outs: list[RoundOutput], n: int) -> np.ndarray | None:
        """Which members are warm on each row (members on axis 1); None when all are."""
        flags = [o.warm for o in outs]
        if all(f is None or f.all() for f in flags):  # the steady state: no stacking
            return None
        return np.stack([np.ones(n, dtype=bool) if f is None else f for f in flags], axis=1)

    def _combine_z(self, z: np.ndarray) -> np.ndarray:
        """Combined surprise (digits) of the members' likelihood scores z (members on axis 1).

        The normal tail is taken in log space, so very surprising rows keep their order
        instead of all underflowing to 0.  It is monotone in z, so `max` needs only the
        largest z of each row (one tail per row, not one per member)."""
        if self.config.combine == "max":
            top = -special.log_ndtr(-z.max(axis=1)) / LN10
            return np.asarray(np.maximum(0.0, top - np.log10(z.shape[1])))
        tails = np.exp(special.log_ndtr(-z))
        return np.asarray(-np.log10(np.maximum(self._combine(tails), MIN_TAIL)))

    def _novelty(self, s: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Surprise (-log10 p) of the bin x falls in, p from the series' decayed histogram.

        Decay is lazy: a row's weight grows as 2^(age / half-life) instead of every count
        shrinking each window, so a round costs O(rows), not O(rows x bins)."""
        st = self.state
        assert self.config.novelty is not None
        half_life = float(self.config.novelty)
        out = np.zeros(len(s))
        ok = np.isfinite(x)
        r = rows_view(s)
        seen = st["nov_seen"][r]
        # warming up: buffer the value; the warm-up range then defines the bins
        warming = ok & (seen < NOVELTY_WARMUP)
        if warming.any():
            ws = s[warming]
            st["nov_buffer"][ws, seen[warming].astype(np.int64)] = x[warming]
            seen = seen + warming
            st["nov_seen"][r] = seen
            ready = s[warming & (seen >= NOVELTY_WARMUP)]
            if ready.size:
                self._open_bins(ready)
            live = ok & ~warming
            if not live.any():
                return out
            idx = s[live]
            sel: slice | np.ndarray = idx
            lx = x[live]
        elif ok.all():
            live, idx, sel, lx = ok, s, r, x
        else:
            live = ok
            idx = sel = s[ok]
            lx = x[ok]
        b = self._bin(lx, st["nov_low"][sel], st["nov_width"][sel])
        age = st["nov_age"][sel] + 1.0  # (a copy: the state is written below)
        weight = np.exp2((age - 1.0) / half_life)
        counts = st["nov_counts"][idx, b]
        total = st["nov_total"][sel]
        p = (counts + NOVELTY_PRIOR * weight) / (total + 2.0 * NOVELTY_PRIOR * weight)
        out[live] = -np.log10(np.minimum(p, 1.0))
        st["nov_counts"][idx, b] = counts + weight
        st["nov_total"][sel] = total + weight
        st["nov_age"][sel] = age
        stale = age >= NOVELTY_RENORM * half_life
        if stale.any():
            old = idx[stale]
            scale = np.exp2(st["nov_age"][old] / half_life)
            st["nov_counts"][old] /= scale[:, None]
            st["nov_total"][old] /= scale
            st["nov_age"][old] = 0.0
        return out

    def _bin(self, x: np.ndarray, low: np.ndarray, width: np.ndarray) -> np.ndarray:
        k = np.floor((x - low) / width) + NOVELTY_SIDE_BINS
        return np.asarray(np.clip(k, 0, self.n_bins - 1).astype(np.int64))

    def _open_bins(self, s: np.ndarray) -> None:
        """Fix the bins of series `s` from their warm-up values and count those values."""
        st = self.state
        buf = st["nov_buffer"][s]
        low, high = buf.min(axis=1), buf.max(axis=1)
        level = np.abs(0.5 * (low + high))
        floor = np.maximum(REL_SCALE_FLOOR * level, ABS_SCALE_FLOOR)
        width = np.maximum((high - low) / NOVELTY_BINS, floor)
        st["nov_low"][s] = low
        st["nov_width"][s] = width
        bins = self._bin(buf, low[:, None], width[:, None])
        flat = bins + self.n_bins * np.arange(len(s))[:, None]
        counts = np.bincount(flat.ravel(), minlength=len(s) * self.n_bins)
        st["nov_counts"][s] += counts.reshape(len(s), self.n_bins)
        st["nov_total"][s] += NOVELTY_WARMUP
        st["nov_buffer"][s] = np.nan

    def _excuse_recurrences(self, batch: Batch, surprise: np.ndarray) -> np.ndarray:
        """Zero the surprise of rows whose value recurs at this time of day, then learn.

        Only rows surprising enough to matter are looked up (the others stay as they are)."""
        assert self.recurrence is not None
        ask = surprise >= RECURRENCE_ASK * self.alarms.alarm_surprise
        out = surprise
        if ask.any():
            i = np.flatnonzero(ask)
            seen = self.recurrence.recurring(batch.series[i], batch.t[i], batch.values[i])
            if seen.any():
                out = surprise.copy()
                out[i[seen]] = 0.0
        self.recurrence.learn(batch.series, batch.t, batch.values)
        return out

    def grow(self, n_series: int) -> None:
        super().grow(n_series)  # the members' states are children of this one

    def step(self, batch: Batch) -> RoundOutput:
        outs = [m.step(batch) for m in self.members]
        tails = np.stack([o.tail for o in outs], axis=1)
        warm = self._members_warm(outs, len(batch.series))
        if self.config.likelihood is not None:
            silent = np.isnan(batch.values)
            z = self._likelihood(batch.series, tails, warm, silent if silent.any() else None)
            surprise = self._combine_z(z)
        else:
            surprise = -np.log10(np.maximum(self._combine(tails), MIN_TAIL))
        if self.config.novelty is not None:
            surprise = surprise * (1.0 + self._novelty(batch.series, batch.values))
        if self.recurrence is not None:
            surprise = self._excuse_recurrences(batch, surprise)
        surprise = self.alarms.apply(batch.series, np.minimum(surprise, MAX_SURPRISE))
        if self.config.likelihood is not None:
            tail = np.power(10.0, -surprise / SCORE_COMPRESSION)
        else:
            tail = np.power(10.0, -surprise)
        lower, upper = self._band(outs)
        any_warm = None if warm is None else np.asarray(warm.any(axis=1))
        return RoundOutput(tail, lower, upper, any_warm)
