"""Alarm shaping: from a surprise per row to few, well-spaced alarms per series.

An operator (and NAB's scoring) wants one alarm per event, and a series that cries wolf all
day is worth less than one that speaks rarely.  Three stages, applied in this order to the
ensemble's surprise (decimal digits):

* refractory envelope: an envelope follows the last peak of surprise and decays by the given
  factor per window; a row passes only when it beats the envelope;
* dead time: after an alarm, the next `dead_time` windows pass nothing at all, however the
  surprise climbs (an event's second and third rows are not news);
* fatigue: the series' recent alarms are counted (forgotten with a half-life) and its surprise
  is divided by sqrt(1 + count), so a series that alarmed five times lately needs about 2.4
  times the surprise to alarm again.

An alarm is a passing row whose surprise reaches `alarm_surprise` (the ensemble sets it to a
score of 0.99)."""

from __future__ import annotations

import numpy as np

from .state import SeriesState, rows_view

FATIGUE_EXPONENT = 0.5  # surprise / (1 + recent alarms) ** this


class AlarmShaper:
    def __init__(
        self,
        state: SeriesState,
        refractory: float,
        dead_time: int,
        fatigue: int | None,
        alarm_surprise: float,
    ) -> None:
        self.refractory = refractory
        self.dead_time = dead_time
        self.fatigue_decay = 0.5 ** (1.0 / fatigue) if fatigue else None
        self.alarm_surprise = alarm_surprise
        if refractory > 0:
            state.add("envelope", 0.0)
        if dead_time > 0:
            state.add("since_alarm", np.inf)  # windows since the last alarm
        if fatigue:
            state.add("recent_alarms", 0.0)
        self.state = state

    def apply(self, s: np.ndarray, surprise: np.ndarray) -> np.ndarray:
        st = self.state
        r = rows_view(s)
        out = surprise
        if self.refractory > 0:
            envelope = st["envelope"][r]
            out = np.where(out > envelope, out, 0.0)
            st["envelope"][r] = np.maximum(envelope * self.refractory, surprise)
        alarm = out >= self.alarm_surprise
        if self.dead_time > 0:
            since = st["since_alarm"][r] + 1.0
            resting = since <= self.dead_time
            out = np.where(resting, 0.0, out)
            alarm &= ~resting
            st["since_alarm"][r] = np.where(alarm, 0.0, since)
        if self.fatigue_decay is not None:
            count = st["recent_alarms"][r] * self.fatigue_decay
            st["recent_alarms"][r] = count + alarm
            out = out / (1.0 + count) ** FATIGUE_EXPONENT
        return np.asarray(out)
