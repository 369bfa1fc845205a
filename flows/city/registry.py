"""The sensor registry: sensor id -> kind, community (and through it grid, street, district),
position.

Ids look like "AQ-310106-000123": a two-letter kind prefix, the district code and a serial
number within (kind, district).  The registry is a set of numpy columns; `generate_registry`
builds one of any size in a few vectorised passes (10^7 sensors in seconds, see
flows/city/benchmark.py), and `lookup` maps a batch of ids to rows with one binary search."""

from __future__ import annotations

import csv
import io
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from indicators.language import registry as lang_registry

from .ids import BytesArray, DuplicateIdError, IdIndex, IntArray
from .model import DEFAULT_MAX_KM, City, FloatArray, load_city

# Two letters per sensor kind; ids sort by prefix first, so the order of this table is free.
SENSOR_KIND_PREFIX: dict[str, str] = {
    "air_quality": "AQ",
    "water_supply": "WS",
    "water_quality": "WQ",
    "traffic_flow": "TF",
    "flood": "FL",
    "power": "PW",
    "gas": "GS",
    "noise": "NS",
    "elevator": "EL",
    "manhole": "MH",
}
# A plausible mix for a city's monitoring network: many traffic detectors and air stations,
# transformers, elevators and pressure gauges; fewer gas and water-quality analysers.
DEFAULT_MIX: dict[str, float] = {
    "traffic_flow": 0.22,
    "air_quality": 0.15,
    "power": 0.12,
    "water_supply": 0.10,
    "elevator": 0.10,
    "noise": 0.08,
    "flood": 0.08,
    "manhole": 0.07,
    "water_quality": 0.04,
    "gas": 0.04,
}
MIN_SERIAL_DIGITS = 6
CSV_COLUMNS = ("sensor_id", "kind", "community", "lat", "lon")

Int8Array = npt.NDArray[np.int8]
Int32Array = npt.NDArray[np.int32]
EARTH_RADIUS_KM = 6371.0


def sensor_kinds() -> tuple[str, ...]:
    """Every sensor kind (not the citizen channels), in sensor_kinds.yaml order.  A registry's
    kind column indexes this tuple, so kind numbers mean the same in every registry."""
    return tuple(name for name, spec in lang_registry.kinds().items() if not spec.channel)


def city_fingerprint(city: City) -> str:
    """Identifies the community list a registry's indices refer to."""
    codes = city.level("community").code
    return f"{codes.shape[0]}:{zlib.crc32(chr(10).join(codes.tolist()).encode()):08x}"


@dataclass(frozen=True, eq=False)
class SensorRegistry:
    """Columns, one row per sensor.  `kind` indexes `kinds`; `community` indexes the city's
    community level (see City.ancestors for grid/street/district)."""

    kinds: tuple[str, ...]
    sensor_id: BytesArray
    kind: Int8Array
    community: Int32Array
    lat: FloatArray
    lon: FloatArray
    city_fingerprint: str

    def __post_init__(self) -> None:
        if self.sensor_id.dtype.kind != "S":
            raise TypeError(f"sensor_id must be a numpy bytes array, not {self.sensor_id.dtype}")
        n = self.sensor_id.shape[0]
        for name in ("kind", "community", "lat", "lon"):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"registry column {name!r} has shape "
                    f"{getattr(self, name).shape}, expected ({n},)"
                )
        if n and (self.kind.min() < 0 or self.kind.max() >= len(self.kinds)):
            raise ValueError("registry kind column points outside its kinds")

    def __len__(self) -> int:
        return int(self.sensor_id.shape[0])

    @cached_property
    def _index(self) -> IdIndex:
        width = self.sensor_id.dtype.itemsize
        pattern = "AA-DDDDDD-" + "D" * (width - 10) if width > 10 else None
        return IdIndex(self.sensor_id, pattern)

    def lookup(self, ids: npt.ArrayLike) -> IntArray:
        """Row of each sensor id (str or bytes, list or array); -1 for unknown ids."""
        return self._index.lookup(ids)

    def ids(self, rows: npt.ArrayLike | None = None) -> list[str]:
        sel = self.sensor_id if rows is None else self.sensor_id[np.asarray(rows)]
        return [b.decode("ascii") for b in sel.tolist()]

    def locator(self, city: City) -> Callable[[str], str | None]:
        """The community code a sensor id sits in (None for an unknown id): the ticket
        service's `locate`, which cannot place a sensor by the digits of its id alone."""
        communities = city.level("community").code

        def locate(sensor_id: str) -> str | None:
            row = int(self.lookup(np.array([sensor_id]))[0])
            return None if row < 0 else str(communities[self.community[row]])

        return locate

    def kind_rows(self, kind: str) -> IntArray:
        """Rows of the sensors of one kind."""
        if kind not in self.kinds:
            raise ValueError(
                f"unknown sensor kind {kind!r}{lang_registry.did_you_mean(kind, self.kinds)}"
            )
        return np.flatnonzero(self.kind == self.kinds.index(kind))

    def area(self, city: City, level: str) -> IntArray:
        """Each sensor's area index at `level` (community, grid, street, district, city)."""
        return city.community_ancestors(level)[self.community]

    def subset(self, rows: npt.ArrayLike) -> SensorRegistry:
        """A registry of the given rows (indices or boolean mask), in their original order."""
        sel = np.asarray(rows)
        if sel.dtype != bool:
            sel = np.sort(sel)
        return SensorRegistry(
            self.kinds,
            self.sensor_id[sel],
            self.kind[sel],
            self.community[sel],
            self.lat[sel],
            self.lon[sel],
            self.city_fingerprint,
        )

    # ----------------------------------------------------------------- files
    def save(self, path: str | Path, compressed: bool = False) -> None:
        """An .npz file.  Uncompressed by default: 10^7 sensors save and load in well under a
        second (370 MB); `compressed=True` is 2.5x smaller and about 20x slower to write."""
        columns = {
            "sensor_id": self.sensor_id,
            "kind": self.kind,
            "community": self.community,
            "lat": self.lat,
            "lon": self.lon,
            "kinds": np.array(self.kinds),
            "city_fingerprint": np.array(self.city_fingerprint),
        }
        if compressed:
            np.savez_compressed(path, **columns)  # type: ignore[arg-type]
        else:
            np.savez(path, **columns)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path, city: City | None = None) -> SensorRegistry:
        """Load a registry saved by `save`; with `city`, check it was made for that model."""
        with np.load(path, allow_pickle=False) as npz:
            missing = {
                "sensor_id",
                "kind",
                "community",
                "lat",
                "lon",
                "kinds",
                "city_fingerprint",
            } - set(npz.files)
            if missing:
                raise ValueError(f"{path}: not a sensor registry (missing {sorted(missing)})")
            reg = cls(
                tuple(str(k) for k in npz["kinds"].tolist()),
                npz["sensor_id"],
                npz["kind"].astype(np.int8),
                npz["community"].astype(np.int32),
                npz["lat"].astype(np.float64),
                npz["lon"].astype(np.float64),
                str(npz["city_fingerprint"]),
            )
        if city is not None:
            _check_city(reg, city, str(path))
        return reg

    def to_csv_text(self, city: City) -> str:
        """CSV with the community's code (not its index), readable by people and other tools."""
        _check_city(self, city, "registry")
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(CSV_COLUMNS)
        codes = city.level("community").code[self.community]
        kind_names = np.array(self.kinds)[self.kind]
        for row in zip(
            self.ids(),
            kind_names.tolist(),
            codes.tolist(),
            self.lat.tolist(),
            self.lon.tolist(),
            strict=True,
        ):
            out.writerow((row[0], row[1], row[2], f"{row[3]:.7f}", f"{row[4]:.7f}"))
        return buf.getvalue()

    @classmethod
    def from_csv_text(cls, text: str, city: City, source: str = "csv") -> SensorRegistry:
        """Parse `to_csv_text`'s format, or raise RegistryError with everything wrong in it.

        Every line is checked before anything is refused, so that an operator fixing a file
        sees all its errors in one run (the first MAX_REPORTED_ERRORS, and how many)."""
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(header) != CSV_COLUMNS:
            raise RegistryError(
                source,
                [
                    f"{source}:1: the header is {','.join(header or []) or 'missing'}; "
                    f"write {','.join(CSV_COLUMNS)} as the first line"
                ],
            )
        errors = _ErrorList(source)
        kinds = sensor_kinds()
        rows: list[list[str]] = []
        lines: list[int] = []
        for n, row in enumerate(reader, start=2):
            if len(row) != len(CSV_COLUMNS):
                if row:  # a blank line is no sensor, and no error
                    errors.add(
                        n,
                        0,
                        f"{len(row)} column(s), not {len(CSV_COLUMNS)}; write "
                        f"{','.join(CSV_COLUMNS)} (quote a value that holds a comma)",
                    )
                continue
            if not (row[0].isascii() and row[0].isprintable() and 0 < len(row[0]) <= 64):
                errors.add(
                    n,
                    0,
                    f"sensor id {row[0]!r} is not 1-64 printable ASCII characters; "
                    "write an id such as AQ-310101-000001",
                )
            if row[1] not in kinds:
                errors.add(
                    n,
                    1,
                    f"unknown sensor kind {row[1]!r}{lang_registry.did_you_mean(row[1], kinds)}"
                    f"; write one of {', '.join(kinds)}",
                )
            rows.append(row)
            lines.append(n)
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in CSV_COLUMNS]
        line = np.array(lines, dtype=np.int64)
        community = city.index_of("community", np.array(cols[2], dtype=str))
        for i in np.flatnonzero(community < 0).tolist():
            errors.add(
                lines[i],
                2,
                f"unknown community code {cols[2][i]!r}; write the 15-digit code of a "
                "community of the city model (flows/city/communities.csv)",
            )
        lat = _coordinates(cols[3], line, "latitude", 3, errors)
        lon = _coordinates(cols[4], line, "longitude", 4, errors)
        _out_of_range(cols, line, lat, lon, errors)
        _far_from_community(cols, line, community, lat, lon, city, errors)
        try:
            sensor_id = np.array(cols[0], dtype="S")
        except UnicodeEncodeError:  # refused above; escaped, so that repeats are still found
            sensor_id = np.array(
                [sid.encode("ascii", "backslashreplace") for sid in cols[0]], dtype="S"
            )
        _duplicates(sensor_id, line, errors)
        errors.raise_if_any()
        kind_index = {k: i for i, k in enumerate(kinds)}
        return cls(
            kinds,
            sensor_id,
            np.array([kind_index[k] for k in cols[1]], dtype=np.int8),
            community.astype(np.int32),
            lat,
            lon,
            city_fingerprint(city),
        )


MAX_REPORTED_ERRORS = 50
"""A registry file's errors are listed up to this many (and counted beyond): enough to fix a
file in a few passes, few enough to read; a file with thousands is mostly in a wrong format."""


class RegistryError(ValueError):
    """Everything wrong with a registry file: each error as `file:line: what is wrong; what to
    write`, in line order (the first MAX_REPORTED_ERRORS), and how many there are in all.

    A ValueError, as every registry error was before: callers that print `str(e)` print every
    error and the summary line, one per line."""

    def __init__(self, source: str, errors: Sequence[str], total: int | None = None) -> None:
        self.source = source
        self.errors = tuple(errors[:MAX_REPORTED_ERRORS])
        self.total = len(errors) if total is None else total
        super().__init__("\n".join((*self.errors, self.summary)))

    @property
    def summary(self) -> str:
        """The line after the errors: how many, how many shown, and that nothing was loaded."""
        shown = f", the first {len(self.errors)} shown" if self.total > len(self.errors) else ""
        errors = "1 error" if self.total == 1 else f"{self.total:,} errors"
        return f"{self.source}: {errors}{shown}; the registry was not loaded"


class _ErrorList:
    """Errors of one file as they are found, in any order; `raise_if_any` reports them in line
    order.  Only the first MAX_REPORTED_ERRORS of each column are kept (the first of the file
    are among them) and the rest counted, so a file wrong on every line costs no memory."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.kept: dict[int, list[tuple[int, int, str]]] = {}
        self.total = 0

    def add(self, line: int, column: int, message: str) -> None:
        self.total += 1
        kept = self.kept.setdefault(column, [])
        if len(kept) < MAX_REPORTED_ERRORS:
            kept.append((line, column, message))

    def raise_if_any(self) -> None:
        if self.total:
            found = sorted(e for kept in self.kept.values() for e in kept)
            messages = [f"{self.source}:{line}: {msg}" for line, _, msg in found]
            raise RegistryError(self.source, messages, self.total)


def _coordinates(
    texts: Sequence[str], line: IntArray, name: str, column: int, errors: _ErrorList
) -> FloatArray:
    """One coordinate column as numbers; a word, NaN or infinity is an error (and NaN in the
    column, which is never used: the file is refused)."""
    try:
        values = np.array(texts, dtype=np.float64)
    except ValueError:  # some are not numbers: find which, one by one
        values = np.array([_number(t) for t in texts], dtype=np.float64)
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        errors.add(
            int(line[i]),
            column,
            f"{name} {texts[i]!r} is not a number; write decimal degrees (WGS84), "
            "such as 31.2304 for a latitude, 121.4737 for a longitude",
        )
    return values


def _out_of_range(
    cols: Sequence[Sequence[str]],
    line: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    errors: _ErrorList,
) -> None:
    """An error for each latitude outside -90..90 and longitude outside -180..180; a latitude
    that would do as the longitude and the other way round (Shanghai's 121,31) is said to be
    swapped."""
    swapped = (np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    for i in np.flatnonzero(swapped).tolist():
        errors.add(
            int(line[i]),
            3,
            f"latitude {cols[3][i]} is outside -90..90, and latitude and longitude look "
            f"swapped; write {cols[4][i]},{cols[3][i]} (latitude first)",
        )
    for i in np.flatnonzero((np.abs(lat) > 90) & ~swapped).tolist():
        errors.add(
            int(line[i]),
            3,
            f"latitude {cols[3][i]} is outside -90..90; write the sensor's latitude in decimal "
            "degrees (WGS84)",
        )
    for i in np.flatnonzero((np.abs(lon) > 180) & ~swapped).tolist():
        errors.add(
            int(line[i]),
            4,
            f"longitude {cols[4][i]} is outside -180..180; write the sensor's longitude in "
            "decimal degrees (WGS84)",
        )


MAX_KM_FROM_COMMUNITY = DEFAULT_MAX_KM
"""How far a sensor may stand from its community's centre in the city model.

The model's communities are points (a centre each, no boundary), 0.08 to 1.9 km from their
nearest neighbour, so a sensor in a community is well under a kilometre from its centre in
the model; but the geometry is generated (a district is a disc of its real area, its
communities spread evenly inside), so a surveyed position may lie a few kilometres from where
the model puts its community.  5 km is the distance beyond which `City.locate` says a point is
in no community of the city (how a hotline order's position is placed): a sensor farther than
that from its own community is elsewhere in the city or not in it, a typo, swapped columns or
a wrong community code, and the registry would place its readings somewhere it is not."""


def _far_from_community(
    cols: Sequence[Sequence[str]],
    line: IntArray,
    community: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    city: City,
    errors: _ErrorList,
) -> None:
    """An error for each sensor farther than MAX_KM_FROM_COMMUNITY from its community's
    centre, saying how far, from which community, and what to write instead: the two
    coordinates swapped, when that puts it in its community; else the nearest community, when
    the position is in the city; else the city's extent."""
    comm = city.level("community")
    rows = np.flatnonzero(
        (community >= 0)
        & np.isfinite(lat)
        & np.isfinite(lon)
        & (np.abs(lat) <= 90)
        & (np.abs(lon) <= 180)
    )
    c = community[rows]
    dist = _great_circle_km(lat[rows], lon[rows], comm.lat[c], comm.lon[c])
    far = dist > MAX_KM_FROM_COMMUNITY
    if not far.any():
        return
    rows, c, dist = rows[far], c[far], dist[far]
    nearest = city.locate(lat[rows], lon[rows])
    swapped = (np.abs(lon[rows]) <= 90) & (
        _great_circle_km(lon[rows], lat[rows], comm.lat[c], comm.lon[c]) <= MAX_KM_FROM_COMMUNITY
    )
    for k, row in enumerate(rows.tolist()):
        la, lo = cols[3][row], cols[4][row]
        if swapped[k]:
            what = f"latitude and longitude look swapped; write {lo},{la}"
        elif nearest[k] >= 0:
            near = int(nearest[k])
            d = float(_great_circle_km(lat[row], lon[row], comm.lat[near], comm.lon[near]))
            what = (
                f"write the code of the community it stands in (the nearest is {comm.code[near]}"
                f", {city.full_name('community', near, 'en')}, {_km(d)} away), or the "
                "sensor's own position"
            )
        else:
            what = (
                f"the position is in no community of the city model (more than "
                f"{DEFAULT_MAX_KM:g} km from all); write the sensor's own position in decimal "
                "degrees (WGS84): the "
                f"communities lie within latitude {comm.lat.min():.2f}..{comm.lat.max():.2f}, "
                f"longitude {comm.lon.min():.2f}..{comm.lon.max():.2f}"
            )
        i = int(c[k])
        errors.add(
            int(line[row]),
            3,
            f"{la},{lo} is {_km(float(dist[k]))} from the centre of its community "
            f"{comm.code[i]} ({city.full_name('community', i, 'en')}) at "
            f"{comm.lat[i]:.5f},{comm.lon[i]:.5f}, more than the {MAX_KM_FROM_COMMUNITY:g} km "
            f"a sensor may stand from it; {what}",
        )


def _great_circle_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Haversine distance: right for a position typed anywhere on Earth, where the city's flat
    plane (geo.to_plane) is right only near Shanghai."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    km: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return km


def _km(d: float) -> str:
    return f"{d:.1f} km" if d < 10 else f"{d:,.0f} km"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _duplicates(sensor_id: BytesArray, line: IntArray, errors: _ErrorList) -> None:
    """An error for each line that repeats an earlier line's sensor id: the flow keeps one
    state per sensor, so which line it should use would be a guess."""
    if sensor_id.size < 2:
        return
    order = np.argsort(sensor_id, kind="stable")
    ids = sensor_id[order]
    again = np.flatnonzero(ids[1:] == ids[:-1]) + 1  # positions in `order` repeating the last
    if again.size == 0:
        return
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    first = order[starts[np.searchsorted(starts, again, side="right") - 1]]
    for row, first_row in zip(order[again].tolist(), first.tolist(), strict=True):
        errors.add(
            int(line[row]),
            0,
            f"sensor id {sensor_id[row].decode('ascii', 'replace')!r} is already on line "
            f"{int(line[first_row])}; list each sensor once (delete this line or give it its "
            "own id)",
        )


def _check_city(reg: SensorRegistry, city: City, source: str) -> None:
    if reg.city_fingerprint != city_fingerprint(city):
        raise ValueError(
            f"{source}: the registry was generated for a different city model "
            f"({reg.city_fingerprint} != {city_fingerprint(city)}); regenerate it"
        )


def _mix(kinds: Mapping[str, float] | Sequence[str] | None) -> dict[str, float]:
    if kinds is None:
        weights = dict(DEFAULT_MIX)
    elif isinstance(kinds, Mapping):
        weights = {str(k): float(v) for k, v in kinds.items()}
    else:
        weights = {str(k): DEFAULT_MIX.get(str(k), 0.1) for k in kinds}
    known = sensor_kinds()
    for k, w in weights.items():
        if k not in known:
            raise ValueError(
                f"unknown sensor kind {k!r}{lang_registry.did_you_mean(k, known)};"
                f" one of {', '.join(known)}"
            )
        if k not in SENSOR_KIND_PREFIX:
            raise ValueError(f"sensor kind {k!r} has no id prefix in SENSOR_KIND_PREFIX")
        if not (w >= 0 and np.isfinite(w)):
            raise ValueError(f"weight of {k!r} must be a finite number >= 0, not {w}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the sensor mix needs at least one kind with a positive weight")
    return {k: w / total for k, w in weights.items()}


def generate_registry(
    city: City,
    n_sensors: int,
    seed: int,
    kinds: Mapping[str, float] | Sequence[str] | None = None,
) -> SensorRegistry:
    """A registry of `n_sensors` sensors spread over the city's communities.

    `kinds` is a mix {kind: weight} (DEFAULT_MIX when omitted) or a list of kinds.  Every
    community is equally likely, so the dense central districts, with many small communities,
    get the most sensors per km^2.  Deterministic for a given (city, n_sensors, seed, kinds)."""
    if not isinstance(n_sensors, int | np.integer) or n_sensors < 0:
        raise ValueError(f"n_sensors must be a non-negative integer, not {n_sensors!r}")
    mix = _mix(kinds)
    all_kinds = sensor_kinds()
    rng = np.random.default_rng(seed)
    n_comms = len(city)
    comm_district = city.community_ancestors("district")
    district_codes = city.level("district").code
    n_districts = district_codes.shape[0]

    # Ids sort by prefix, then district, then serial: generating kinds in prefix order and
    # communities in code order makes the id column sorted with no sort at all.
    order = sorted(mix, key=lambda k: SENSOR_KIND_PREFIX[k])
    kind_counts = rng.multinomial(int(n_sensors), [mix[k] for k in order])
    comm_counts = [rng.multinomial(int(c), np.full(n_comms, 1.0 / n_comms)) for c in kind_counts]
    district_counts = [
        np.bincount(comm_district, weights=cc, minlength=n_districts).astype(np.int64)
        for cc in comm_counts
    ]
    biggest = max((int(dc.max()) for dc in district_counts), default=0)
    digits = max(MIN_SERIAL_DIGITS, len(str(biggest)))
    width = 2 + 1 + 6 + 1 + digits

    buf = np.empty((int(n_sensors), width), dtype=np.uint8)
    kind_col = np.empty(int(n_sensors), dtype=np.int8)
    community_col = np.empty(int(n_sensors), dtype=np.int32)
    lat_col = np.empty(int(n_sensors), dtype=np.float64)
    lon_col = np.empty(int(n_sensors), dtype=np.float64)
    district_digits = np.frombuffer(
        "".join(district_codes.tolist()).encode("ascii"), dtype=np.uint8
    ).reshape(n_districts, 6)
    scatter_rngs = rng.spawn(len(order))
    start = 0
    for k, name in enumerate(order):
        n_k = int(kind_counts[k])
        seg = slice(start, start + n_k)
        community = np.repeat(np.arange(n_comms, dtype=np.int32), comm_counts[k])
        district = comm_district[community]
        first_in_district = np.concatenate(([0], np.cumsum(district_counts[k])[:-1]))
        serial = np.arange(n_k, dtype=np.int64) - first_in_district[district] + 1
        rows = buf[seg]
        rows[:, 0:2] = np.frombuffer(SENSOR_KIND_PREFIX[name].encode("ascii"), dtype=np.uint8)
        rows[:, 2] = ord("-")
        rows[:, 3:9] = district_digits[district]
        rows[:, 9] = ord("-")
        for j in range(digits):
            rows[:, width - 1 - j] = ord("0") + (serial // 10**j) % 10
        kind_col[seg] = all_kinds.index(name)
        community_col[seg] = community
        lat_col[seg], lon_col[seg] = city.scatter(community, scatter_rngs[k])
        start += n_k
    ids = buf.view(f"S{width}").ravel()
    return SensorRegistry(
        all_kinds, ids, kind_col, community_col, lat_col, lon_col, city_fingerprint(city)
    )


def load_registry(path: str | Path | None, city: City) -> SensorRegistry:
    """A deployment's own registry: a CSV file (`sensor_id,kind,community,lat,lon`, the format
    of `to_csv_text`; gzipped if the name ends in .gz) or an .npz file saved by `save`; None:
    the one shipped with the package.  Errors name the file and line (ValueError); the city
    model must be the one it was made for, each sensor is listed once, and there is at least
    one: a file of no sensors (a header alone, an export cut short, a filter that kept nothing)
    would send every reading to the dead letters as from an unknown sensor."""
    if path is None:
        return load_default_registry()
    path = Path(path)
    if path.suffix == ".npz":
        registry = SensorRegistry.load(path, city)
    else:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            import gzip

            raw = gzip.decompress(raw)
        try:  # (a spreadsheet's "CSV UTF-8" starts with a byte-order mark: not the header's)
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        registry = SensorRegistry.from_csv_text(text, city, str(path))
    try:
        _ = registry._index  # built now (the flow needs it anyway): it refuses an id listed twice
    except DuplicateIdError as e:
        if path.suffix == ".npz":
            rows = " and ".join(map(str, e.rows))
            where = f"{path}: sensor id {e.id!r} is listed {e.count} times (rows {rows})"
        else:
            first, again = (r + 2 for r in e.rows)  # rows -> lines, after the header
            where = f"{path}:{again}: sensor id {e.id!r} is already on line {first}"
        raise ValueError(f"{where}: each sensor is listed once") from None
    if len(registry) == 0:
        what = (
            "save a registry of the deployment's sensors"
            if path.suffix == ".npz"
            else f"write one line per sensor after the header, {','.join(CSV_COLUMNS)}"
        )
        raise RegistryError(
            str(path),
            [f"{path}: no sensors; {what} (start from `citysigns registry export`)"],
        )
    return registry


@cache
def load_default_registry() -> SensorRegistry:
    """The small registry shipped with the package (6000 sensors) for the demo and tests."""
    import gzip

    from .generate import DEFAULT_REGISTRY_FILE

    raw = resources.files("flows.city").joinpath(DEFAULT_REGISTRY_FILE).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    return SensorRegistry.from_csv_text(text, load_city(), DEFAULT_REGISTRY_FILE)
