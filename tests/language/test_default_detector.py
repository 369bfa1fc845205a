"""The default detector: what an indicator without `detectors:` (or with `{type: default}`)
runs is exactly the ensemble NAB measures, minus the recurrence memory where windows are a
day or more apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citysigns.paths import CATALOG_DIR
from flows.city import load_city
from flows.plan import compile_plan
from flows.scoring import IndicatorScorer
from indicators.detectors import DEFAULT_DETECTOR, build
from indicators.detectors.ensemble import Ensemble
from indicators.language.detection import DefaultDetector, default_ensemble
from indicators.language.validate import load_catalog, load_catalog_or_raise
from indicators.testing.pipeline import world

INDICATOR = """\
indicators:
  - id: traffic.volume_default
    title: {{zh: 交通流量, en: Traffic volume}}
    category: traffic
    unit: veh
    owner: transport
    source: {{kind: traffic_flow}}
    value: {{field: intensity, aggregate: sum, window: {window}, levels: [district]}}
    detection:
{detectors}      warnings: {{on: score, levels: {{blue: {{threshold: 0.99, for: 0s}}}}}}
    dispatch: none
"""


def _indicator(tmp_path: Path, window: str, detectors: str = ""):
    path = tmp_path / "one.yaml"
    path.write_text(INDICATOR.format(window=window, detectors=detectors), encoding="utf-8")
    catalog, diags = load_catalog([path])
    assert not diags, [str(d) for d in diags]
    return next(iter(catalog.indicators.values()))


def test_left_out_detectors_are_the_default(tmp_path: Path) -> None:
    ind = _indicator(tmp_path, "{length: 15m}")
    assert ind.detection.detectors == [DefaultDetector(type="default")]
    assert ind.detection.concrete(900) == [DEFAULT_DETECTOR]


def test_written_default_sits_beside_other_detectors(tmp_path: Path) -> None:
    detectors = "      detectors: [{type: threshold, upper: 500}, {type: default}]\n"
    ind = _indicator(tmp_path, "{length: 15m}", detectors)
    threshold, default = ind.detection.concrete(900)
    assert threshold.type == "threshold"
    assert default == DEFAULT_DETECTOR


@pytest.mark.parametrize(
    ("window", "spacing", "recurrence"),
    [
        ("{length: 1h}", 3600, 7),
        ("{length: 1d}", 86400, None),
        ("{type: sliding, length: 1d, step: 1h}", 3600, 7),  # an hour apart: times of day vary
    ],
)
def test_recurrence_only_for_windows_under_a_day_apart(
    tmp_path: Path, window: str, spacing: int, recurrence: int | None
) -> None:
    ind = _indicator(tmp_path, window)
    (config,) = ind.detection.concrete(spacing)
    assert config.recurrence == recurrence
    # everything else is the NAB-measured default
    assert config.model_copy(update={"recurrence": 7}) == DEFAULT_DETECTOR
    assert default_ensemble(spacing) == config


def test_flow_scores_the_catalog_default_with_the_nab_ensemble() -> None:
    """traffic.volume names no detectors: the flow builds the default ensemble for it, and
    it scores a series exactly as the ensemble NAB runs does."""
    w = world()
    catalog = load_catalog_or_raise(sorted(Path(CATALOG_DIR).glob("*.yaml")))
    plan = compile_plan([catalog.indicators["traffic.volume"]], load_city(), w.registry)
    scorer = IndicatorScorer(plan.plans[0])
    assert scorer.names == "default"
    (det,) = scorer.detectors
    assert isinstance(det, Ensemble) and det.config == DEFAULT_DETECTOR

    series, t, v = _spiked_day_cycle()
    got = det.learn_score(series, t, v).score
    want = build(DEFAULT_DETECTOR).learn_score(series, t, v).score
    np.testing.assert_array_equal(got, want)
    assert got[2500] >= 0.99  # the spike is an alarm ...
    assert (got[2501:2521] == 0).all()  # ... and the next 20 windows rest


def test_default_inside_an_ensemble_is_spelt_out_too(tmp_path: Path) -> None:
    detectors = (
        "      detectors:\n        - {type: ensemble, members: [{type: default}, {type: ewma}]}\n"
    )
    ind = _indicator(tmp_path, "{length: 1d}", detectors)
    (outer,) = ind.detection.concrete(86400)
    inner, ewma = outer.members
    assert inner == default_ensemble(86400) and inner.recurrence is None
    assert ewma.type == "ewma"


def test_a_count_s_expected_band_does_not_go_below_zero() -> None:
    """A detector's band is a level plus and minus a spread, below 0 on a quiet series: a
    count of complaints was 'expected -0.12-0.24'.  Bands of counts, rates and distinct
    counts are clipped at 0."""
    from flows.windows.engine import ClosedWindows

    w = world()
    catalog = load_catalog_or_raise(sorted(Path(CATALOG_DIR).glob("*.yaml")))
    plan = compile_plan([catalog.indicators["hotline.noise_complaints"]], load_city(), w.registry)
    scorer = IndicatorScorer(plan.plans[0])
    rng = np.random.default_rng(3)
    lowers = []
    for k in range(24 * 7 * 5):  # five weeks of hourly counts, mostly 0, sometimes 1
        end = 1_700_000_000 + 3600 * (k + 1)
        counts = rng.binomial(1, 0.1, 3).astype(np.float64)
        closed = ClosedWindows("hotline.noise_complaints", "street", end - 3600, end,
                               np.arange(3), counts, counts.astype(np.int64))  # fmt: skip
        scored = scorer.score([closed])
        assert scored is not None
        lowers.append(scored.lower)
    lower = np.concatenate(lowers)
    assert np.isfinite(lower).any() and np.nanmin(lower) == 0.0


def test_an_ensemble_around_the_default_rests_as_it_does() -> None:
    """`check` refuses `for` longer than a window on a score that rests after each alarm,
    nested ensembles included (`alarm_rest`): the flow's own detectors agree that an
    ensemble with one member and neither likelihood nor novelty scores 0 while its member
    rests, and that with likelihood its score outlasts the alarm."""
    from indicators.language.detection import EnsembleDetector, EwmaDetector, alarm_rest

    outer = EnsembleDetector(type="ensemble", members=[DEFAULT_DETECTOR], refractory=0.5)
    smoothed = outer.model_copy(update={"likelihood": 100, "smoothing": 3, "refractory": 0.0})
    assert alarm_rest(DEFAULT_DETECTOR) == 20 and alarm_rest(outer) == 20
    assert alarm_rest(EnsembleDetector(type="ensemble", members=[outer])) == 20
    assert alarm_rest(smoothed) == 0
    assert alarm_rest(outer.model_copy(update={"novelty": 100})) == 0
    two = outer.model_copy(update={"members": [DEFAULT_DETECTOR, EwmaDetector(type="ewma")]})
    assert alarm_rest(two) == 0
    assert alarm_rest(EwmaDetector(type="ewma")) == 0

    series, t, v = _spiked_day_cycle()
    got = build(outer).learn_score(series, t, v).score
    alarms = np.flatnonzero(got >= 0.99)
    assert 2500 in alarms
    for a in alarms:  # every alarm is followed by 20 windows of nothing
        assert (got[a + 1 : a + 21] == 0).all()


def _spiked_day_cycle() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One series of 15-minute windows over a month: a day cycle, noise, a spike at row 2500."""
    rng = np.random.default_rng(5)
    n = 3000
    t = 1_700_000_000 + 900 * np.arange(n)
    v = 100 + 30 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 3, n)
    v[2500] += 80
    return np.zeros(n, dtype=np.int64), t, v
