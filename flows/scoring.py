"""Closed windows -> anomaly scores and expected bands, per indicator.

Each (level, area) of an indicator is one series for its detectors: series index = the
level's offset + the area index, so one detector object scores every level at once.  The
indicator's score is the highest of its detectors' calibrated scores; the expected band is
that of the first detector (in catalog order) that offers one for the row, so the analyst
decides which model explains a warning."""

from __future__ import annotations

import numpy as np

from alerts.scored import ScoredBatch
from flows.plan import AreaChange, IndicatorPlan
from flows.windows import ClosedWindows
from indicators.detectors import RoundDetector, build


class IndicatorScorer:
    def __init__(self, plan: IndicatorPlan) -> None:
        self.plan = plan
        detection = plan.indicator.detection
        self.configs = detection.concrete(plan.spec.step)  # windows this far apart
        self.detectors: list[RoundDetector] = [build(c) for c in self.configs]
        self.names = ",".join(c.type for c in detection.detectors)  # as the analyst wrote them
        self.offset: dict[str, int] = {}
        total = 0
        for lvl in plan.levels:
            self.offset[lvl] = total
            total += int(plan.spaces[lvl].codes.size)

    def score(self, closed: list[ClosedWindows]) -> ScoredBatch | None:
        """Score windows in the order they closed (time order within every series)."""
        closed = [c for c in closed if len(c)]
        if not closed:
            return None
        series = np.concatenate([c.area + self.offset[c.level] for c in closed])
        t = np.concatenate([np.full(len(c), c.end, dtype=np.int64) for c in closed])
        value = np.concatenate([c.value for c in closed])
        scores = [d.learn_score(series, t, value) for d in self.detectors]
        score = np.fmax.reduce(np.vstack([s.score for s in scores]), axis=0)
        score = np.where(np.isfinite(score), score, 0.0)
        lower = np.full(series.size, np.nan)
        upper = np.full(series.size, np.nan)
        for s in scores:
            take = np.isnan(lower) & np.isnan(upper) & (np.isfinite(s.lower) | np.isfinite(s.upper))
            lower[take] = s.lower[take]
            upper[take] = s.upper[take]
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
        )

    def remap(self, change: AreaChange) -> None:
        """Renumber the detectors' series after the indicator's areas changed (see
        `AreaChange`): each remaining area keeps its baseline, new areas start fresh."""
        parts = []
        old_offset = 0
        for lvl in self.plan.levels:
            src = change.source[lvl]
            parts.append(np.where(src >= 0, src + old_offset, -1))
            old_offset += change.old_sizes[lvl]
        source = np.concatenate(parts)
        for d in self.detectors:
            d.remap(source)

    def snapshot(self) -> list[dict[str, np.ndarray]]:
        return [d.snapshot() for d in self.detectors]

    def restore(self, state: list[dict[str, np.ndarray]]) -> bool:
        """Resume the detectors from a snapshot, all or none.  False, leaving them fresh, when
        the snapshot was taken by other detectors: the analyst changed the indicator's
        `detectors:` since, and the new ones must warm up."""
        resumed = [build(c) for c in self.configs]
        if len(state) != len(resumed):
            return False
        try:
            for d, s in zip(resumed, state, strict=True):
                d.restore(s)
        except ValueError:
            return False
        self.detectors = resumed
        return True
