"""The static threshold's approach zone: a tenth of the limit, whatever the unit."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.detectors import SeriesLevels, build
from indicators.language.detection import ThresholdDetector


def _scores(values: list[float], **limits: float) -> np.ndarray:
    det = build(ThresholdDetector(type="threshold", **limits))
    n = len(values)
    out = det.learn_score(np.arange(n), np.full(n, 3600, dtype=np.int64), np.array(values))
    return np.asarray(out.score)


def test_a_small_limit_has_a_small_approach_zone() -> None:
    """0.34 MPa is far from the 0.14 MPa minimum: a zone of at least 1 unit scored it 0.72,
    and the water-pressure warning it held never cleared."""
    s = _scores([0.34, 0.16, 0.147, 0.14, 0.13], lower=0.14)
    assert s[0] == 0.0 and s[1] == 0.0  # beyond the zone (0.14-0.154)
    assert s[2] == pytest.approx(0.9 * (1 - 0.007 / 0.014))
    assert s[3] == pytest.approx(0.9)
    assert s[4] == 1.0


def test_the_zone_is_a_tenth_of_the_limit() -> None:
    s = _scores([60.0, 67.0, 72.5, 75.0, 76.0], upper=75)
    assert s[:2].tolist() == [0.0, 0.0]
    assert s[2] == pytest.approx(0.9 * (1 - 2.5 / 7.5))
    assert s[3] == pytest.approx(0.9) and s[4] == 1.0


def test_a_limit_of_zero_has_no_zone() -> None:
    assert _scores([-0.5, 0.0, 0.5], upper=0).tolist() == [0.0, 0.0, 1.0]


def test_a_limit_per_area_level_is_looked_up_by_each_series_level() -> None:
    """Series 0 and 2 are streets (limit 5), series 1 a district (15): 8 orders are past the
    street's limit and far short of the district's; without the levels it cannot be built."""
    config = ThresholdDetector.model_validate(
        {"type": "threshold", "upper": {"street": 5, "district": 15}, "lower": 0}
    )
    levels = SeriesLevels(["street", "district"])
    levels.index = np.array([0, 1, 0])
    det = build(config, levels)
    out = det.learn_score(np.arange(3), np.full(3, 3600, dtype=np.int64), np.array([8.0, 8, 4.8]))
    assert out.upper.tolist() == [5.0, 15.0, 5.0] and out.lower.tolist() == [0.0, 0.0, 0.0]
    assert out.score[0] == 1.0 and out.score[1] == 0.0
    assert out.score[2] == pytest.approx(0.9 * (1 - 0.2 / 0.5))  # the street's zone: 4.5-5
    with pytest.raises(ValueError, match="area level of each series"):
        build(config)
