"""The five levels of the city as numpy arrays: city -> district -> street -> grid -> community.

Everything downstream works on integer indices into these arrays (a batch of events carries a
community index; rolling it up to a street is one `take`), so the model is loaded once, cached,
and never consulted per event in Python.  Codes are hierarchical strings: district 6 digits
(GB/T 2260), street 9, grid 12, community 15; the ancestor at a level is a prefix of the code."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from .geo import from_plane, to_plane, uniform_in_discs

# Finest first, as in indicators.language.registry.AREA_LEVELS (which adds "sensor").
LEVELS: tuple[str, ...] = ("community", "grid", "street", "district", "city")
CODE_LENGTHS: dict[str, int] = {"community": 15, "grid": 12, "street": 9, "district": 6}
DEFAULT_MAX_KM = 5.0
# A scattered point stays within this fraction of the distance to the nearest other
# community, so it is provably nearer to its own community than to any other (< 0.5).
SCATTER_FRACTION = 0.45

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class LevelTable:
    """One level of the city: row i is area i of that level."""

    name: str
    code: StrArray  # sorted ascending
    name_zh: StrArray
    name_en: StrArray
    parent: IntArray  # index into the next coarser level; -1 for the city itself
    lat: FloatArray
    lon: FloatArray

    def __len__(self) -> int:
        return int(self.code.shape[0])

    def index_of(self, codes: npt.ArrayLike) -> IntArray:
        """Index of each code in this level, -1 where unknown (vectorised)."""
        q = np.asarray(codes).astype(str).ravel()
        if len(self) == 0 or q.size == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.code, q).astype(np.int64)
        pos[pos >= len(self)] = 0
        found = self.code[pos] == q
        return np.where(found, pos, -1)


@dataclass(frozen=True, eq=False)
class City:
    """The city model.  Build it with `load_city()` (cached) rather than directly."""

    levels: Mapping[str, LevelTable]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        missing = [lvl for lvl in LEVELS if lvl not in self.levels]
        if missing:
            raise ValueError(f"city model lacks levels {missing}; expected {list(LEVELS)}")

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_texts(cls, city: Mapping[str, Any], level_files: Mapping[str, str]) -> City:
        """Build from the city's own row (code, zh, en) and the CSV text of each level file."""
        from .generate import LEVEL_FILES

        raw = {
            lvl: _parse_level_csv(level_files[fname], fname) for lvl, fname in LEVEL_FILES.items()
        }
        d = raw["district"]
        tables: dict[str, LevelTable] = {
            "city": LevelTable(
                "city",
                np.array([str(city["code"])]),
                np.array([str(city["zh"])]),
                np.array([str(city["en"])]),
                np.array([-1], dtype=np.int64),
                np.array([float(np.mean(d["lat"]))]),
                np.array([float(np.mean(d["lon"]))]),
            )
        }
        coarser = "city"
        for lvl in ("district", "street", "grid", "community"):
            cols = raw[lvl]
            code = cols["code"]
            if np.any(code[1:] <= code[:-1]):
                raise ValueError(f"{LEVEL_FILES[lvl]}: codes must be unique and sorted")
            bad = np.char.str_len(code) != CODE_LENGTHS[lvl]
            if np.any(bad):
                raise ValueError(
                    f"{LEVEL_FILES[lvl]}: code {code[bad][0]!r} is not "
                    f"{CODE_LENGTHS[lvl]} digits long"
                )
            if lvl == "district":
                parent = np.zeros(code.shape[0], dtype=np.int64)
            else:
                parent_codes = np.array([c[:-3] for c in code.tolist()])
                parent = tables[coarser].index_of(parent_codes)
                if np.any(parent < 0):
                    orphan = code[parent < 0][0]
                    raise ValueError(f"{LEVEL_FILES[lvl]}: {orphan} has no parent {orphan[:-3]}")
            tables[lvl] = LevelTable(
                lvl, code, cols["name_zh"], cols["name_en"], parent, cols["lat"], cols["lon"]
            )
            coarser = lvl
        return cls(tables)

    # ----------------------------------------------------------------- levels and codes
    def level(self, name: str) -> LevelTable:
        try:
            return self.levels[name]
        except KeyError:
            raise ValueError(f"unknown area level {name!r}; one of {list(LEVELS)}") from None

    def __len__(self) -> int:
        return len(self.levels["community"])

    @staticmethod
    def level_of_code(code: str) -> str:
        """The level a code belongs to, by its length ("310000" is the city)."""
        if code == "310000":
            return "city"
        for lvl, n in CODE_LENGTHS.items():
            if len(code) == n and code.isdigit():
                return lvl
        raise ValueError(
            f"{code!r} is not an area code: districts have 6 digits, streets 9, grids 12, "
            "communities 15"
        )

    def find(self, code: str) -> tuple[str, int]:
        """(level, index) of an area code; ValueError if it does not exist."""
        lvl = self.level_of_code(code)
        idx = int(self.level(lvl).index_of([code])[0])
        if idx < 0:
            raise ValueError(f"no {lvl} with code {code!r} in the city model")
        return lvl, idx

    def index_of(self, level: str, codes: npt.ArrayLike) -> IntArray:
        return self.level(level).index_of(codes)

    # ----------------------------------------------------------------- hierarchy
    def ancestors(self, level: str, idx: npt.ArrayLike) -> dict[str, IntArray]:
        """For indices at `level`, their index at that level and every coarser one.

        -1 (unknown) stays -1 all the way up, so unplaced events roll up to nothing."""
        cur = np.asarray(idx, dtype=np.int64)
        start = LEVELS.index(self.level(level).name)
        out = {LEVELS[start]: cur}
        for lvl, coarser in zip(LEVELS[start:-1], LEVELS[start + 1 :], strict=True):
            parent = self.levels[lvl].parent
            safe = np.where(cur >= 0, cur, 0)
            cur = np.where(cur >= 0, parent[safe], -1)
            out[coarser] = cur
        return out

    def community_ancestors(self, level: str) -> IntArray:
        """Each community's index at `level` (cached per level)."""
        key = f"anc:{level}"
        if key not in self._cache:
            all_comms = np.arange(len(self), dtype=np.int64)
            self._cache[key] = self.ancestors("community", all_comms)[level]
        result: IntArray = self._cache[key]
        return result

    def descendants(self, level: str, idx: int, to_level: str = "community") -> IntArray:
        """Indices at `to_level` that lie inside area `idx` of `level`."""
        if LEVELS.index(to_level) > LEVELS.index(level):
            raise ValueError(f"{to_level} is coarser than {level}")
        if to_level == "community":
            return np.flatnonzero(self.community_ancestors(level) == idx)
        n = len(self.level(to_level))
        anc = self.ancestors(to_level, np.arange(n, dtype=np.int64))[level]
        return np.flatnonzero(anc == idx)

    def full_name(self, level: str, idx: int, lang: str = "zh") -> str:
        """The area's name with its ancestors below the city: 静安区南京西路街道第3网格 in
        Chinese, "Grid 3, Nanjing West Road, Jing'an" in English."""
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
        chain = self.ancestors(level, [idx])
        finest_first = [
            lvl for lvl in LEVELS[LEVELS.index(level) :] if lvl != "city" or level == "city"
        ]
        names = [
            str(getattr(self.levels[lvl], f"name_{lang}")[chain[lvl][0]]) for lvl in finest_first
        ]
        if lang == "en":
            return ", ".join(names)
        out = ""
        for name in reversed(names):  # 嘉定区 + 嘉定区第10街道: do not say the district twice
            out = name if name.startswith(out) else out + name
        return out

    # ----------------------------------------------------------------- geometry
    @cached_property
    def _tree(self) -> cKDTree:
        comm = self.levels["community"]
        return cKDTree(to_plane(comm.lat, comm.lon))

    @cached_property
    def community_spacing_km(self) -> FloatArray:
        """Distance from each community to its nearest other community."""
        comm = self.levels["community"]
        dist, _ = self._tree.query(to_plane(comm.lat, comm.lon), k=2)
        spacing: FloatArray = dist[:, 1]
        return spacing

    def locate(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, max_km: float = DEFAULT_MAX_KM
    ) -> IntArray:
        """Nearest community of each point; -1 for NaN, infinite or far-away points
        (more than `max_km` from every community: not in this city)."""
        xy = to_plane(lat, lon).reshape(-1, 2)
        ok = np.isfinite(xy).all(axis=1)
        out = np.full(xy.shape[0], -1, dtype=np.int64)
        if ok.any():
            dist, idx = self._tree.query(xy[ok], k=1, distance_upper_bound=max_km, workers=-1)
            out[ok] = np.where(np.isfinite(dist), idx, -1)
        return out.reshape(np.shape(lat))

    def scatter(
        self, community: npt.ArrayLike, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """A random point inside each given community, guaranteed to `locate` back to it.

        Points fall within SCATTER_FRACTION (< 1/2) of the distance to the nearest other
        community, so no other community can be nearer."""
        c = np.asarray(community, dtype=np.int64)
        comm = self.levels["community"]
        radius = SCATTER_FRACTION * self.community_spacing_km[c]
        xy = to_plane(comm.lat[c], comm.lon[c]) + uniform_in_discs(radius, rng)
        return from_plane(xy)


def _parse_level_csv(text: str, fname: str) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    from .generate import COLUMNS

    if header is None or tuple(header) != COLUMNS:
        raise ValueError(f"{fname}: header must be {','.join(COLUMNS)}, got {header}")
    rows = list(reader)
    for n, row in enumerate(rows, start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"{fname}:{n}: expected {len(COLUMNS)} columns, got {len(row)}")
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    try:
        lat = np.array(cols[3], dtype=np.float64)
        lon = np.array(cols[4], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{fname}: lat/lon must be numbers ({exc})") from None
    return {
        "code": np.array(cols[0], dtype=str),
        "name_zh": np.array(cols[1], dtype=str),
        "name_en": np.array(cols[2], dtype=str),
        "lat": lat,
        "lon": lon,
    }


@cache
def load_city() -> City:
    """The Shanghai model shipped with the package (loaded once per process)."""
    from .generate import LEVEL_FILES, read_source

    pkg = resources.files("flows.city")
    texts = {fname: pkg.joinpath(fname).read_text("utf-8") for fname in LEVEL_FILES.values()}
    return City.from_texts(read_source()["city"], texts)
