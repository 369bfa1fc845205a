"""Closed windows -> anomaly scores and expected bands, per indicator.

Each (level, area) of an indicator is one series for its detectors, so one detector object
scores every level at once. An area is a series only once it has reported: detectors hold state
for the series they have seen, and the indicator's areas (all the grids of the city, say) are
numbered densely in the order they first report, so a kind of sensor that covers a fifth of the
grids costs a fifth of the state. The indicator's score is the highest of its detectors'
calibrated scores (a window with fewer records than the indicator's `min_count` is judged as
one without data, NaN, by detectors and warnings alike); the expected band is that of the first
detector (in catalog order) that offers one for the row, so the analyst decides which model
explains a warning."""

from __future__ import annotations

import numpy as np

from alerts.scored import ScoredBatch, clip_band
from flows.plan import AreaChange, IndicatorPlan
from flows.windows import ClosedWindows
from indicators.detectors import RoundDetector, SeriesLevels, build, needs_levels
from indicators.language.registry import value_range


class IndicatorScorer:
    def __init__(self, plan: IndicatorPlan) -> None:
        self.plan = plan
        detection = plan.indicator.detection
        self.configs = detection.concrete(plan.spec.step)  # windows this far apart
        self.offset: dict[str, int] = {}
        total = 0
        for lvl in plan.levels:
            self.offset[lvl] = total
            total += int(plan.spaces[lvl].codes.size)
        # (level offset + area) -> the detectors' series, -1 until the area first reports
        self.series_of = np.full(total, -1, dtype=np.int64)
        self.n_series = 0
        # the area level of each series, for detectors with a setting per area level only
        self.levels = SeriesLevels(plan.levels) if needs_levels(self.configs) else None
        self._level_of_key = np.repeat(
            np.arange(len(plan.levels), dtype=np.int64),
            [int(plan.spaces[lvl].codes.size) for lvl in plan.levels],
        )
        self.detectors: list[RoundDetector] = [build(c, self.levels) for c in self.configs]
        self.names = ",".join(c.type for c in detection.detectors)  # as the analyst wrote them
        self.value_range = value_range(plan.indicator)

    def _sync_levels(self) -> None:
        """The area level of every series, after series were numbered or renumbered."""
        if self.levels is None:
            return
        keys = np.flatnonzero(self.series_of >= 0)
        keys = keys[keys < self._level_of_key.size]
        index = np.zeros(self.n_series, dtype=np.int64)
        index[self.series_of[keys]] = self._level_of_key[keys]
        self.levels.index = index

    def _series(self, area_key: np.ndarray) -> np.ndarray:
        """The detectors' series of each row, numbering areas new to them in row order."""
        series = self.series_of[area_key]
        new = series < 0
        if new.any():
            keys, first = np.unique(area_key[new], return_index=True)
            keys = keys[np.argsort(first)]
            self.series_of[keys] = np.arange(self.n_series, self.n_series + keys.size)
            self.n_series += int(keys.size)
            self._sync_levels()
            series = self.series_of[area_key]
        return series

    def score(self, closed: list[ClosedWindows]) -> ScoredBatch | None:
        """Score windows in the order they closed (time order within every series)."""
        closed = [c for c in closed if len(c)]
        if not closed:
            return None
        series = self._series(np.concatenate([c.area + self.offset[c.level] for c in closed]))
        t = np.concatenate([np.full(len(c), c.end, dtype=np.int64) for c in closed])
        value = np.concatenate([c.value for c in closed])
        count = np.concatenate([c.count for c in closed]).astype(np.int64, copy=False)
        min_count = self.plan.indicator.value.min_count
        if min_count is not None:  # too few records to judge: scored as a window without data
            value = np.where(count < min_count, np.nan, value)
        scores = [d.learn_score(series, t, value) for d in self.detectors]
        score = np.fmax.reduce(np.vstack([s.score for s in scores]), axis=0)
        score = np.where(np.isfinite(score), score, 0.0)
        lower = np.full(series.size, np.nan)
        upper = np.full(series.size, np.nan)
        for s in scores:
            take = np.isnan(lower) & np.isnan(upper) & (np.isfinite(s.lower) | np.isfinite(s.upper))
            lower[take] = s.lower[take]
            upper[take] = s.upper[take]
        lower, upper = clip_band(lower, upper, self.value_range)
        codes = np.concatenate(
            [self.plan.spaces[c.level].codes[c.area].astype(str) for c in closed]
        )
        n = series.size
        return ScoredBatch(
            indicator_id=np.full(n, self.plan.id),
            area_code=codes,
            area_level=np.concatenate([np.full(len(c), c.level) for c in closed]),
            window_start=np.concatenate([np.full(len(c), c.start, np.int64) for c in closed]),
            window_end=t,
            value=value,
            score=score,
            lower=lower,
            upper=upper,
            detectors=np.full(n, self.names),
            count=count,
        )

    def remap(self, change: AreaChange) -> None:
        """Follow the indicator's areas after they changed (see `AreaChange`): each remaining
        area keeps its series and baseline, new areas start fresh when they first report,
        and the series of removed areas are dropped from the detectors."""
        moved = []
        old_offset = 0
        for lvl in self.plan.levels:
            key = change.source[lvl] + old_offset
            known = (change.source[lvl] >= 0) & (key < self.series_of.size)
            moved.append(np.where(known, self.series_of[np.where(known, key, 0)], -1))
            old_offset += change.old_sizes[lvl]
        series_of = np.concatenate(moved)
        kept = np.unique(series_of[series_of >= 0])  # in their old order
        renumber = np.full(max(self.n_series, 1), -1, dtype=np.int64)
        renumber[kept] = np.arange(kept.size)
        self.series_of = np.where(series_of >= 0, renumber[np.maximum(series_of, 0)], -1)
        self.n_series = int(kept.size)
        self._sync_levels()
        for d in self.detectors:
            d.remap(kept)

    def snapshot(self) -> dict[str, object]:
        return {"detectors": [d.snapshot() for d in self.detectors],
                "series_of": self.series_of.copy(), "n_series": self.n_series}  # fmt: skip

    def restore(self, state: dict[str, object] | list[dict[str, np.ndarray]]) -> bool:
        """Resume the detectors from a snapshot, all or none.  False, leaving them fresh, when
        the snapshot was taken by other detectors: the analyst changed the indicator's
        `detectors:` since, and the new ones must warm up.  The areas' series are resumed
        either way (a snapshot of an earlier version, a bare list of detector states, numbered
        series by level offset + area)."""
        if isinstance(state, list):
            detectors = state
            n = max((int(d.get("n_series", 0)) for d in detectors), default=0)
            keys = np.arange(max(n, self.series_of.size))  # (more: the layout changed since)
            self.series_of = np.where(keys < n, keys, -1)
            self.n_series = n
        else:
            detectors = state["detectors"]  # type: ignore[assignment]
            self.series_of = np.array(state["series_of"], dtype=np.int64)
            self.n_series = int(state["n_series"])  # type: ignore[call-overload]
        self._sync_levels()
        resumed = [build(c, self.levels) for c in self.configs]
        if len(detectors) != len(resumed):
            return False
        try:
            for d, s in zip(resumed, detectors, strict=True):
                d.restore(s)
        except ValueError:
            return False
        self.detectors = resumed
        return True
