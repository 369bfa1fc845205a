"""The ensemble's likelihood, novelty and refractory stages, beyond the contract suite.

The contract suite checks what every detector owes its caller; these tests pin down why the
default ensemble is built the way it is: surprise must keep its order far beyond a tail of
1e-16 (one corpus-wide threshold is chosen among such rows), a visit to a value range the
series has never been in must weigh more than a return to a familiar one, and the novelty
histogram's warm-up must survive a snapshot."""

from __future__ import annotations

import numpy as np

from indicators.detectors import DEFAULT_DETECTOR, build
from indicators.detectors.ensemble import MAX_SURPRISE, SCORE_COMPRESSION
from indicators.language.detection import EnsembleDetector, EwmaDetector

HOUR = 3600


def surprise(score: np.ndarray) -> np.ndarray:
    """Digits of surprise behind an ensemble score with `likelihood` (inverse of the output)."""
    return np.asarray(-SCORE_COMPRESSION * np.log10(1.0 - score))


def noise_stream(n_series: int, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(100.0, 1.0, (n_series, n_rows)), np.arange(n_rows) * HOUR


def feed(config: EnsembleDetector, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Scores as (series, row), one round per row as the dataflow feeds them."""
    n_series, n_rows = values.shape
    det = build(config)
    series = np.tile(np.arange(n_series), n_rows)
    out = det.learn_score(series, np.repeat(t, n_series), values.T.ravel())
    return out.score.reshape(n_rows, n_series).T


def test_very_surprising_rows_keep_their_order() -> None:
    """Tails far below 1e-16 used to print as a score of exactly 1.0, all tied."""
    config = EnsembleDetector(
        type="ensemble", members=[EwmaDetector(type="ewma", halflife=64)], likelihood=150
    )
    values, t = noise_stream(3, 400, seed=11)
    values[0, 350] += 5.0
    values[1, 350] += 6.0
    values[2, 350] += 7.0
    at = feed(config, values, t)[:, 350]
    s = surprise(at)
    assert (s > 16.0).all(), f"these rows must be beyond what 1 - tail can show: {s}"
    assert (at < 1.0).all()
    assert at[0] < at[1] < at[2], f"bigger spikes must score higher: {at}"


def test_novelty_weighs_a_new_value_range_above_a_familiar_one() -> None:
    """Same spike, same noise: on series 0 the level was visited often, on series 1 never.

    With `novelty` the surprise is multiplied by 1 + (surprise of the value's bin), so the
    ratio of surprise with and without the stage is exactly that factor."""
    plain = EnsembleDetector(
        type="ensemble", members=[EwmaDetector(type="ewma", halflife=64)], likelihood=150
    )
    novel = plain.model_copy(update={"novelty": 4000})
    values, t = noise_stream(2, 700, seed=5)
    values[1] = values[0]
    values[0, 200:600:40] += 5.0  # series 0 keeps going to +5
    values[:, 650] += 5.0  # both go there at row 650
    s_plain = surprise(feed(plain, values, t)[:, 650])
    s_novel = surprise(feed(novel, values, t)[:, 650])
    assert (s_novel < MAX_SURPRISE).all() and (s_plain > 1.0).all()
    factor = s_novel / s_plain
    # a first visit after 650 rows: p = 0.5 / 651, i.e. ~3.1 digits, factor ~4.1
    assert 3.5 < factor[1] < 4.5, factor
    assert factor[0] < factor[1] - 0.5, f"a familiar level must weigh less: {factor}"


def test_snapshot_during_the_novelty_warm_up_resumes_exactly() -> None:
    """The warm-up buffer that defines the value bins is state too."""
    values, t = noise_stream(4, 320, seed=3)
    values[2, 250] += 10.0
    n_series, n_rows = values.shape
    series = np.tile(np.arange(n_series), n_rows)
    tt = np.repeat(t, n_series)
    v = values.T.ravel()
    straight = build(DEFAULT_DETECTOR).learn_score(series, tt, v).score
    cut = 100 * n_series + 2  # inside the warm-up, not on a round boundary
    first = build(DEFAULT_DETECTOR)
    head = first.learn_score(series[:cut], tt[:cut], v[:cut]).score
    resumed = build(DEFAULT_DETECTOR)
    resumed.restore(first.snapshot())
    tail = resumed.learn_score(series[cut:], tt[cut:], v[cut:]).score
    np.testing.assert_allclose(np.concatenate([head, tail]), straight, rtol=1e-9, atol=1e-12)
    assert straight.reshape(n_rows, n_series)[250, 2] > 0.99


def test_mean_combination_with_likelihood_stays_calibrated() -> None:
    config = EnsembleDetector(
        type="ensemble",
        members=[EwmaDetector(type="ewma", halflife=64), EwmaDetector(type="ewma", halflife=8)],
        combine="mean",
        likelihood=150,
        novelty=4000,
        refractory=0.98,
    )
    values, t = noise_stream(3, 400, seed=9)
    values[1, 300] += 12.0
    scores = feed(config, values, t)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    assert scores[1, 300] == scores.max()
