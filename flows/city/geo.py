"""A flat kilometre plane over Shanghai, and even spreading of points in a disc.

Nearest-community search and "scatter a point inside its community" both need distances.  The
city spans about 1.3 degrees of latitude, so an equirectangular projection around a fixed
centre is accurate to well under 1% there; we use it everywhere so that the generator, `locate`
and `scatter` agree exactly on which community is nearest."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

LAT0 = 31.2
LON0 = 121.45
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320 * math.cos(math.radians(LAT0))
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

FloatArray = npt.NDArray[np.float64]


def to_plane(lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """(n, 2) kilometres east/north of the plane's origin."""
    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    return np.stack(((lo - LON0) * KM_PER_DEG_LON, (la - LAT0) * KM_PER_DEG_LAT), axis=-1)


def from_plane(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of `to_plane`: (lat, lon) arrays."""
    lat = xy[..., 1] / KM_PER_DEG_LAT + LAT0
    lon = xy[..., 0] / KM_PER_DEG_LON + LON0
    return lat, lon


def spread_in_disc(n: int, radius_km: float, rng: np.random.Generator) -> FloatArray:
    """n points spread evenly over a disc (a Vogel sunflower spiral, randomly turned and
    slightly jittered), as (n, 2) km offsets from its centre.

    Random points would leave some areas empty and crowd others; the spiral gives every point
    about the same share of the disc, which is what streets in a district look like."""
    i = np.arange(n, dtype=np.float64)
    r = radius_km * np.sqrt((i + 0.5) / n)
    theta = i * GOLDEN_ANGLE + rng.uniform(0.0, 2.0 * math.pi)
    pts = np.stack((r * np.cos(theta), r * np.sin(theta)), axis=-1)
    spacing = radius_km * math.sqrt(math.pi / n)
    jitter_r = 0.2 * spacing * np.sqrt(rng.uniform(0.0, 1.0, n))
    jitter_t = rng.uniform(0.0, 2.0 * math.pi, n)
    pts[:, 0] += jitter_r * np.cos(jitter_t)
    pts[:, 1] += jitter_r * np.sin(jitter_t)
    return pts


def uniform_in_discs(radius_km: FloatArray, rng: np.random.Generator) -> FloatArray:
    """One uniform random point inside each disc of the given radii, as (n, 2) km offsets."""
    r = radius_km * np.sqrt(rng.uniform(0.0, 1.0, radius_km.shape[0]))
    t = rng.uniform(0.0, 2.0 * math.pi, radius_km.shape[0])
    return np.stack((r * np.cos(t), r * np.sin(t)), axis=-1)


def push_apart(xy: FloatArray, min_km: float, rounds: int = 20) -> FloatArray:
    """Move points that are closer than `min_km` apart until none are (or `rounds` run out).

    Generated discs of neighbouring districts overlap, which can put two communities a few
    metres apart; real community centres are hundreds of metres apart.  Each round moves both
    points of every too-close pair half the shortfall away from each other."""
    from scipy.spatial import cKDTree

    out = xy.copy()
    for _ in range(rounds):
        pairs = cKDTree(out).query_pairs(min_km, output_type="ndarray")
        if pairs.shape[0] == 0:
            break
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        delta = out[pairs[:, 1]] - out[pairs[:, 0]]
        dist = np.hypot(delta[:, 0], delta[:, 1])
        # coincident points: push along a fixed direction that depends on the pair
        angle = (pairs[:, 0] * GOLDEN_ANGLE) % (2 * math.pi)
        unit = np.where(
            (dist > 1e-9)[:, None],
            delta / np.maximum(dist, 1e-9)[:, None],
            np.stack((np.cos(angle), np.sin(angle)), axis=-1),
        )
        step = 0.5 * (min_km - dist)[:, None] * unit * 1.01
        move = np.zeros_like(out)
        np.add.at(move, pairs[:, 1], step)
        np.add.at(move, pairs[:, 0], -step)
        out += move
    return out
