"""The side-by-side benchmark's event-level F1, on hand-made alarms: events and false alarms
are both counted as episodes, so alarming on every row of an event is not rewarded."""

from __future__ import annotations

import numpy as np

from benchmarks.side_by_side import RESPONSE, Synthetic, best_f1

N_ROWS = 200


def _data(events: list[tuple[int, int, int]]) -> Synthetic:
    n_series = 1 + max(s for s, _, _ in events)
    return Synthetic(np.zeros((n_series, N_ROWS)), np.arange(N_ROWS), events)


def test_one_found_event_and_one_false_run_give_precision_one_half() -> None:
    data = _data([(0, 100, 1)])
    scores = np.zeros((1, N_ROWS))
    scores[0, 100] = 1.0  # the event, at its onset
    scores[0, 150:153] = 1.0  # one false alarm three rows long: one false run
    f1, thr = best_f1(scores, data)
    assert 0.0 < thr <= 1.0  # (any threshold between the two score values)
    assert np.isclose(f1, 2 * 1.0 * 0.5 / 1.5)  # recall 1, precision 1/2


def test_alarming_on_every_row_of_an_event_scores_as_alarming_once() -> None:
    data = _data([(0, 100, RESPONSE), (1, 120, 1)])
    once = np.zeros((2, N_ROWS))
    once[0, 100] = once[1, 120] = 1.0
    once[0, 60] = 1.0  # one false alarm
    every = once.copy()
    every[0, 100 : 100 + RESPONSE] = 1.0
    assert np.isclose(best_f1(once, data)[0], best_f1(every, data)[0])
    assert np.isclose(best_f1(once, data)[0], 2 * 1.0 * (2 / 3) / (1 + 2 / 3))


def test_a_missed_event_costs_recall() -> None:
    data = _data([(0, 100, 1), (1, 100, 1)])
    scores = np.zeros((2, N_ROWS))
    scores[0, 100] = 1.0
    scores[1, 100 + RESPONSE] = 1.0  # too late: outside the response span, a false run
    f1, _ = best_f1(scores, data)
    assert np.isclose(f1, 2 * 0.5 * 0.5 / 1.0)
