"""Time-of-day recurrence: has the series already been here at this time on earlier days?

A nightly batch job spikes a server's CPU at 03:20 every day; a street's noise peaks at the
same morning hour.  Such a value surprises every model of the mean (EWMA, a time-of-day
profile learnt from typical values), yet the people watching already know it.  This memory
keeps, per series, the highest and lowest value seen in each 30-minute slot of each of the
last `days` days (a ring of days).  A value that lay within a slot's range, widened by a
tenth of it, at this time of day (the slot and its two neighbours, so a job that drifts by a
quarter of an hour still matches) on at least two earlier days is a recurrence: seen twice,
it is a routine; seen once, it may still be the first repeat of an incident.  Today's values
never count, so a level shift is not excused by its own first hours.

The ranges are float32 (a day's slot needs no more precision than its tenth-of-range margin)
and looked up only for the rows that ask, i.e. the few rows surprising enough to matter.
Days and slots are UTC (the time of day a routine recurs at does not depend on the zone; only
where "today" ends does).  Slot 0's earlier neighbour is slot 47 of the same day, not of
the day before: a routine within half an hour of midnight UTC matches less widely."""

from __future__ import annotations

import numpy as np

from .state import SeriesState, rows_view

SLOT_SECONDS = 1800
SLOTS = 86400 // SLOT_SECONDS
DAYS_NEEDED = 2  # earlier days on which the value must have been seen
MARGIN = 0.1  # the slot's range is widened by this fraction of itself on either side


class RecurrenceMemory:
    """Per series: the range of values of each slot of each of the last `days` days."""

    def __init__(self, state: SeriesState, days: int, prefix: str = "rec_") -> None:
        self.days = days
        self.p = prefix
        state.add(prefix + "hi", -np.inf, (days, SLOTS), dtype=np.float32)
        state.add(prefix + "lo", np.inf, (days, SLOTS), dtype=np.float32)
        state.add(prefix + "day", -1.0, (days,))  # the day each ring entry holds (-1: none)
        self.state = state

    def recurring(self, s: np.ndarray, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Whether each row's value recurs at its time of day (call before `learn`)."""
        st, p = self.state, self.p
        out = np.zeros(len(s), dtype=bool)
        ok = np.isfinite(x)
        if not ok.any():
            return out
        s, t, xs = s[ok], t[ok], x[ok].astype(np.float32)
        day = t // 86400
        slot = (t % 86400) // SLOT_SECONDS
        near = (slot[:, None] + np.array([-1, 0, 1])) % SLOTS  # (rows, 3)
        ring = np.arange(self.days)
        idx = (s[:, None, None], ring[None, :, None], near[:, None, :])
        hi = st[p + "hi"][idx].max(axis=2)  # (rows, days)
        lo = st[p + "lo"][idx].min(axis=2)
        stamp = st[p + "day"][s]
        earlier = (stamp >= 0) & (stamp < day[:, None]) & (stamp >= day[:, None] - self.days)
        seen = earlier & np.isfinite(hi)
        with np.errstate(invalid="ignore"):  # empty slots: inf - inf
            margin = MARGIN * (hi - lo)
            inside = seen & (lo - margin <= xs[:, None]) & (xs[:, None] <= hi + margin)
        out[ok] = inside.sum(axis=1) >= DAYS_NEEDED
        return out

    def learn(self, s: np.ndarray, t: np.ndarray, x: np.ndarray) -> None:
        """Fold each finite row into today's range of its slot (one row per series)."""
        r = rows_view(s)
        if isinstance(r, slice) and len(t) and t[0] == t[-1] and bool((t == t[0]).all()):
            self._learn_one_time(r, int(t[0]), x)  # the usual round: windows closing together
            return
        st, p = self.state, self.p
        ok = np.isfinite(x)
        if not ok.all():
            s, t, x = s[ok], t[ok], x[ok]
        day = t // 86400
        ring = day % self.days
        slot = (t % 86400) // SLOT_SECONDS
        new_day = st[p + "day"][s, ring] != day
        if new_day.any():  # the ring entry held an older day: start today's afresh
            ns, nr = s[new_day], ring[new_day]
            st[p + "hi"][ns, nr] = -np.inf
            st[p + "lo"][ns, nr] = np.inf
            st[p + "day"][ns, nr] = day[new_day]
        xs = x.astype(np.float32)
        hi, lo = st[p + "hi"], st[p + "lo"]
        hi[s, ring, slot] = np.maximum(hi[s, ring, slot], xs)
        lo[s, ring, slot] = np.minimum(lo[s, ring, slot], xs)

    def _learn_one_time(self, r: slice, t: int, x: np.ndarray) -> None:
        """`learn` for series 0..n-1 at one time: in-place views, no gathers (NaN skipped)."""
        st, p = self.state, self.p
        day = t // 86400
        ring = day % self.days
        slot = (t % 86400) // SLOT_SECONDS
        stamps = st[p + "day"][r, ring]
        new_day = stamps != day
        if new_day.any():
            st[p + "hi"][r, ring][new_day] = -np.inf
            st[p + "lo"][r, ring][new_day] = np.inf
            stamps[new_day] = day
        xs = x.astype(np.float32)
        hi = st[p + "hi"][r, ring, slot]
        lo = st[p + "lo"][r, ring, slot]
        np.fmax(hi, xs, out=hi)  # fmax/fmin keep the range where x is NaN (silent window)
        np.fmin(lo, xs, out=lo)
