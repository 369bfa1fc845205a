"""A scorer compatible with the Numenta Anomaly Benchmark (NAB v1.1).

Written from the published description of NAB's sweeper, optimiser and normaliser (see the
NAB repository, `nab/sweeper.py`), without importing NAB, so that this project can score its
detectors on the labelled corpus with the same arithmetic as the public scoreboard:

* rows are addressed by position, never by time arithmetic (many files are irregular);
* the first `min(floor(0.15 N), 750)` rows of a file are probationary and never count;
* inside a label window the earliest detection earns `A_TP * sigma(pos) / maxTP`; outside,
  each detection costs `A_FP` scaled by its distance from the previous window;
* ONE threshold for the whole corpus is chosen per profile by sweeping every distinct score,
  keeping the higher threshold on ties, exactly as NAB's `--optimize` does;
* normalisation maps "never alert" to 0 and "first row of every window, no FP" to 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

NDArrayF = np.ndarray


@dataclass(frozen=True)
class Profile:
    """Application weights of one NAB profile (config/profiles.json)."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: tuple[Profile, ...] = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)
PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 750  # 0.15 * 5000: NAB caps probation for long files
NOTHING_DETECTED = 1.1  # NAB's first candidate threshold, above every score


def scaled_sigmoid(y: NDArrayF | float) -> NDArrayF:
    """NAB's sigma_s(y) = 2 / (1 + exp(5 y)) - 1, exactly -1 beyond y = 3."""
    arr = np.asarray(y, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * arr)) - 1.0
    return np.where(arr > 3.0, -1.0, out)


MAX_TP = float(scaled_sigmoid(-1.0))


def probation_rows(n_rows: int) -> int:
    """Rows at the start of a file that are ignored by scoring."""
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_CAP_ROWS)


@dataclass(frozen=True)
class LabelledFile:
    """One data file: its row count and label windows as inclusive row-index pairs."""

    name: str
    n_rows: int
    windows: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        last = -1
        for left, right in self.windows:
            if not 0 <= left <= right < self.n_rows:
                raise ValueError(f"{self.name}: window [{left}, {right}] outside 0..{self.n_rows}")
            if left <= last:
                raise ValueError(f"{self.name}: windows must be sorted and disjoint")
            last = right


@dataclass(frozen=True)
class RowWeights:
    """Per-row scoring weights of one file under one profile (NAB's `S(t)` column).

    `window` is the index of the window a row lies in, or -1 outside every window."""

    window: np.ndarray
    weight: NDArrayF


def row_weights(f: LabelledFile, profile: Profile) -> RowWeights:
    """tp weight inside windows (falling from A_TP at the first row), fp weight outside."""
    n = f.n_rows
    idx = np.arange(n, dtype=np.float64)
    window = np.full(n, -1, dtype=np.int64)
    weight = np.full(n, -profile.a_fp, dtype=np.float64)
    for k, (left, right) in enumerate(f.windows):
        width = right - left + 1
        rows = slice(left, right + 1)
        window[rows] = k
        pos = -(right - idx[rows] + 1.0) / width
        weight[rows] = profile.a_tp * scaled_sigmoid(pos) / MAX_TP
        end = f.windows[k + 1][0] if k + 1 < len(f.windows) else n
        after = slice(right + 1, end)
        if width > 1:
            y = (idx[after] - right) / (width - 1)
            weight[after] = profile.a_fp * scaled_sigmoid(y)
        else:  # a one-row window: NAB divides by zero here; treat the distance as infinite
            weight[after] = -profile.a_fp
    return RowWeights(window, weight)


@dataclass
class FileResult:
    """Counts and raw score of one file at one threshold."""

    name: str
    score: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    windows: int = 0
    detected_windows: int = 0


@dataclass
class ProfileResult:
    """The optimised threshold, raw and normalised score of one profile over the corpus."""

    profile: Profile
    threshold: float
    raw: float
    normalised: float
    files: list[FileResult] = field(default_factory=list)


def _null_and_perfect(n_windows: int, profile: Profile) -> tuple[float, float]:
    return -n_windows * profile.a_fn, n_windows * profile.a_tp


def normalise(raw: float, n_windows: int, profile: Profile) -> float:
    """100 for a perfect detector, 0 for one that never alerts."""
    null, perfect = _null_and_perfect(n_windows, profile)
    if perfect == null:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)


def score_file(f: LabelledFile, scores: NDArrayF, threshold: float, profile: Profile) -> FileResult:
    """NAB's per-file score at a fixed threshold (rows with score >= threshold detect)."""
    if len(scores) != f.n_rows:
        raise ValueError(f"{f.name}: {len(scores)} scores for {f.n_rows} rows")
    w = row_weights(f, profile)
    live = np.arange(f.n_rows) >= probation_rows(f.n_rows)
    detected = live & (np.asarray(scores) >= threshold)
    inside = w.window >= 0
    res = FileResult(f.name, windows=len(f.windows))
    res.tp = int(np.sum(detected & inside))
    res.fp = int(np.sum(detected & ~inside))
    res.fn = int(np.sum(live & ~detected & inside))
    res.tn = int(np.sum(live & ~detected & ~inside))
    total = float(np.sum(w.weight[detected & ~inside]))
    for k in range(len(f.windows)):
        hits = np.flatnonzero(detected & (w.window == k))
        if hits.size:
            total += float(w.weight[hits[0]])
            res.detected_windows += 1
        else:
            total -= profile.a_fn
    res.score = total
    return res


def optimise_threshold(
    files: list[LabelledFile], scores: list[NDArrayF], profile: Profile
) -> tuple[float, float]:
    """The corpus-wide threshold with the best raw score, and that score.

    Candidates are 1.1 (nothing detected) then every distinct score, highest first; ties keep
    the higher threshold.  Vectorised: rows sorted by score, each window's best tp is a running
    maximum within its group, and the corpus score at each candidate is a cumulative sum."""
    all_scores: list[NDArrayF] = []
    all_window: list[np.ndarray] = []
    all_weight: list[NDArrayF] = []
    n_windows = 0
    for f, s in zip(files, scores, strict=True):
        if len(s) != f.n_rows:
            raise ValueError(f"{f.name}: {len(s)} scores for {f.n_rows} rows")
        w = row_weights(f, profile)
        p = probation_rows(f.n_rows)
        all_scores.append(np.asarray(s, dtype=np.float64)[p:])
        win = w.window[p:].copy()
        win[win >= 0] += n_windows
        all_window.append(win)
        all_weight.append(w.weight[p:])
        n_windows += len(f.windows)
    sc = np.concatenate(all_scores) if all_scores else np.empty(0)
    win = np.concatenate(all_window) if all_window else np.empty(0, np.int64)
    wt = np.concatenate(all_weight) if all_weight else np.empty(0)
    if np.isnan(sc).any():
        raise ValueError("anomaly scores must not be NaN")
    order = np.argsort(-sc, kind="stable")
    sc, win, wt = sc[order], win[order], wt[order]
    delta = np.where(win < 0, wt, 0.0)
    for k in np.unique(win[win >= 0]):
        rows = np.flatnonzero(win == k)  # in descending-score order
        running = np.maximum.accumulate(wt[rows])
        delta[rows] = running - np.r_[-profile.a_fn, running[:-1]]
    base = -n_windows * profile.a_fn
    totals = base + np.cumsum(delta)
    # A candidate threshold v detects every row with score >= v: take the last row of each run.
    run_end = np.r_[sc[1:] != sc[:-1], True] if sc.size else np.empty(0, bool)
    cand_thr = np.r_[NOTHING_DETECTED, sc[run_end]]
    cand_val = np.r_[base, totals[run_end]]
    best = int(np.argmax(cand_val))  # first maximum = the higher threshold on ties
    return float(cand_thr[best]), float(cand_val[best])


def score_corpus(
    files: list[LabelledFile], scores: list[NDArrayF], profile: Profile
) -> ProfileResult:
    """Optimise the threshold, then score every file at it and normalise the total."""
    threshold, _ = optimise_threshold(files, scores, profile)
    per_file = [score_file(f, s, threshold, profile) for f, s in zip(files, scores, strict=True)]
    raw = sum(r.score for r in per_file)
    n_windows = sum(len(f.windows) for f in files)
    return ProfileResult(profile, threshold, raw, normalise(raw, n_windows, profile), per_file)
