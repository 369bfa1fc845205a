"""Daily and weekly shapes of city activity, as functions of local hour and weekday.

Each returns values of order 0..1 for whole arrays of hours at once; the sensor models scale
and mix them.  They are smooth (sums of circular Gaussians) so that windows of any length see
a realistic, gradual rhythm rather than steps."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def bump(hour: FloatArray, centre: float | FloatArray, width: float) -> FloatArray:
    """A Gaussian bump around `centre` o'clock on the 24-hour circle, peak 1."""
    d = np.abs(hour - centre)
    d = np.minimum(d, 24.0 - d)
    result: FloatArray = np.exp(-0.5 * (d / width) ** 2)
    return result


def is_weekend(wday: IntArray) -> npt.NDArray[np.bool_]:
    return wday >= 5


def rush(hour: FloatArray, wday: IntArray) -> FloatArray:
    """Commuting: morning and evening peaks on weekdays, one broad midday hump at weekends."""
    weekday_shape = bump(hour, 8.0, 1.2) + 0.9 * bump(hour, 18.0, 1.5) + 0.35 * bump(hour, 13, 3)
    weekend_shape = 0.55 * bump(hour, 14.0, 3.5)
    return np.where(is_weekend(wday), weekend_shape, weekday_shape)


def daylight(hour: FloatArray) -> FloatArray:
    """Sun and temperature: lowest before dawn, highest mid-afternoon."""
    result: FloatArray = 0.5 * (1.0 + np.cos(2.0 * np.pi * (hour - 14.0) / 24.0))
    return result


def water_demand(hour: FloatArray, wday: IntArray) -> FloatArray:
    """Household water use: a morning peak (later at weekends) and an evening peak."""
    morning = np.where(is_weekend(wday), 9.0, 7.5)
    return 0.15 + 0.85 * bump(hour, morning, 1.5) + 0.75 * bump(hour, 20.0, 2.0)


def electricity(hour: FloatArray, wday: IntArray) -> FloatArray:
    """Residential transformer load: low at night, a lunch step, the evening peak."""
    base = 0.35 + 0.25 * bump(hour, 12.0, 2.5) + 0.6 * bump(hour, 20.0, 2.2)
    return np.where(is_weekend(wday), base * 1.05, base)


def activity(hour: FloatArray) -> FloatArray:
    """People awake and about: ~0 from midnight to 5, ~1 from 8 to 21."""
    rise = 1.0 / (1.0 + np.exp(-(hour - 6.5) * 1.6))
    fall = 1.0 / (1.0 + np.exp((hour - 22.5) * 1.6))
    result: FloatArray = rise * fall
    return result


def calls(hour: FloatArray, wday: IntArray) -> FloatArray:
    """12345 hotline and photo-report volume: office-hours peaks, a quiet night."""
    shape = 0.05 + bump(hour, 10.0, 1.8) + 0.9 * bump(hour, 15.0, 2.0) + 0.5 * bump(hour, 20, 1.5)
    return np.where(is_weekend(wday), 0.8 * shape, shape)


def footfall(hour: FloatArray, wday: IntArray) -> FloatArray:
    """Venue checks: follows people coming and going, opening hours 7 to 22."""
    return activity(hour) * (0.4 + rush(hour, wday))
