"""ONE contract suite that every detector runs (as river does for its anomaly detectors):
finite calibrated scores, snapshot round-trip, determinism, batch-size invariance, quiet
warm-up, flat / quantised / gappy data, and each detector catching its own kind of anomaly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from indicators.detectors import DEFAULT_DETECTOR, Detector, build
from indicators.language.detection import (
    DETECTOR_TYPES,
    CusumDetector,
    DefaultDetector,
    DetectorConfig,
    EnsembleDetector,
    EwmaDetector,
    NoSignalDetector,
    RateOfChangeDetector,
    SeasonalDetector,
    SpotDetector,
    StuckDetector,
    ThresholdDetector,
    VolatilityDetector,
)

# name -> (config, the fixture kind it must catch)
CASES: dict[str, tuple[DetectorConfig, str]] = {
    "threshold": (ThresholdDetector(type="threshold", upper=70.0), "spike"),
    "seasonal": (SeasonalDetector(type="seasonal", period="day", slot=3600), "spike"),
    "ewma": (EwmaDetector(type="ewma"), "spike"),
    "spot": (SpotDetector(type="spot", direction="both", risk=1e-3), "spike"),
    "dspot": (SpotDetector(type="spot", depth=24), "spike"),
    "cusum": (CusumDetector(type="cusum", halflife=400), "level_shift"),
    "ensemble_mean": (
        EnsembleDetector(
            type="ensemble",
            members=[EwmaDetector(type="ewma"), SpotDetector(type="spot", depth=24)],
            combine="mean",
        ),
        "spike",
    ),
    "rate_of_change": (RateOfChangeDetector(type="rate_of_change"), "spike"),
    "volatility": (VolatilityDetector(type="volatility"), "variance"),
    "no_signal": (NoSignalDetector(type="no_signal"), "silence"),
    "stuck": (StuckDetector(type="stuck"), "stuck"),
    "ensemble": (DEFAULT_DETECTOR, "spike"),
    "default": (DefaultDetector(type="default"), "spike"),  # the same, as the catalog writes it
    "sensor_ensemble": (
        EnsembleDetector(
            type="ensemble",
            members=[
                EwmaDetector(type="ewma"),
                NoSignalDetector(type="no_signal"),
                StuckDetector(type="stuck"),
            ],
        ),
        "silence",
    ),
}
NAMES = sorted(CASES)
# CUSUM assumes an in-control mean: its fixture has noise around a level, no daily cycle
AMPLITUDE = {"cusum": 0.0}
CATCH = 0.99  # a caught anomaly scores at least this within the response span
RESPONSE = 24  # rows after the onset in which the anomaly must be caught


def run(det: Detector, series: np.ndarray, t: np.ndarray, v: np.ndarray, chunk: int = 0):
    """Scores (and band) of the stream, fed in one batch or in chunks of `chunk` rows."""
    if chunk <= 0:
        out = det.learn_score(series, t, v)
        return out.score, out.lower, out.upper
    parts = [
        det.learn_score(series[i : i + chunk], t[i : i + chunk], v[i : i + chunk])
        for i in range(0, len(series), chunk)
    ]
    return (
        np.concatenate([p.score for p in parts]),
        np.concatenate([p.lower for p in parts]),
        np.concatenate([p.upper for p in parts]),
    )


def test_every_detector_type_has_a_contract_case() -> None:
    covered = {CASES[n][0].type for n in NAMES}
    assert covered == set(DETECTOR_TYPES)


@pytest.mark.parametrize("name", NAMES)
def test_scores_are_finite_and_calibrated(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0))
    score, lower, upper = run(build(config), st.series, st.t, st.values)
    assert score.shape == (len(st.series),)
    assert np.isfinite(score).all()
    assert (score >= 0).all() and (score <= 1).all()
    both = np.isfinite(lower) & np.isfinite(upper)
    assert (lower[both] <= upper[both]).all(), "the band must not be inverted"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0))
    a = run(build(config), st.series, st.t, st.values)
    b = run(build(config), st.series, st.t, st.values)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_batch_size_invariance(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0), n_series=5, n_rows=500, onset=450)
    whole = run(build(config), st.series, st.t, st.values)
    for chunk in (1, 7, 64):
        parts = run(build(config), st.series, st.t, st.values, chunk=chunk)
        for x, y in zip(whole, parts, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
def test_series_grouped_or_interleaved_give_the_same_scores(name: str, stream: Callable) -> None:
    """Rows of many series may arrive interleaved in any way that keeps each series in order."""
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0), n_series=4, n_rows=400, onset=350)
    whole = run(build(config), st.series, st.t, st.values)[0]
    grouped = np.argsort(st.series, kind="stable")
    regrouped = np.empty_like(whole)
    regrouped[grouped] = run(build(config), st.series[grouped], st.t[grouped], st.values[grouped])[
        0
    ]
    np.testing.assert_allclose(whole, regrouped, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_round_trip(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0), n_series=6, n_rows=600, onset=550)
    cut = len(st.series) // 2 + 3  # not on a round boundary
    straight = run(build(config), st.series, st.t, st.values)[0]
    first = build(config)
    head = run(first, st.series[:cut], st.t[:cut], st.values[:cut])[0]
    snap = first.snapshot()
    assert all(isinstance(v, np.ndarray) for v in snap.values())
    resumed = build(config)
    resumed.restore(snap)
    for v in snap.values():  # the restored detector must not share the snapshot's memory
        if v.dtype.kind == "f" and v.size:
            v.fill(np.nan)
    tail = run(resumed, st.series[cut:], st.t[cut:], st.values[cut:])[0]
    np.testing.assert_allclose(np.concatenate([head, tail]), straight, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_renumbered_series_keep_their_state(name: str, stream: Callable) -> None:
    """Areas renumbered between a snapshot and the restart (a sensor added to the registry, one
    removed): each remaining series scores on exactly as if nothing had happened."""
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0), n_series=6, n_rows=600, onset=550)
    cut = len(st.series) // 2 + 3
    straight = run(build(config), st.series, st.t, st.values)[0]
    first = build(config)
    run(first, st.series[:cut], st.t[:cut], st.values[:cut])
    resumed = build(config)
    resumed.restore(first.snapshot())
    source = np.array([-1, 5, 0, 3, 2, 1])  # new 0 is a new series; old 4 is gone
    resumed.remap(source)
    new_of_old = np.full(6, -1)
    new_of_old[source[source >= 0]] = np.flatnonzero(source >= 0)
    rows = np.arange(cut, len(st.series))
    rows = rows[new_of_old[st.series[rows]] >= 0]
    tail = run(resumed, new_of_old[st.series[rows]], st.t[rows], st.values[rows])[0]
    np.testing.assert_allclose(tail, straight[rows], rtol=1e-9, atol=1e-12)
    new_rows = (np.zeros(3, np.int64), st.t[-1] + 3600 * np.arange(1, 4), np.array([50.0, 51, 52]))
    joined = run(resumed, *new_rows)
    alone = run(build(config), *new_rows)  # the new series starts as if on a fresh detector
    for x, y in zip(joined, alone, strict=True):
        np.testing.assert_array_equal(x, y)
    assert int(resumed.snapshot()["n_series"]) == 6


@pytest.mark.parametrize("name", NAMES)
def test_restore_rejects_a_foreign_snapshot(name: str) -> None:
    config, _ = CASES[name]
    other = CASES["no_signal" if name != "no_signal" else "ewma"][0]
    foreign = build(other)
    foreign.learn_score(np.array([0]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="snapshot"):
        build(config).restore(foreign.snapshot())


@pytest.mark.parametrize("name", NAMES)
def test_catches_its_kind_of_anomaly(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0))
    score = run(build(config), st.series, st.t, st.values)[0]
    best = np.array(
        [score[st.rows_of(s)][st.onset : st.onset + RESPONSE].max() for s in range(st.n_series)]
    )
    hit = np.isin(np.arange(st.n_series), st.hit)
    assert (best[hit] >= CATCH).all(), f"best scores after the onset: {best[hit]}"
    # calibrated detectors do reach 0.99 by chance now and then: the clean series as a group
    # must stay below it, and below every series that carries the anomaly
    assert np.median(best[~hit]) < CATCH, f"clean series scored {best[~hit]}"
    assert np.median(best[~hit]) < best[hit].min()


@pytest.mark.parametrize("name", NAMES)
def test_quiet_on_normal_data_and_during_warm_up(name: str, stream: Callable) -> None:
    config, _ = CASES[name]
    st = stream("none", n_series=10, n_rows=700, amplitude=AMPLITUDE.get(name, 10.0))
    score = run(build(config), st.series, st.t, st.values)[0].reshape(700, 10)
    assert (score[:48] < CATCH).all(), "no storm of scores while warming up"
    assert np.mean(score >= CATCH) < 0.01, "at most ~1% of normal rows score >= 0.99"


@pytest.mark.parametrize("name", NAMES)
def test_flat_and_quantised_data(name: str) -> None:
    config, _ = CASES[name]
    n = 400
    rng = np.random.default_rng(3)
    flat = np.full(n, 42.0)
    counts = rng.poisson(0.3, n).astype(float)
    series = np.repeat([0, 1], n).reshape(2, n).T.ravel()
    t = np.repeat(np.arange(n) * 3600, 2)
    values = np.column_stack([flat, counts]).ravel()
    score = run(build(config), series, t, values)[0]
    assert np.isfinite(score).all()
    flat_scores = score[series == 0]
    assert (flat_scores < CATCH).all(), "a flat series is normal for itself (MAD = 0)"
    # Poisson(0.3) counts: a 2 (3.7% of rows) is genuinely rare; nothing else may be flagged
    # long runs of zeros are what a stuck-value detector is for, so allow it a little more
    assert np.mean(score[series == 1] >= CATCH) < 0.1


@pytest.mark.parametrize("name", NAMES)
def test_gaps_and_irregular_timestamps(name: str) -> None:
    config, _ = CASES[name]
    rng = np.random.default_rng(5)
    n = 300
    t = np.cumsum(rng.integers(60, 7200, n))
    v = rng.normal(10.0, 1.0, n)
    v[rng.random(n) < 0.1] = np.nan
    score, lower, upper = run(build(config), np.zeros(n, np.int64), t, v)
    assert np.isfinite(score).all()
    assert not (np.isinf(lower).any() or np.isinf(upper).any())


@pytest.mark.parametrize("name", NAMES)
def test_new_series_join_later(name: str, stream: Callable) -> None:
    config, kind = CASES[name]
    st = stream(kind, amplitude=AMPLITUDE.get(name, 10.0), n_series=6, n_rows=300, onset=250)
    det = build(config)
    early = st.series < 3
    first = np.flatnonzero(early)[:300]  # the first 100 rows of series 0..2 only
    det.learn_score(st.series[first], st.t[first], st.values[first])
    rest = np.setdiff1d(np.arange(len(st.series)), first)
    out = det.learn_score(st.series[rest], st.t[rest], st.values[rest])
    assert np.isfinite(out.score).all()
    assert int(det.snapshot()["n_series"]) == 6


def test_bad_input_raises_clear_errors() -> None:
    det = build(EwmaDetector(type="ewma"))
    with pytest.raises(ValueError, match="same length"):
        det.learn_score(np.array([0, 1]), np.array([0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=">= 0"):
        det.learn_score(np.array([-1]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="finite or NaN"):
        det.learn_score(np.array([0]), np.array([0]), np.array([np.inf]))
    with pytest.raises(ValueError, match="integer"):
        det.learn_score(np.array([0.5]), np.array([0]), np.array([1.0]))
    empty = det.learn_score(np.array([], np.int64), np.array([], np.int64), np.array([]))
    assert len(empty) == 0
