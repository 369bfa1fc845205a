"""The NAB-compatible scorer on hand-made cases whose scores can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.nab_scoring import (
    MAX_TP,
    PROFILES,
    LabelledFile,
    normalise,
    optimise_threshold,
    probation_rows,
    row_weights,
    scaled_sigmoid,
    score_corpus,
    score_file,
)

STANDARD, LOW_FP, LOW_FN = PROFILES


def test_scaled_sigmoid_matches_the_published_values() -> None:
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(-1.0) == pytest.approx(0.986614, abs=1e-6)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.986614, abs=1e-6)
    assert scaled_sigmoid(3.5) == -1.0
    assert pytest.approx(0.986614, abs=1e-6) == MAX_TP


def test_probation_is_15_percent_capped_at_750() -> None:
    assert probation_rows(4032) == 604
    assert probation_rows(1243) == 186
    assert probation_rows(22695) == 750


def test_row_weights_inside_and_after_a_window() -> None:
    f = LabelledFile("f", 100, ((40, 49),))
    w = row_weights(f, STANDARD)
    assert w.weight[40] == pytest.approx(1.0)  # first row of the window: full A_TP
    assert w.weight[49] == pytest.approx(float(scaled_sigmoid(-0.1)) / MAX_TP)
    assert (np.diff(w.weight[40:50]) < 0).all()
    assert w.weight[0] == pytest.approx(-0.11)  # before any window: full FP penalty
    assert w.weight[50] == pytest.approx(0.11 * float(scaled_sigmoid(1 / 9)))
    assert w.weight[99] == pytest.approx(-0.11)  # 50 rows after a width-10 window
    assert list(w.window[39:51]) == [-1] + [0] * 10 + [-1]


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    f = LabelledFile("f", 200, ((100, 119),))
    scores = np.zeros(200)
    scores[[110, 105, 115]] = 1.0
    res = score_file(f, scores, 0.5, STANDARD)
    expected = float(scaled_sigmoid(-(119 - 105 + 1) / 20)) / MAX_TP
    assert res.score == pytest.approx(expected)
    assert (res.tp, res.fp, res.detected_windows) == (3, 0, 1)


def test_probationary_rows_never_count_and_misses_cost_a_fn() -> None:
    f = LabelledFile("f", 200, ((100, 119),))
    scores = np.zeros(200)
    scores[:30] = 1.0  # probation is 30 rows
    res = score_file(f, scores, 0.5, LOW_FN)
    assert res.score == pytest.approx(-2.0)
    assert (res.fp, res.fn) == (0, 20)


def test_false_positives_are_weighted_by_distance_from_the_previous_window() -> None:
    f = LabelledFile("f", 400, ((100, 109),))
    scores = np.zeros(400)
    scores[[70, 111, 390]] = 1.0  # probation is 60 rows
    res = score_file(f, scores, 0.5, LOW_FP)
    expected = -0.22 + 0.22 * float(scaled_sigmoid(2 / 9)) - 0.22 - 1.0
    assert res.score == pytest.approx(expected)
    assert res.fp == 3


def test_optimiser_finds_the_best_threshold_and_prefers_the_higher_on_ties() -> None:
    f = LabelledFile("f", 200, ((100, 119),))
    s = np.zeros(200)
    s[100] = 0.9  # the first row of the window: +1
    s[150] = 0.8  # an FP far after the window
    thr, raw = optimise_threshold([f], [s], STANDARD)
    assert thr == 0.9
    assert raw == pytest.approx(1.0)
    # two rows of equal score in the same window: the threshold is that score
    s2 = np.zeros(200)
    s2[[101, 102]] = 0.7
    thr2, _ = optimise_threshold([f], [s2], STANDARD)
    assert thr2 == 0.7


def test_optimiser_returns_nothing_detected_when_every_detection_costs() -> None:
    f = LabelledFile("f", 200, ((100, 119),))
    s = np.zeros(200)
    s[60:90] = 0.5
    thr, raw = optimise_threshold([f], [s], STANDARD)
    assert thr == 1.1
    assert raw == pytest.approx(-1.0)


def test_optimiser_agrees_with_a_brute_force_sweep() -> None:
    rng = np.random.default_rng(0)
    files = [LabelledFile("a", 300, ((100, 129), (200, 219))), LabelledFile("b", 250, ())]
    scores = [rng.random(300).round(2), rng.random(250).round(2)]
    for profile in PROFILES:
        thr, raw = optimise_threshold(files, scores, profile)
        candidates = [1.1, *np.unique(np.concatenate(scores))]
        brute = {
            c: sum(score_file(f, s, c, profile).score for f, s in zip(files, scores, strict=True))
            for c in candidates
        }
        best = max(brute.values())
        assert raw == pytest.approx(best)
        assert thr == max(c for c, v in brute.items() if np.isclose(v, best))


def test_normalisation_maps_null_to_0_and_perfect_to_100() -> None:
    f = LabelledFile("f", 200, ((100, 119), (150, 159)))
    perfect = np.zeros(200)
    perfect[[100, 150]] = 1.0
    for profile in PROFILES:
        assert score_corpus([f], [perfect], profile).normalised == pytest.approx(100.0)
        assert score_corpus([f], [np.zeros(200)], profile).normalised == pytest.approx(0.0)
    assert normalise(-116 + 116, 116, STANDARD) == pytest.approx(50.0)
    assert normalise(0.0, 116, LOW_FN) == pytest.approx(100 * 232 / 348)


def test_windows_must_be_sorted_and_inside_the_file() -> None:
    with pytest.raises(ValueError, match="outside"):
        LabelledFile("f", 10, ((5, 12),))
    with pytest.raises(ValueError, match="sorted"):
        LabelledFile("f", 100, ((50, 60), (40, 45)))
