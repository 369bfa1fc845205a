"""Aggregates over groups of rows, vectorised: which accumulators each needs, how panes
combine, and how grouped quantiles and distinct counts are computed without a Python loop."""

from __future__ import annotations

import numpy as np

# aggregate -> what a pane must keep: counts always; "sum", "min", "max" arrays; "raw" values
NEEDS: dict[str, frozenset[str]] = {
    "count": frozenset(),
    "rate": frozenset(),
    "sum": frozenset({"sum"}),
    "mean": frozenset({"sum"}),
    "min": frozenset({"min"}),
    "max": frozenset({"max"}),
    "p50": frozenset({"raw"}),
    "p90": frozenset({"raw"}),
    "p95": frozenset({"raw"}),
    "p99": frozenset({"raw"}),
    "distinct": frozenset({"raw"}),
}
AGGREGATES = tuple(NEEDS)
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def group_quantile(group: np.ndarray, values: np.ndarray, q: float, n_groups: int) -> np.ndarray:
    """Per-group quantile with numpy's default (linear) interpolation; NaN for empty groups."""
    out = np.full(n_groups, np.nan)
    if group.size == 0:
        return out
    order = np.lexsort((values, group))
    g = group[order]
    v = values[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = np.flatnonzero(counts)
    pos = q * (counts[present] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, counts[present] - 1)
    frac = pos - lo
    a = v[starts[present] + lo]
    b = v[starts[present] + hi]
    out[present] = a + (b - a) * frac
    return out


def group_distinct(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct values per group."""
    if group.size == 0:
        return np.zeros(n_groups)
    order = np.lexsort((values, group))
    g = group[order]
    v = values[order]
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    return np.bincount(g[new], minlength=n_groups).astype(np.float64)
