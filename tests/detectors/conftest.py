"""Synthetic many-series fixtures for the detector contract suite.

Hourly windows with a daily cycle and noise; each kind of anomaly is injected into a few
series at a known row, so a test can ask "did the right detector notice, and only there?"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

HOUR = 3600
START = 1_700_006_400  # a Wednesday 00:00 UTC


@dataclass(frozen=True)
class Stream:
    """Rows interleaved across series in time order, and where the anomalies start."""

    series: np.ndarray
    t: np.ndarray
    values: np.ndarray
    n_series: int
    n_rows: int  # rows per series
    onset: int  # row index (per series) where the anomaly starts
    hit: np.ndarray  # the series that carry the anomaly

    def rows_of(self, s: int) -> np.ndarray:
        return np.flatnonzero(self.series == s)


def make_stream(
    kind: str,
    n_series: int = 8,
    n_rows: int = 900,
    onset: int = 800,
    seed: int = 7,
    amplitude: float = 10.0,
) -> Stream:
    rng = np.random.default_rng(seed)
    i = np.arange(n_rows)
    t = START + i * HOUR
    base = 50.0 + amplitude * np.sin(2 * np.pi * (i % 24) / 24.0)
    values = base[None, :] + rng.normal(0.0, 1.0, (n_series, n_rows))
    hit = np.arange(0, n_series, 2)
    for s in hit:
        if kind == "spike":
            values[s, onset] += 25.0
        elif kind == "level_shift":
            values[s, onset:] += 8.0
        elif kind == "variance":
            values[s, onset:] = base[onset:] + rng.normal(0.0, 6.0, n_rows - onset)
        elif kind == "stuck":
            values[s, onset:] = values[s, onset - 1]
        elif kind == "silence":
            values[s, onset:] = np.nan
        elif kind != "none":
            raise ValueError(kind)
    series = np.tile(np.arange(n_series), n_rows)
    tt = np.repeat(t, n_series)
    return Stream(series, tt, values.T.ravel(), n_series, n_rows, onset, hit)


@pytest.fixture
def stream() -> Callable[..., Stream]:
    return make_stream
