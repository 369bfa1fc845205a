"""The catalog compiled for the dataflow: per indicator, which events it takes (kind, field,
filters, hotline categories and keywords), where each event lands (its area at the finest
level the indicator asks for) and how the finer areas roll up.

Compiled once (dbt style: raw YAML -> resolved catalog -> this plan); routing a decoded batch
is then a handful of numpy operations per indicator: a slice of the batch's field, a kind
mask, the filter masks, an index lookup for the area."""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from flows.city import City, SensorRegistry
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.fields import SENSOR_ID, field_id
from flows.windows import IndicatorWindows, WindowSpec
from flows.windows.engine import ADDITIVE
from indicators.language import registry as lang
from indicators.language.diagnostics import Diagnostic
from indicators.language.model import Filter, Indicator
from indicators.language.validate import Catalog, unknown_sensors

# Windows of a day or more start at local midnight, not at 00:00 UTC.
CITY_UTC_OFFSET_S = 8 * 3600


@dataclass(frozen=True)
class Routed:
    """An indicator's share of one decoded batch: finest-level area, time, value, in the
    order the records arrived; with how far the partition had got when each arrived
    (SensorBatch.high; None: the running maximum of `ts`) and where each record is in its
    input (None: unknown)."""

    area: np.ndarray  # int64
    ts: np.ndarray  # int64 epoch ms
    value: np.ndarray | None  # float64, None for counts
    high: np.ndarray | None = None  # int64 epoch ms
    position: np.ndarray | None = None  # int64 line number or offset

    def take(self, rows: np.ndarray) -> Routed:
        """The share of `rows` only (a mask or indices)."""
        return Routed(
            self.area[rows],
            self.ts[rows],
            None if self.value is None else self.value[rows],
            None if self.high is None else self.high[rows],
            None if self.position is None else self.position[rows],
        )

    def __len__(self) -> int:
        return int(self.area.size)


@dataclass(frozen=True, eq=False)
class AreaSpace:
    """Areas of one level: their codes, and the map from the finest level of an indicator."""

    level: str
    codes: np.ndarray  # str
    from_finest: np.ndarray | None  # finest index -> index here (None at the finest level)


WEEK_S = 7 * 86400
MONDAY_AFTER_EPOCH_S = 4 * 86400  # 1970-01-01 was a Thursday; 1970-01-05 a Monday


def window_origin(step: int) -> int:
    """Where windows line up: daily and longer windows start at the city's local midnight,
    weekly ones on Monday (reports say "the week of Monday 3 March", never a Thursday)."""
    if step % WEEK_S == 0:
        return MONDAY_AFTER_EPOCH_S - CITY_UTC_OFFSET_S
    return -CITY_UTC_OFFSET_S if step >= 86400 else 0


def zero_fill_windows(ind: Indicator, step: int) -> int:
    """How many windows an area reports 0 after its last event, for additive aggregates
    without a no-signal rule (those report silence instead): long enough for the warning's
    slowest rule (`clear.for` or a level's `for`) to see the quiet, and two windows more."""
    if ind.value.aggregate not in ADDITIVE or ind.value.silence_after is not None:
        return 0
    rules = ind.detection.warnings
    holds = [r.for_ for r in rules.levels.values()]
    if rules.clear is not None:
        holds.append(rules.clear.for_)
    return -(-max(holds) // step) + 2


@dataclass(eq=False)
class IndicatorPlan:
    indicator: Indicator
    channel: bool
    kind_index: int  # registry kind (sensors) or -1
    field: int | None  # sensor field id
    levels: list[str]  # finest first
    spaces: dict[str, AreaSpace]
    spec: WindowSpec
    categories: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    sensor_area: np.ndarray | None = None  # registry row -> finest area; -1: another kind
    # registry row -> passes the indicator's `sensor_id` filters (None: every sensor does)
    sensor_keep: np.ndarray | None = None
    community_area: np.ndarray | None = None  # community -> finest area (channels)
    # sensor-level indicators: the registry, whose rows indexed their areas in recovery
    # snapshots from before the areas were recorded (see `legacy_area_codes`)
    registry: SensorRegistry | None = None

    @property
    def id(self) -> str:
        return self.indicator.id

    def geometry(self, sizes: Mapping[str, int] | None = None) -> str:
        """What the shape of this indicator's window state depends on: its windows, aggregate
        and area levels (with their sizes, or the given `sizes`).  A recovery snapshot taken
        under another geometry cannot be resumed as it is (its panes and areas would be
        misread); one that differs only in its areas is renumbered (`AreaChange`)."""
        v = self.indicator.value
        spec = self.spec
        sizes = sizes or {lvl: int(self.spaces[lvl].codes.size) for lvl in self.levels}
        by_level = [(lvl, int(sizes[lvl])) for lvl in self.levels]
        return repr((spec.length, spec.step, spec.lateness, spec.origin, v.aggregate, by_level))

    def area_codes(self) -> dict[str, bytes]:
        """Each level's area codes in index order, newline-separated and compressed (6,000
        sensor ids: 12 kB).  Every recovery snapshot keeps them, to renumber its areas when the
        registry or the city model changes between the snapshot and the restart."""
        return {lvl: _pack(self.spaces[lvl].codes) for lvl in self.levels}

    def legacy_area_codes(self) -> dict[str, bytes] | None:
        """The `area_codes()` of a snapshot from an earlier version, which did not record its
        areas and indexed a sensor-level indicator by registry row (every sensor of every kind):
        None where that layout is the current one (coarser finest levels)."""
        if self.registry is None:
            return None
        codes = self.area_codes()
        codes[self.levels[0]] = _pack(self.registry.ids())
        return codes

    def new_windows(self) -> IndicatorWindows:
        parents = {
            lvl: s.from_finest for lvl, s in self.spaces.items() if s.from_finest is not None
        }
        return IndicatorWindows(
            self.id,
            self.indicator.value.aggregate,
            self.spec,
            self.levels,
            {lvl: int(s.codes.size) for lvl, s in self.spaces.items()},
            parents,
            self.indicator.value.silence_after,
            zero_fill_windows(self.indicator, self.spec.step),
        )

    # -- routing ---------------------------------------------------------------------------
    def route_sensors(self, batch: SensorBatch, kind_of_sensor: np.ndarray) -> Routed:
        assert self.field is not None and self.sensor_area is not None
        rows = batch.rows_of(self.field)
        sensor, ts, value = batch.sensor[rows], batch.ts[rows], batch.value[rows]
        high, position = batch.high[rows], batch.position[rows]
        keep = kind_of_sensor[sensor] == self.kind_index
        if self.sensor_keep is not None:
            keep &= self.sensor_keep[sensor]
        for flt in self.filters:
            if flt.field != SENSOR_ID:
                keep &= _numeric_filter(flt, value)
        if not keep.all():
            sensor, ts, value = sensor[keep], ts[keep], value[keep]
            high, position = high[keep], position[keep]
        vals = None if self.indicator.value.aggregate in ("count", "rate") else value
        return Routed(self.sensor_area[sensor], ts, vals, high, position)

    def route_channel(self, batch: ChannelBatch) -> Routed:
        assert self.community_area is not None
        n = len(batch)
        keep = batch.community >= 0
        if self.categories or self.keywords:
            wanted = [i for i, c in enumerate(batch.categories) if c in self.categories]
            match = np.isin(batch.category, wanted)
            if self.keywords:
                match |= np.fromiter(
                    (any(k in t for k in self.keywords) for t in batch.text), bool, n
                )
            keep &= match
        for flt in self.filters:
            keep &= _channel_filter(flt, batch)
        agg = self.indicator.value.aggregate
        value: np.ndarray | None = None
        if agg not in ("count", "rate"):
            value = channel_values(self.indicator.value.field, batch)
            keep &= np.isfinite(value)
        idx = np.flatnonzero(keep)
        return Routed(
            self.community_area[batch.community[idx]],
            batch.ts[idx],
            None if value is None else value[idx],
            batch.high[idx],
            batch.position[idx],
        )


# the record's 0/1 flag: `has_photo` and `abnormal` are it, and a checkpoint's `result` is it
# spelled out (normal 0, abnormal 1; a record may give either)
_FLAG_FIELDS = frozenset({"has_photo", "abnormal", "result"})


def channel_values(name: str | None, batch: ChannelBatch) -> np.ndarray:
    """Field `name` of each record as a float64 (NaN: the record has none): the flag, or a
    code standing for a text value, for the aggregates that take a value (of a text field
    `check` allows `distinct` only, which needs codes that are equal where the texts are).
    A venue or a hotline channel used to be read as the 0/1 flag, so "distinct venues" was
    2 a day in a city of 1,675 venues."""
    if name in ("category", "service_code"):
        return np.where(batch.category >= 0, batch.category, np.nan).astype(np.float64)
    if name in _FLAG_FIELDS:
        return batch.value
    column = batch.extra.get(name or "")
    if column is None:  # (a field the channel's records do not carry: `check` refuses it)
        return np.full(len(batch), np.nan)
    return text_codes(column)


def text_codes(column: list[str]) -> np.ndarray:
    """A float64 code per text, NaN for an empty one: the same text has the same code in every
    batch and every process (a window's values outlive both, in its panes and in recovery
    snapshots), so codes are a hash, not an index.  Each distinct text is hashed once."""
    if not column:
        return np.zeros(0)
    texts, inverse = np.unique(np.asarray(column, dtype=str), return_inverse=True)
    codes = np.fromiter((_text_code(t) for t in texts.tolist()), np.float64, texts.size)
    return codes[inverse.reshape(-1)]


def _text_code(text: str) -> float:
    """53 bits of a hash, which a float64 holds exactly; among a million different texts, two
    share a code with a chance of about 1 in 18,000 (where they do, they count as one)."""
    if not text:
        return math.nan
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return float(int.from_bytes(digest, "big") >> 11)


def _numeric_filter(flt: Filter, value: np.ndarray) -> np.ndarray:
    if flt.range is not None:
        return (value >= flt.range[0]) & (value <= flt.range[1])
    if flt.equals is not None:
        return value == float(flt.equals)
    if flt.in_ is not None:
        return np.isin(value, [float(v) for v in flt.in_])
    if flt.not_in is not None:
        return ~np.isin(value, [float(v) for v in flt.not_in])
    return np.ones(value.shape, dtype=bool)


def sensor_filter_mask(filters: Iterable[Filter], registry: SensorRegistry) -> np.ndarray | None:
    """Which registry rows pass the `sensor_id` filters (None: there are none).  Resolved
    once against the registry the flow runs with, so routing costs one lookup per row."""
    tests = [f for f in filters if f.field == SENSOR_ID]
    if not tests:
        return None
    ids = np.array(registry.ids(), dtype=object)
    keep = np.ones(len(ids), dtype=bool)
    for flt in tests:
        if flt.equals is not None:
            keep &= ids == str(flt.equals)
        elif flt.in_ is not None:
            keep &= np.isin(ids, [str(v) for v in flt.in_])
        elif flt.not_in is not None:
            keep &= ~np.isin(ids, [str(v) for v in flt.not_in])
    return keep


def unknown_filter_sensors(catalog: Catalog, registry: SensorRegistry) -> list[Diagnostic]:
    """The catalog's `sensor_id` filters that name no sensor of their kind in `registry` (the
    one the flow runs with), each at its file:line:col; run, test and backtest refuse them."""
    if not catalog.sensor_ids:
        return []
    kinds = [registry.kinds[k] for k in registry.kind.tolist()]
    return unknown_sensors(catalog, dict(zip(registry.ids(), kinds, strict=True)))


def _channel_filter(flt: Filter, batch: ChannelBatch) -> np.ndarray:
    if flt.field in ("has_photo", "abnormal"):
        return _numeric_filter(flt, batch.value)
    if flt.field in ("category", "service_code"):
        column = np.array([batch.categories[c] if c >= 0 else "" for c in batch.category])
    else:
        column = np.array(batch.extra.get(flt.field, [""] * len(batch)), dtype=object)
    if flt.equals is not None:
        return column == str(flt.equals)
    if flt.in_ is not None:
        return np.isin(column, [str(v) for v in flt.in_])
    if flt.not_in is not None:
        return ~np.isin(column, [str(v) for v in flt.not_in])
    return np.ones(len(batch), dtype=bool)


def _pack(codes: np.ndarray | list[str]) -> bytes:
    listed = codes.tolist() if isinstance(codes, np.ndarray) else codes
    return zlib.compress("\n".join(listed).encode("utf-8"))


def unpack_codes(packed: bytes) -> list[str]:
    """The area codes of one level as `IndicatorPlan.area_codes()` packed them."""
    text = zlib.decompress(packed).decode("utf-8")
    return text.split("\n") if text else []


@dataclass(frozen=True)
class AreaChange:
    """How an indicator's areas changed between a recovery snapshot and the plan: at each
    level, new area i continues old area `source[level][i]` (-1: a new area)."""

    source: dict[str, np.ndarray]
    old_sizes: dict[str, int]
    gone: dict[str, list[str]] = field(default_factory=dict)  # removed codes per level

    @classmethod
    def between(cls, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> AreaChange:
        """From the `area_codes()` of the snapshot and of the plan (same levels)."""
        source: dict[str, np.ndarray] = {}
        sizes: dict[str, int] = {}
        gone: dict[str, list[str]] = {}
        for lvl, packed in new.items():
            before = unpack_codes(old[lvl])
            index = {code: i for i, code in enumerate(before)}
            now = unpack_codes(packed)
            source[lvl] = np.fromiter((index.get(c, -1) for c in now), np.int64, len(now))
            sizes[lvl] = len(before)
            kept = np.zeros(len(before), dtype=bool)
            kept[source[lvl][source[lvl] >= 0]] = True
            gone[lvl] = [before[i] for i in np.flatnonzero(~kept).tolist()]
        return cls(source, sizes, gone)

    def added(self) -> dict[str, int]:
        return {lvl: int((s < 0).sum()) for lvl, s in self.source.items() if (s < 0).any()}

    def removed(self) -> dict[str, int]:
        out = {lvl: self.old_sizes[lvl] - int((s >= 0).sum()) for lvl, s in self.source.items()}
        return {lvl: n for lvl, n in out.items() if n}

    def describe(self) -> str:
        """E.g. "sensor: 12 added, 1 removed"."""
        added, removed = self.added(), self.removed()
        parts = []
        for lvl in self.source:
            words = [f"{n[lvl]} {what}" for n, what in ((added, "added"), (removed, "removed"))
                     if lvl in n]  # fmt: skip
            if words:
                parts.append(f"{lvl}: {', '.join(words)}")
        return "; ".join(parts) or "renumbered"


@dataclass(eq=False)
class FlowPlan:
    """All indicators of a catalog, compiled against one city and one sensor registry."""

    plans: list[IndicatorPlan] = field(default_factory=list)

    def by_id(self) -> dict[str, IndicatorPlan]:
        return {p.id: p for p in self.plans}


def compile_plan(
    catalog: Catalog | Iterable[Indicator], city: City, registry: SensorRegistry
) -> FlowPlan:
    order = list(lang.AREA_LEVELS)
    plans = []
    for ind in catalog:
        kind = lang.kinds()[ind.source.kind]
        levels: list[str] = sorted(ind.value.levels, key=order.index)
        finest = levels[0]
        kind_rows = None
        if finest == "sensor":  # only the sensors of the indicator's kind are its areas
            kind_rows = registry.kind_rows(kind.name)
            finest_codes = np.array(registry.ids(kind_rows), dtype=object)
            up = {lvl: registry.area(city, lvl)[kind_rows] for lvl in levels[1:]}
        else:
            finest_codes = city.level(finest).code
            anc = city.ancestors(finest, np.arange(len(city.level(finest))))
            up = {lvl: anc[lvl] for lvl in levels[1:]}
        spaces: dict[str, AreaSpace] = {finest: AreaSpace(finest, finest_codes, None)}
        for lvl in levels[1:]:
            spaces[lvl] = AreaSpace(lvl, city.level(lvl).code, np.asarray(up[lvl], np.int64))
        w = ind.value.window
        step = w.spacing
        origin = window_origin(step)
        plan = IndicatorPlan(
            indicator=ind,
            channel=kind.channel,
            kind_index=-1 if kind.channel else registry.kinds.index(kind.name),
            field=None,
            levels=levels,
            spaces=spaces,
            spec=WindowSpec(w.length, step, w.lateness, origin),
            categories=frozenset(ind.source.categories or ()),
            keywords=tuple(ind.source.keywords or ()),
            filters=tuple(ind.source.filter),
        )
        if kind.channel:
            if finest == "community":
                plan.community_area = np.arange(len(city.level("community")), dtype=np.int64)
            else:
                plan.community_area = np.asarray(city.community_ancestors(finest), np.int64)
        else:
            row_field = ind.row_field()
            assert row_field is not None  # (check refuses a sensor indicator without one)
            plan.field = field_id(row_field)
            plan.sensor_keep = sensor_filter_mask(ind.source.filter, registry)
            if kind_rows is not None:
                plan.sensor_area = np.full(len(registry), -1, dtype=np.int64)
                plan.sensor_area[kind_rows] = np.arange(kind_rows.size)
                plan.registry = registry
            else:
                plan.sensor_area = np.asarray(registry.area(city, finest), np.int64)
        plans.append(plan)
    return FlowPlan(plans)
