"""The ensemble's stages (likelihood, novelty, recurrence, refractory, dead time, fatigue),
beyond the contract suite.

The contract suite checks what every detector owes its caller; these tests pin down why the
default ensemble is built the way it is: surprise must keep its order far beyond a tail of
1e-16 (one corpus-wide threshold is chosen among such rows), a visit to a value range the
series has never been in must weigh more than a return to a familiar one, and the novelty
histogram's warm-up must survive a snapshot."""

from __future__ import annotations

import numpy as np
import pytest

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


HALF_HOUR = 1800
DAY_ROWS = 48


def daily_stream(n_days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One series of half-hourly noise around 100, starting at midnight UTC."""
    rng = np.random.default_rng(seed)
    n = n_days * DAY_ROWS
    return rng.normal(100.0, 1.0, (1, n)), np.arange(n) * HALF_HOUR


def test_recurrence_excuses_a_daily_routine_but_not_a_new_time_or_height() -> None:
    """A spike to 110 at 03:00 every day from day 4: surprising every time to the EWMA (the
    likelihood stage gets used to it only in part), a routine to the recurrence memory from
    its third occurrence on.  The same spike at 15:00, or to 130 at 03:00, is still news."""
    plain = EnsembleDetector(
        type="ensemble", members=[EwmaDetector(type="ewma", halflife=64)], likelihood=150
    )
    daily = plain.model_copy(update={"recurrence": 7})
    values, t = daily_stream(12, seed=21)
    at_three = [d * DAY_ROWS + 6 for d in range(4, 12)]
    values[0, at_three] = 110.0
    values[0, 10 * DAY_ROWS + 30] = 110.0  # day 10, 15:00
    values[0, 11 * DAY_ROWS + 6] = 130.0  # day 11, 03:00: 30 above the level, not 10
    s_plain = feed(plain, values, t)[0]
    s_daily = feed(daily, values, t)[0]
    assert (s_plain[at_three] > 0.4).all(), s_plain[at_three]
    # days 4 and 5: not yet seen on two earlier days
    assert (s_daily[at_three[:2]] == s_plain[at_three[:2]]).all()
    # from day 6 on: excused (0), or left as they were when below a quarter of an alarm's
    # surprise (a score under 1 - 10^(-0.5) = 0.68), which is never looked up
    routine = s_daily[at_three[2:-1]]
    assert ((routine == 0.0) | ((routine == s_plain[at_three[2:-1]]) & (routine < 0.69))).all()
    assert (routine == 0.0).sum() >= 3, s_daily[at_three]
    other_time = 10 * DAY_ROWS + 30
    assert s_daily[other_time] == s_plain[other_time] > 0.5, "15:00 is not the routine's time"
    assert s_daily[at_three[-1]] == s_plain[at_three[-1]] > 0.99, "nor is 30 its height"


def test_dead_time_lets_one_event_alarm_once() -> None:
    plain = EnsembleDetector(
        type="ensemble", members=[EwmaDetector(type="ewma", halflife=64)], likelihood=150
    )
    dead = plain.model_copy(update={"dead_time": 20})
    values, t = noise_stream(1, 400, seed=8)
    values[0, [300, 305, 330]] += [8.0, 9.0, 14.0]
    s_plain = feed(plain, values, t)[0]
    s_dead = feed(dead, values, t)[0]
    assert (s_plain[[300, 305, 330]] > 0.99).all(), s_plain[[300, 305, 330]]
    assert s_dead[300] == s_plain[300]
    assert (s_dead[301:321] == 0.0).all(), "rows within 20 windows of an alarm raise nothing"
    assert s_dead[330] > 0.99


def test_fatigue_asks_more_of_a_series_that_alarms_often() -> None:
    """Fatigue is the last stage, so with and without it the surprise before it is the same:
    each row's surprise must be divided by exactly sqrt(1 + the decayed count of the series'
    earlier alarms), where an alarm is a row of at least 40 digits (a score of 0.99)."""
    plain = EnsembleDetector(
        type="ensemble", members=[EwmaDetector(type="ewma", halflife=64)], likelihood=150
    )
    tired = plain.model_copy(update={"fatigue": 2000})
    values, t = noise_stream(1, 2400, seed=4)
    spikes = np.arange(300, 2400, 200)
    values[0, spikes] += 12.0
    s_plain = surprise(feed(plain, values, t)[0])
    s_tired = surprise(feed(tired, values, t)[0])
    assert (s_plain[spikes] >= 2 * SCORE_COMPRESSION).sum() >= 8, s_plain[spikes]
    decay = 0.5 ** (1 / 2000)
    count, expected = 0.0, np.empty_like(s_plain)
    for i, s in enumerate(s_plain):
        count *= decay
        expected[i] = s / np.sqrt(1.0 + count)
        count += s >= 2 * SCORE_COMPRESSION
    np.testing.assert_allclose(s_tired, expected, rtol=1e-6, atol=1e-9)
    assert s_tired[spikes[-1]] < 0.5 * s_plain[spikes[-1]], "after 8+ alarms: under half"


def test_a_member_that_wakes_late_raises_no_storm() -> None:
    """Hourly windows: the week profile needs three samples per hour of the week, so it
    starts scoring three weeks in (row 504), long after the other members.  Judged at once
    against a history of its warm-up's zeros, its first surprises alarmed on one series in
    eight (27 alarms over these 200 series); judged after 75 warm rows, on none or one."""
    n_series, n_rows = 200, 700
    rng = np.random.default_rng(11)
    i = np.arange(n_rows)
    cycle = 50.0 + 10.0 * np.sin(2 * np.pi * i / 24)
    values = cycle[None, :] + rng.normal(0, 1, (n_series, n_rows))
    scores = feed(DEFAULT_DETECTOR, values, 1_700_006_400 + i * HOUR)
    wake = scores[:, 500:600]
    assert (wake >= 0.99).any(axis=1).sum() <= 2, "at most 1% of series alarm as it wakes"
    assert (scores[:, 100:500] >= 0.99).any(axis=1).sum() <= 2  # nor before


def test_a_sensor_back_from_a_long_silence_raises_no_storm() -> None:
    """Six silent weeks (NaN windows) in the middle of 200 plain series.  Silent rows used to
    feed the likelihood stage's history a surprise of 0, shrinking its scale to the floor,
    and the first ordinary values back alarmed on 17-20 of the series; silent rows now leave
    the history alone."""
    n_series, n_rows = 200, 2000
    rng = np.random.default_rng(11)
    i = np.arange(n_rows)
    cycle = 50.0 + 10.0 * np.sin(2 * np.pi * i / 24)
    values = cycle[None, :] + rng.normal(0, 1, (n_series, n_rows))
    values[:, 600:1600] = np.nan
    scores = feed(DEFAULT_DETECTOR, values, 1_700_006_400 + i * HOUR)
    assert (scores[:, 600:1600] == 0).all(), "silent windows score 0"
    back = scores[:, 1600:1800]
    assert (back >= 0.99).any(axis=1).sum() <= 2, "at most 1% of series alarm on return"


def test_a_snapshot_from_before_the_warm_row_count_resumes() -> None:
    """Recovery state written before members' warm rows were counted (no `lik_ready`) is
    restored, counting every earlier row as warm as that version did; state of another
    configuration is still refused."""
    values, t = noise_stream(20, 300, seed=4)
    series = np.tile(np.arange(20), 200)
    det = build(DEFAULT_DETECTOR)
    det.learn_score(series, np.repeat(t[:200], 20), values[:, :200].T.ravel())
    snap = det.snapshot()
    older = {k: v for k, v in snap.items() if k != "lik_ready"}
    resumed = build(DEFAULT_DETECTOR)
    resumed.restore(older)
    np.testing.assert_array_equal(resumed.snapshot()["lik_ready"], snap["lik_count"])
    out = resumed.learn_score(series[:2000], np.repeat(t[200:300], 20), values[:, 200:].T.ravel())
    assert np.isfinite(out.score).all()
    foreign = {k: v for k, v in older.items() if k != "lik_count"}
    with pytest.raises(ValueError, match="lik_count"):
        build(DEFAULT_DETECTOR).restore(foreign)
