"""The detector contract and the machinery every detector shares.

State lives in arrays indexed by series (never one Python object per series), so one numpy
operation updates thousands of series.  A batch may hold several rows of the same series;
their recurrences are sequential, so the batch is cut into *rounds*: round k holds the k-th
row of every series present.  The Python loop runs over rounds, not rows: a batch with one
row per series is one round, and NAB's 41 files replayed together are ~22k rounds of <= 41.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .state import SeriesState


@dataclass(frozen=True)
class Scores:
    """Per-row output of a detector.

    `score` is in [0, 1] (higher = more anomalous, calibrated as 1 - tail probability so one
    threshold means the same on every series); `lower`/`upper` is the expected band, NaN while
    the detector is warming up or has no band to offer."""

    score: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def __len__(self) -> int:
        return len(self.score)


@runtime_checkable
class Detector(Protocol):
    """What the dataflow calls: score rows against the past of their series, then learn."""

    def learn_score(self, series: np.ndarray, t: np.ndarray, values: np.ndarray) -> Scores: ...

    def snapshot(self) -> dict[str, np.ndarray]: ...

    def restore(self, state: dict[str, np.ndarray]) -> None: ...

    def remap(self, source: np.ndarray) -> None: ...


class SeriesLevels:
    """The area level of every series, for a detector whose settings differ by level (a
    threshold written per area level: a district's count of reports is judged against the
    district's limit, not the street's).  Detectors number no areas themselves; whoever
    numbers the series (the flow's scorer) keeps this up to date, and detectors only read it."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        #: per series, its area level as an index into `names`
        self.index: np.ndarray = np.zeros(0, dtype=np.int64)

    def of(self, series: np.ndarray) -> np.ndarray:
        """The area level (index into `names`) of each of `series`."""
        return self.index[series]


@dataclass(frozen=True)
class Batch:
    """The rows of one round: at most one row per series, in input order."""

    series: np.ndarray  # int64
    t: np.ndarray  # int64 epoch seconds
    values: np.ndarray  # float64, NaN = silent window


@dataclass(frozen=True)
class RoundOutput:
    """What one detector says about one round: the tail probability of each row under the
    detector's model of normal (score = 1 - tail) and the expected band.

    Ensembles combine tails rather than scores, because 1 - tail rounds to exactly 1.0 once
    the tail is below 1e-16 and the ordering of very surprising rows would be lost."""

    tail: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    #: rows the detector already has a model for (False while it warms up); None: every row.
    #: An ensemble's likelihood stage judges a member only once enough of these rows are in
    #: its history, so a member that wakes late (a week profile after three weeks) is not
    #: judged against the zeros of its warm-up alone.
    warm: np.ndarray | None = None

    @property
    def score(self) -> np.ndarray:
        return np.clip(1.0 - self.tail, 0.0, 1.0)


def _as_inputs(
    series: np.ndarray, t: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(series)
    tt = np.asarray(t)
    v = np.asarray(values, dtype=np.float64)
    if s.ndim != 1 or tt.ndim != 1 or v.ndim != 1:
        raise ValueError("series, t and values must be one-dimensional arrays")
    if not (len(s) == len(tt) == len(v)):
        raise ValueError(
            f"series, t and values must have the same length (got {len(s)}, {len(tt)}, {len(v)})"
        )
    if s.size and not np.issubdtype(s.dtype, np.integer):
        raise ValueError("series must hold integer series indices (0..n-1)")
    if s.size and s.min() < 0:
        raise ValueError("series indices must be >= 0")
    if np.isinf(v).any():
        raise ValueError("values must be finite or NaN (NaN marks a silent window)")
    return s.astype(np.int64, copy=False), tt.astype(np.int64, copy=False), v


def rounds(series: np.ndarray) -> list[np.ndarray]:
    """Row indices of each round: round k holds the k-th row of every series in the batch.

    Rows keep their input order inside a round, and each series' rows stay in time order
    across rounds, so scoring round by round equals scoring row by row."""
    n = len(series)
    if n == 0:
        return []
    counts = np.bincount(series)
    if counts.max() == 1:
        return [np.arange(n)]
    by_series = np.argsort(series, kind="stable")
    sorted_series = series[by_series]
    first = np.searchsorted(sorted_series, sorted_series, side="left")
    rank = np.empty(n, dtype=np.int64)
    rank[by_series] = np.arange(n) - first
    by_round = np.argsort(rank, kind="stable")
    bounds = np.flatnonzero(np.diff(rank[by_round])) + 1
    return np.split(by_round, bounds)


class RoundDetector(ABC):
    """Base of every detector: input checks, rounds, growing state, snapshot and restore.

    Subclasses declare their per-series arrays in `__init__` through `self.state` and
    implement `step`, which scores one round and then learns it."""

    def __init__(self) -> None:
        self.state = SeriesState()

    # -- the public contract -------------------------------------------------------------
    def learn_score(self, series: np.ndarray, t: np.ndarray, values: np.ndarray) -> Scores:
        s, tt, v = _as_inputs(series, t, values)
        n = len(s)
        score = np.zeros(n)
        lower = np.full(n, np.nan)
        upper = np.full(n, np.nan)
        if n == 0:
            return Scores(score, lower, upper)
        self.grow(int(s.max()) + 1)
        parts = rounds(s)
        if len(parts) == 1:  # one row per series (the usual batch): no gathering needed
            out = self.step(Batch(s, tt, v))
            return Scores(np.clip(out.score, 0.0, 1.0), out.lower.copy(), out.upper.copy())
        for rows in parts:
            out = self.step(Batch(s[rows], tt[rows], v[rows]))
            score[rows] = out.score
            lower[rows] = out.lower
            upper[rows] = out.upper
        np.clip(score, 0.0, 1.0, out=score)
        return Scores(score, lower, upper)

    def snapshot(self) -> dict[str, np.ndarray]:
        return self.state.snapshot()

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.state.restore(state)

    def remap(self, source: np.ndarray) -> None:
        """Renumber the series (see `SeriesState.remap`): new series i continues old series
        `source[i]`; -1 starts fresh."""
        self.state.remap(source)

    # -- for subclasses and ensembles ----------------------------------------------------
    def grow(self, n_series: int) -> None:
        """Make room for series indices below `n_series` (new series start fresh)."""
        self.state.grow(n_series)

    @abstractmethod
    def step(self, batch: Batch) -> RoundOutput:
        """Score one round against each series' past, then learn it."""
