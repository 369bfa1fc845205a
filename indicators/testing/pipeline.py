"""The flow's own steps for a few indicators, run in this process without Bytewax.

Analysts' tests and backtests must exercise exactly what production runs, so this module only
wires the flow's library code together, the way `flows.flow` wires it into Bytewax: the
decoder logic of one input partition (`DecodeLogic`), a citizen channel's memory of the ids
of all its partitions (`ChannelRepeatsLogic`), `route`, and per indicator the windows
runtime, the scorer and the warning state machine.  What it adds is bookkeeping: it keeps the
scored windows (columnar) and the warning events, so a test can compare them and a backtest
can report and plot them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np

from alerts.areas import CityAreaNames
from alerts.events import WarningEvent
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
from flows.city import (
    City,
    SensorRegistry,
    load_city,
    load_default_registry,
    load_default_venues,
    load_registry,
)
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.fields import sensor_fields
from flows.decode.reasons import DeadLetter
from flows.flow import ChannelRepeatsLogic, Context, Decoded, DecodeLogic, is_channel, route
from flows.plan import IndicatorPlan, Routed, compile_plan
from flows.runtime import IndicatorRuntime, Step
from flows.scoring import IndicatorScorer
from indicators.language.model import Indicator


@dataclass(frozen=True)
class World:
    """The city model and registries every replay places its records in (loaded once)."""

    city: City
    registry: SensorRegistry
    names: CachedAreaNames


class CachedAreaNames:
    """The city's area names, remembered: a long replay labels the same few areas in tens of
    thousands of warning explanations, and each lookup searches the city model."""

    def __init__(self, city: City) -> None:
        self._inner = CityAreaNames(city)
        self._memo: dict[str, tuple[str, str] | None] = {}

    def names(self, code: str) -> tuple[str, str] | None:
        if code not in self._memo:
            self._memo[code] = self._inner.names(code)
        return self._memo[code]


_registry: SensorRegistry | None = None  # None: the one shipped with the package


def use_registry(registry: SensorRegistry | str | Path | None) -> SensorRegistry:
    """Replays place sensor records with this registry (loaded, or a file: CSV or .npz, as
    `citysigns run --registry`) from now on; None: the one shipped with the package.  A file
    is loaded at once, so a broken one fails here with its file:line (ValueError), not in the
    middle of a replay."""
    global _registry
    if registry is None or isinstance(registry, SensorRegistry):
        _registry = registry
    else:
        _registry = load_registry(registry, load_city())
    world.cache_clear()
    return world().registry


@cache
def world() -> World:
    """The world every replay of this process uses (see `use_registry`)."""
    city = load_city()
    return World(city, _registry or load_default_registry(), CachedAreaNames(city))


def _within(routed: Routed, lo: int | None, hi: int | None) -> Routed:
    """The rows of `routed` from `lo` (included) to `hi` (excluded), epoch ms; either open."""
    if (lo is None and hi is None) or not len(routed):
        return routed
    keep = np.ones(len(routed), dtype=bool)
    if lo is not None:
        keep &= routed.ts >= lo
    if hi is not None:
        keep &= routed.ts < hi
    kept = routed if keep.all() else routed.take(keep)
    if hi is not None and kept.high is not None:
        # time stops at the period's end for the rows' watermarks as for the partition's
        return replace(kept, high=np.minimum(kept.high, hi - 1))
    return kept


@dataclass
class _Indicator:
    plan: IndicatorPlan
    runtime: IndicatorRuntime
    scorer: IndicatorScorer
    machine: WarningStateMachine


@dataclass
class ReplayResult:
    scored: list[ScoredBatch] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    late: int = 0
    windows: int = 0
    # of those, windows with a value but fewer records than their indicator's `min_count`:
    # never judged, so a backtest of an indicator whose areas rarely reach it says why it
    # raised nothing
    unjudged: int = 0
    # per indicator: records of its source kind (a sensor kind's readings of its field), and
    # how many of those its source's categories, keywords and filter kept: a test whose
    # records were all left out is told so, where it only saw no warnings
    offered: dict[str, int] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)
    # what the decoder accepted, by what it is ("hotline records", "air_quality pm25"), and
    # how many of those rows reached an indicator (in the period): a backtest of a file that
    # feeds none of its indicators says what the file holds instead of reporting nothing
    decoded: Counter[str] = field(default_factory=Counter)
    routed: int = 0

    def scored_rows(self) -> ScoredBatch | None:
        """Every scored window as one batch (None when nothing closed)."""
        if not self.scored:
            return None
        names = ScoredBatch.__dataclass_fields__
        return ScoredBatch(
            **{n: np.concatenate([getattr(b, n) for b in self.scored]) for n in names}
        )


class Replay:
    """Decode -> route -> windows -> detectors -> warnings for `indicators`, fed chunk by
    chunk.  `partitions` names the input partitions; the watermark is the minimum over them,
    as in the flow, so every partition must be named before the first chunk."""

    def __init__(
        self,
        indicators: Sequence[Indicator],
        partitions: Sequence[str],
        keep_scored: bool = True,
        count_offered: bool = False,
        period: tuple[int | None, int | None] = (None, None),
    ) -> None:
        """`count_offered`: keep ReplayResult.offered and .counted (a test's, not a
        backtest's, which has no use for them).  `period`: (from, to) in epoch seconds,
        either open; records outside it are decoded (the decoder's stream time, repeats and
        refusals are the whole file's, as the flow reads it) but reach no indicator, and time
        does not run past `to`."""
        w = world()
        lo, hi = period
        self.period_ms = (
            None if lo is None else lo * 1000,
            None if hi is None else hi * 1000,
        )
        plan = compile_plan(list(indicators), w.city, w.registry)
        self.ctx = Context(plan, w.city, w.registry, load_default_venues())
        self.partitions = list(partitions)
        self.keep_scored = keep_scored
        self.count_offered = count_offered
        self.indicators = {
            p.id: _Indicator(
                p,
                IndicatorRuntime(p, len(self.partitions)),
                IndicatorScorer(p),
                WarningStateMachine([p.indicator], w.names),
            )
            for p in plan.plans
        }
        self.decoders: dict[str, DecodeLogic] = {}
        self.channels: dict[str, ChannelRepeatsLogic] = {}  # by channel, as the flow keys it
        self.result = ReplayResult()
        self.finished = False

    def feed(self, partition: str, chunk: RawChunk) -> None:
        """Decode one chunk of raw lines of `partition` with the flow's decoder logic."""
        logic = self.decoders.get(partition)
        if logic is None:
            # each chunk decoded as it comes (no parse-ahead), so its windows close in step
            logic = self.decoders[partition] = DecodeLogic(self.ctx, None, parse_ahead=False)
        out, _ = logic.on_batch([chunk])
        for decoded in out:
            if is_channel(decoded):
                assert isinstance(decoded.batch, ChannelBatch)
                channel = decoded.batch.channel
                repeats = self.channels.get(channel) or ChannelRepeatsLogic(None)
                decoded = self.channels.setdefault(channel, repeats).drop_repeats(decoded)
            self.result.dead_letters.extend(decoded.dead.letters)
            self._count(decoded.batch)
            self._route(
                Decoded(partition, decoded.batch, decoded.dead, decoded.max_ts,
                        finished=decoded.finished)
            )  # fmt: skip

    def _count(self, batch: SensorBatch | ChannelBatch | None) -> None:
        if batch is None or not len(batch):
            return
        if isinstance(batch, ChannelBatch):
            self.result.decoded[f"{batch.channel} records"] += len(batch)
            return
        kinds = self.ctx.registry.kinds
        names = sensor_fields()
        kind = self.ctx.kind_of_sensor[batch.sensor]
        pairs, counts = np.unique(kind * len(names) + batch.field, return_counts=True)
        for pair, n in zip(pairs.tolist(), counts.tolist(), strict=True):
            self.result.decoded[f"{kinds[pair // len(names)]} {names[pair % len(names)]}"] += n

    def _route(self, decoded: Decoded) -> None:
        if decoded.partition not in self.partitions:
            raise ValueError(f"unknown partition {decoded.partition!r}")
        lo, hi = self.period_ms
        max_ts = decoded.max_ts
        if hi is not None and max_ts is not None:
            max_ts = min(max_ts, hi - 1)  # the stream's time stops at the period's end
        for ind_id, share in route(self.ctx, decoded):
            ind = self.indicators[ind_id]
            offered = self._offered(ind.plan, decoded) if self.count_offered else 0
            if offered:
                r = self.result
                r.offered[ind_id] = r.offered.get(ind_id, 0) + offered
                r.counted[ind_id] = r.counted.get(ind_id, 0) + len(share.routed)
            routed = _within(share.routed, lo, hi)
            self.result.routed += len(routed)
            step = ind.runtime.on_batch(routed, share.partition, max_ts, share.finished)
            self._emit(ind, step)

    def _offered(self, plan: IndicatorPlan, decoded: Decoded) -> int:
        """How many records of `decoded` are of `plan`'s source kind (for a sensor
        indicator, readings of its field by sensors of its kind), before its categories,
        keywords and filter choose among them."""
        batch = decoded.batch
        if batch is None or not len(batch):
            return 0
        if isinstance(batch, ChannelBatch):
            return len(batch) if plan.indicator.source.kind == batch.channel else 0
        if plan.channel or plan.field is None:
            return 0
        sensor = batch.sensor[batch.rows_of(plan.field)]
        return int(np.count_nonzero(self.ctx.kind_of_sensor[sensor] == plan.kind_index))

    def _emit(self, ind: _Indicator, step: Step) -> None:
        self.result.late += step.late
        if not step.closed:
            return
        self.result.windows += sum(len(c) for c in step.closed)
        least = ind.plan.indicator.value.min_count
        if least is not None:
            self.result.unjudged += sum(
                int(np.count_nonzero(np.isfinite(c.value) & (c.count < least))) for c in step.closed
            )
        scored = ind.scorer.score(step.closed)
        if scored is None:
            return
        self.result.warnings.extend(ind.machine.process(scored))
        if self.keep_scored:
            self.result.scored.append(scored)

    def finish(self) -> ReplayResult:
        """The end of the inputs: every open window closes, as at the end of a replay."""
        if not self.finished:
            for ind in self.indicators.values():
                self._emit(ind, ind.runtime.on_eof())
            self.finished = True
        self.result.warnings.sort(key=lambda e: (e.at, e.indicator_id, e.area_code))
        return self.result
