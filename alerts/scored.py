"""The input contract from the engine and the detectors: one columnar batch of closed, scored
windows (one row per window).  Validated once per batch, so the state machine can trust the
shapes and dtypes and stay a sequence of numpy operations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True)
class ScoredBatch:
    """Closed windows with their scores.

    `lower`/`upper` are the detectors' expected band (NaN when unknown); `detectors` names, per
    row, the detectors that scored the window, comma separated ("threshold,seasonal").
    `count`: the records each window aggregated, -1 when not known (a batch from elsewhere
    may not give it): a warning that clears on windows too thin to judge (the indicator's
    `min_count`) says how thin they were, since it has no value to show."""

    indicator_id: StrArray
    area_code: StrArray
    area_level: StrArray
    window_start: IntArray
    window_end: IntArray
    value: FloatArray
    score: FloatArray
    lower: FloatArray
    upper: FloatArray
    detectors: StrArray
    count: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = len(self.indicator_id)
        if n and len(self.count) == 0:  # not given: not known
            object.__setattr__(self, "count", np.full(n, -1, dtype=np.int64))
        for name in self.__dataclass_fields__:
            col = getattr(self, name)
            if not isinstance(col, np.ndarray) or col.ndim != 1:
                raise TypeError(f"ScoredBatch.{name} must be a 1-d numpy array")
            if len(col) != n:
                raise ValueError(
                    f"ScoredBatch.{name} has {len(col)} rows, indicator_id has {n}: "
                    "every column needs one entry per window"
                )
        if n and bool(np.any(self.window_end < self.window_start)):
            raise ValueError("ScoredBatch: a window ends before it starts")

    def __len__(self) -> int:
        return len(self.indicator_id)

    @classmethod
    def from_columns(
        cls,
        *,
        indicator_id: Sequence[str] | npt.ArrayLike,
        area_code: Sequence[str] | npt.ArrayLike,
        window_start: npt.ArrayLike,
        window_end: npt.ArrayLike,
        value: npt.ArrayLike,
        score: npt.ArrayLike | None = None,
        lower: npt.ArrayLike | None = None,
        upper: npt.ArrayLike | None = None,
        area_level: Sequence[str] | npt.ArrayLike | None = None,
        detectors: Sequence[str] | npt.ArrayLike | str | None = None,
        count: npt.ArrayLike | None = None,
    ) -> ScoredBatch:
        """Build a batch from anything array-like, filling optional columns (NaN bands, zero
        scores, empty detector names) so callers pass only what they have."""
        ids = np.asarray(indicator_id, dtype=np.str_)
        n = len(ids)

        def floats(v: npt.ArrayLike | None, fill: float) -> FloatArray:
            if v is None:
                return np.full(n, fill, dtype=np.float64)
            return np.asarray(v, dtype=np.float64).reshape(-1)

        if isinstance(detectors, str):
            det = np.array([detectors] * n, dtype=np.str_)
        elif detectors is None:
            det = np.full(n, "", dtype=np.str_)
        else:
            det = np.asarray(detectors, dtype=np.str_)
        return cls(
            indicator_id=ids,
            area_code=np.asarray(area_code, dtype=np.str_),
            area_level=(
                np.full(n, "", dtype=np.str_)
                if area_level is None
                else np.asarray(area_level, dtype=np.str_)
            ),
            window_start=np.asarray(window_start, dtype=np.int64).reshape(-1),
            window_end=np.asarray(window_end, dtype=np.int64).reshape(-1),
            value=floats(value, np.nan),
            score=floats(score, 0.0),
            lower=floats(lower, np.nan),
            upper=floats(upper, np.nan),
            detectors=det,
            count=(
                np.full(n, -1, dtype=np.int64)
                if count is None
                else np.asarray(count, dtype=np.int64).reshape(-1)
            ),
        )

    def take(self, rows: npt.NDArray[np.intp]) -> ScoredBatch:
        cols = {name: getattr(self, name)[rows] for name in self.__dataclass_fields__}
        return ScoredBatch(**cols)


def clip_band(
    lower: FloatArray,
    upper: FloatArray,
    value_range: tuple[float, float] | tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """The band within what the indicator can take (`value_range`, NaN: open; one range for
    every row, or one per row): a detector's band is a centre plus and minus a spread, and
    went below 0 on quiet series ("NO2 expected -111 to 124", "0 orders expected -0.12-0.24")
    on the wall, the dashboards and the warnings alike.  A band wholly outside the range says
    nothing and becomes NaN."""
    lo, hi = value_range
    lower, upper = lower.copy(), upper.copy()
    np.maximum(lower, lo, out=lower, where=np.isfinite(lower) & ~np.isnan(lo))
    np.minimum(upper, hi, out=upper, where=np.isfinite(upper) & ~np.isnan(hi))
    empty = (lower > upper) | (upper < lo) | (lower > hi)  # (NaN compares False)
    # a one-sided band at the range's own edge ("orders expected > 0") says nothing either
    empty |= np.isnan(upper) & (lower == lo)
    empty |= np.isnan(lower) & (upper == hi)
    lower[empty], upper[empty] = np.nan, np.nan
    return lower, upper
