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
        """Fold each row into today's range of its slot (one row per series; a silent row, NaN,
        leaves the range as it is)."""
        st, p = self.state, self.p
        r = rows_view(s)
        rows: slice | np.ndarray = s
        when: int | np.ndarray = t
        if isinstance(r, slice) and len(t) and bool((t == t[0]).all()):
            rows, when = r, int(t[0])  # the usual round, one time for all: views, no gathers
        day = when // 86400
        ring = day % self.days
        slot = (when % 86400) // SLOT_SECONDS
        new_day = st[p + "day"][rows, ring] != day
        if new_day.any():  # the ring entry held an older day: start today's afresh
            fresh = (s[new_day], np.broadcast_to(ring, new_day.shape)[new_day])
            st[p + "hi"][fresh] = -np.inf
            st[p + "lo"][fresh] = np.inf
            st[p + "day"][fresh] = np.broadcast_to(day, new_day.shape)[new_day]
        xs = x.astype(np.float32)
        at = (rows, ring, slot)
        st[p + "hi"][at] = np.fmax(st[p + "hi"][at], xs)  # fmax/fmin ignore NaN
        st[p + "lo"][at] = np.fmin(st[p + "lo"][at], xs)
