"""The citysigns dataflow on Bytewax.

    inputs (file replay | stdin | Kafka) -> RawChunk of whole lines
      -> decode, keyed by input partition (decoder state: stream clock, seen ids)
      -> citizen channels only: channel_repeats, keyed by channel (the ids seen in any input
         of the channel: overlapping exports count once)
           -> dead letters -> dead_letters.ndjson, hotline orders -> orders.ndjson
      -> route: each indicator's share of the batch, and every partition's progress to
         every indicator (the watermark is the minimum over partitions)
      -> per indicator (state sharded across workers by indicator id): windows, detectors
           -> windows.ndjson, and late events -> dead letters

One Bytewax item is one chunk or one routed batch, never one event: the per-event work is
numpy inside the steps (architecture.md).  The steps themselves are plain library code
(flows.runtime, flows.scoring); Bytewax brings partitioned inputs, exchange between workers,
recovery snapshots and the sinks."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import bytewax.operators as op
import numpy as np
from bytewax.connectors.files import FileSink
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.operators import StatefulBatchLogic
from bytewax.outputs import DynamicSink

from alerts.areas import CityAreaNames
from alerts.events import WarningEvent
from alerts.scored import ScoredBatch
from alerts.warning_state import WarningStateMachine
from citysigns.paths import CATALOG_DIR
from flows import instrument
from flows.city import (
    City,
    SensorRegistry,
    VenueRegistry,
    load_city,
    load_default_venues,
    load_registry,
)
from flows.deadletters import dead_letter_lines
from flows.decode.ahead import ParseAhead
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.channels import CHANNELS, ChannelDecoder
from flows.decode.chunks import RawChunk
from flows.decode.dedupe import ChannelSeenIds
from flows.decode.reasons import DeadLetter, DeadLetters, Reason
from flows.decode.sensors import Parsed, SensorDecoder
from flows.jsontext import dumps
from flows.orders import hotline_orders
from flows.output import iso_ms, window_lines
from flows.plan import AreaChange, FlowPlan, IndicatorPlan, Routed, compile_plan, unpack_codes
from flows.runtime import IndicatorRuntime, Step
from flows.scoring import IndicatorScorer
from flows.sources import FileReplaySource
from indicators.language.validate import load_catalog_or_raise

EMPTY = Routed(np.zeros(0, np.int64), np.zeros(0, np.int64), None)
log = logging.getLogger(__name__)
# Why a firing warning ended without its value coming back (zh, en): its area is no longer
# watched after a restart, so no window of it will ever close again.
WHY_REMOVED = (
    "该监测对象已不在传感器登记或城市模型中",
    "no longer in the sensor registry or the city model",
)
WHY_DROPPED = ("该指标已从指标目录中删除", "the indicator was removed from the catalog")
WHY_RESTARTED = (
    "指标的窗口、聚合方式或区域层级已变更, 重新开始监测",
    "the indicator's windows, aggregate or area levels changed and it started afresh",
)


class Progress:
    """Bytes decoded so far in this process, for progress bars (read from another thread)."""

    decoded_bytes = 0


@dataclass(frozen=True)
class FlowConfig:
    """What a run needs; everything else comes from the catalog and the city model."""

    inputs: tuple[str, ...]
    out_dir: str
    catalog: tuple[str, ...] = (str(CATALOG_DIR),)
    speed: float | None = None
    chunk_bytes: int = 4 << 20
    write_scored: bool = False  # also OUT/scored.ndjson: every window with score and band
    # live sources: a partition without events this many seconds stops holding the watermark
    # (None for replays, whose results must not depend on the machine's speed)
    idle_after: float | None = None
    # the deployment's sensor registry (CSV or .npz, see flows.city.load_registry); None: the
    # one shipped with the package
    registry: str | None = None


@dataclass
class Context:
    """Loaded once per process: the compiled plan, the city and its registries."""

    plan: FlowPlan
    city: City
    registry: SensorRegistry
    venues: VenueRegistry
    kind_of_sensor: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.kind_of_sensor = np.asarray(self.registry.kind, dtype=np.int64)

    def locate(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return self.city.locate(lat, lon)

    def locate_venue(self, venues: list[str]) -> np.ndarray:
        rows = self.venues.lookup(venues)
        return np.where(rows >= 0, self.venues.community[np.maximum(rows, 0)], -1)


@cache
def context(catalog: tuple[str, ...], registry_file: str | None = None) -> Context:
    city = load_city()
    registry = load_registry(registry_file, city)
    plan = compile_plan(load_catalog_or_raise(list(catalog)), city, registry)
    return Context(plan, city, registry, load_default_venues())


# Which record family a partition carries, from the keys of its first record or header.
FAMILY_KEYS = (
    (b"service_request_id", "hotline"),
    (b"report_id", "photo_report"),
    (b"checkpoint_id", "checkpoint"),
)
FAMILY_PROBE_LINES = 64  # lines of the first chunk looked at for a record that parses


def family_of(chunk: RawChunk) -> str:
    """The family of the first record that parses (a blank or broken first line, as a crashed
    producer leaves, must not turn a file of hotline orders into sensor readings), or of the
    first line when none does; a CSV file's header decides alone."""
    if chunk.header:
        return _family_of_text(chunk.header)
    lines = chunk.data[:65536].split(b"\n", FAMILY_PROBE_LINES)[:FAMILY_PROBE_LINES]
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):  # its keys name the family
            return next((fam for key, fam in FAMILY_KEYS if key.decode() in record), "sensor")
    return _family_of_text(lines[0] if lines else b"")


def _family_of_text(text: bytes) -> str:
    for key, family in FAMILY_KEYS:
        if key in text:
            return family
    return "sensor"


# -- decode ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decoded:
    """A decoded chunk of one partition.  `max_ts` is the partition's progress (its largest
    accepted time), kept when the channel step drops repeats: the partition did get there.
    `now_ms` is the partition decoder's stream time, the clock of the channel-wide memory of
    ids; `seen_before`, once after a resume from a snapshot older than that memory, the ids
    the partition's decoder had seen, for the channel step to learn.  `finished`: the
    partition's input has ended (its source sent `RawChunk.end_of`), so it no longer holds
    the watermark back; it travels the path of the partition's batches, after them."""

    partition: str
    batch: SensorBatch | ChannelBatch | None
    dead: DeadLetters
    max_ts: int | None
    now_ms: int | None = None
    seen_before: dict[str, int] | None = None
    finished: bool = False


class DecodeLogic(StatefulBatchLogic[RawChunk, Decoded, dict[str, object]]):
    """One input partition's decoder; its stream clock and seen set are its state.
    Bytewax builds the logic without its key, so the first chunk tells the family (sensor
    readings or a citizen channel) and the chunks' source names the partition.

    Sensor batches are counted here (run summary, metrics); citizen-channel batches by the
    `channel_repeats` step after it (`ChannelRepeatsLogic`), which drops the records other
    partitions of the channel delivered first: a Prometheus counter cannot take back what
    was counted as accepted.  A snapshot written before that step existed has no
    `channel_wide` mark; the partition then hands its seen ids to the step once
    (`Decoded.seen_before`), so a resume across the upgrade still knows them.

    Replays (`parse_ahead`) parse sensor chunks one chunk ahead in a background thread
    (`flows.decode.ahead`): an activation emits every chunk it received but the last, whose
    parse keeps running while the windows downstream work on the others; a wake-up at once
    (`notify_at`) emits it on a later turn of the worker, and end of input emits it too.  A
    snapshot keeps the chunks not yet emitted, so a restart decodes them.  Live sources
    decode each chunk as it comes: holding one back would add a source batch to latency.
    The sensor readings counted for the run's summary are part of the state, so a resumed
    run's summary counts the whole run (`instrument.DecodeTally`)."""

    def __init__(
        self, ctx: Context, state: dict[str, object] | None, parse_ahead: bool = False
    ) -> None:
        self.ctx = ctx
        self.parse_ahead = parse_ahead
        self.family: str | None = None
        self.decoder: SensorDecoder | ChannelDecoder | None = None
        self.ahead: ParseAhead | None = None
        self.seed: dict[str, int] | None = None  # seen ids the channel step has not learnt
        self.counted: instrument.Outcomes = Counter()  # sensor readings, since the run began
        if state is not None:
            self._start(str(state["family"]))
            self.counted = instrument.TALLY.restore(state.get("tally"))
            assert self.decoder is not None
            self.decoder.restore(state["decoder"])
            if isinstance(self.decoder, ChannelDecoder) and not state.get("channel_wide"):
                seen = self.decoder.seen
                self.seed = seen.snapshot() if seen is not None and len(seen) else None
            pending = state.get("pending") or []
            assert isinstance(pending, list)
            for chunk in pending:
                assert self.ahead is not None
                self.ahead.submit(chunk)

    def _start(self, family: str) -> None:
        self.family = family
        if family == "sensor":
            self.decoder = SensorDecoder(self.ctx.registry)
            self.ahead = ParseAhead(self.decoder)
        else:
            assert family in CHANNELS
            self.decoder = ChannelDecoder(
                family, locate=self.ctx.locate, locate_venue=self.ctx.locate_venue
            )

    def _decode(self, chunk: RawChunk, parsed: Parsed | None) -> Decoded:
        Progress.decoded_bytes += len(chunk.data)
        batch: SensorBatch | ChannelBatch
        if isinstance(self.decoder, SensorDecoder):
            batch, dead = self.decoder.decode(chunk, parsed)
            registry = self.ctx.registry
            self.counted += instrument.decoded_sensors(registry.kinds, registry.kind, batch, dead)
        else:
            assert self.decoder is not None
            batch, dead = self.decoder.decode(chunk)  # counted by the channel step
            seed, self.seed = self.seed, None
            hi = int(batch.ts.max()) if len(batch) else None
            return Decoded(chunk.source, batch, dead, hi, self.decoder.clock.now_ms, seed)
        hi = int(batch.ts.max()) if len(batch) else None
        return Decoded(chunk.source, batch, dead, hi)

    def on_batch(self, values: list[RawChunk]) -> tuple[Iterable[Decoded], bool]:
        out = []
        for chunk in values:
            if self.decoder is None:
                self._start(family_of(chunk))
            if chunk.last:  # the input has ended: after the chunks still parsing ahead
                out.extend(self._flush()[0])
                out.append(self._end(chunk.source))
                continue
            if self.ahead is None or not self.parse_ahead:
                out.extend(self._flush()[0])  # chunks a snapshot kept come first
                out.append(self._decode(chunk, None))
                continue
            self.ahead.submit(chunk)
            while len(self.ahead) > 1:
                out.append(self._decode(*self.ahead.pop()))
        return out, StatefulBatchLogic.RETAIN

    def _end(self, partition: str) -> Decoded:
        """The partition's end, on the way its batches take (a citizen channel's through the
        channel step), so that it cannot overtake them."""
        channel = self.family if self.family in CHANNELS else None
        batch = None if channel is None else ChannelBatch.empty(channel)
        return Decoded(partition, batch, DeadLetters(), None, finished=True)

    def notify_at(self) -> datetime | None:
        """At once while a chunk waits: it is emitted on the worker's next turn; and at once
        after a resume whose seen ids the channel step does not know yet."""
        waiting = self.ahead is not None and len(self.ahead)
        return datetime.now(UTC) if waiting or self.seed is not None else None

    def _flush(self) -> tuple[list[Decoded], bool]:
        if self.ahead is None:
            return [], StatefulBatchLogic.RETAIN
        return [self._decode(*p) for p in self.ahead.drain()], StatefulBatchLogic.RETAIN

    def _hand_over(self) -> list[Decoded]:
        """The seen ids restored from a snapshot older than the channel step, on their own
        (no partition, no rows: the step learns them and passes nothing on), so that they
        reach it at the first wake-up after the resume even if this input has ended."""
        seed, self.seed = self.seed, None
        if seed is None or self.family is None:
            return []
        return [Decoded("", ChannelBatch.empty(self.family), DeadLetters(), None, None, seed)]

    def on_notify(self) -> tuple[Iterable[Decoded], bool]:
        handed = self._hand_over()
        out, retain = self._flush()
        return handed + out, retain

    def on_eof(self) -> tuple[Iterable[Decoded], bool]:
        handed = self._hand_over()
        out, retain = self._flush()
        return handed + out, retain

    def snapshot(self) -> dict[str, object]:
        assert self.decoder is not None
        pending = self.ahead.chunks() if self.ahead is not None else []
        return {
            "family": self.family,
            "decoder": self.decoder.snapshot(),
            "pending": pending,
            "channel_wide": self.seed is None,  # the channel step knows this partition's ids
            "tally": instrument.snapshot_counts(self.counted),
        }


def channel_of(decoded: Decoded) -> str:
    """The key of the channel step: all records of a channel meet on one worker."""
    assert isinstance(decoded.batch, ChannelBatch)
    return decoded.batch.channel


def is_channel(decoded: Decoded) -> bool:
    return isinstance(decoded.batch, ChannelBatch)


class ChannelRepeatsLogic(StatefulBatchLogic[Decoded, Decoded, dict[str, object]]):
    """One citizen channel over all its inputs: drops the records whose id an input of the
    channel delivered before (overlapping exports, a primary and a backup feed), where the
    decoder of one partition sees only its own file.  The rows go with their order lines and
    window counts; they are counted as repeats with the decoder's own, so the run summary's
    "repeated records dropped" and the `duplicate` metrics hold both.  Its state, the ids,
    the channel's time and its counts for the run's summary, is snapshotted with the rest of
    the flow."""

    def __init__(self, state: dict[str, object] | None) -> None:
        self.seen = ChannelSeenIds()
        self.counted: instrument.Outcomes = Counter()  # the channel's records, since the run began
        if state is not None:
            self.seen.restore(state)
            self.counted = instrument.TALLY.restore(state.get("tally"))

    def drop_repeats(self, decoded: Decoded) -> Decoded:
        batch = decoded.batch
        assert isinstance(batch, ChannelBatch)
        if decoded.seen_before:
            self.seen.seen.merge(decoded.seen_before)
        fresh = self.seen.first_seen(batch.record_id, decoded.now_ms)
        repeats = len(fresh) - int(np.count_nonzero(fresh))
        dead = decoded.dead
        if repeats:
            batch = batch.take(np.flatnonzero(fresh))
            dead = DeadLetters(list(dead.letters), Counter(dead.counts))
            dead.count(Reason.DUPLICATE, repeats)
        unplaced = int(np.count_nonzero(batch.community < 0))
        self.counted += instrument.decoded(batch.channel, len(batch), dead, unplaced)
        return replace(decoded, batch=batch, dead=dead, seen_before=None)

    def on_batch(self, values: list[Decoded]) -> tuple[Iterable[Decoded], bool]:
        out = []
        for decoded in values:
            if decoded.partition:
                out.append(self.drop_repeats(decoded))
            elif decoded.seen_before:  # a partition's ids handed over after a resume
                self.seen.seen.merge(decoded.seen_before)
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> dict[str, object]:
        return {**self.seen.snapshot(), "tally": instrument.snapshot_counts(self.counted)}


# -- per indicator --------------------------------------------------------------------------
@dataclass(frozen=True)
class Share:
    """An indicator's share of one decoded batch, with its partition's progress."""

    indicator: str
    partition: str
    routed: Routed
    max_ts: int | None
    finished: bool = False  # the partition's input has ended


@dataclass(frozen=True)
class IndicatorOutput:
    window_lines: list[str]
    late: int
    warnings: list[WarningEvent] = field(default_factory=list)
    scored_lines: list[str] = field(default_factory=list)
    late_letters: list[DeadLetter] = field(default_factory=list)


class IndicatorLogic(StatefulBatchLogic[Share, IndicatorOutput, dict[str, object]]):
    """One indicator: windows, then detectors.  Built without its key (Bytewax's builder
    gets only the resume state), so it starts on the first share, which names it.

    A release may change the catalog between a snapshot and the resume.  An indicator no
    longer in it has its state dropped; one whose windows, aggregate or area levels changed
    starts afresh; one whose areas changed (sensors added to or removed from the registry) is
    renumbered, the remaining areas resuming; one whose detectors changed keeps its windows and
    warnings while the new detectors warm up.  Each case is logged, and nothing crashes."""

    def __init__(
        self,
        plans: dict[str, IndicatorPlan],
        n_partitions: int,
        state: dict[str, object] | None,
        idle_after: float | None = None,
    ) -> None:
        self.plans = plans
        self.n_partitions = n_partitions
        self.idle_after = idle_after
        self.indicator: str | None = None
        self.stale: dict[str, object] | None = None  # the state of a removed indicator
        # warnings ended because their areas are no longer watched, out with the next output
        self.withdrawn: list[WarningEvent] = []
        if state is None:
            return
        indicator = str(state["indicator"])
        if indicator in plans:
            self._start(indicator, state)
        else:
            log.warning(
                "indicator %r is no longer in the catalog: its recovery state (open windows, "
                "detector baselines) is dropped and its firing warnings withdrawn",
                indicator,
            )
            instrument.recovery_reset(indicator, "removed")
            self.stale = state
            self.withdrawn = self._withdraw_all(state, None, WHY_DROPPED)

    def _start(self, indicator: str, state: dict[str, object] | None) -> None:
        self.indicator = indicator
        self.plan = self.plans[indicator]
        self.geometry = self.plan.geometry()  # (fixed while the flow runs)
        self.areas = self.plan.area_codes()
        self.warnings = WarningStateMachine([self.plan.indicator], CityAreaNames(load_city()))
        change = None
        if state is not None:
            saved = state.get("withdrawn") or []
            assert isinstance(saved, list)
            self.withdrawn = [WarningEvent.from_dict(d) for d in saved]
            snapshot, (state, change) = state, self._fit(indicator, state)
            if state is None:
                self.withdrawn += self._withdraw_all(snapshot, self.warnings, WHY_RESTARTED)
        self.runtime = IndicatorRuntime(
            self.plan,
            self.n_partitions,
            None if state is None else state["runtime"],  # type: ignore[arg-type]
            self.idle_after,
        )
        self.scorer = IndicatorScorer(self.plan)
        self.gauges = instrument.IndicatorGauges(self.plan)
        if state is not None:
            if change is not None:
                self.runtime.windows.remap(change.source)
            if not self.scorer.restore(state["scorer"]):  # type: ignore[arg-type]
                log.warning(
                    "indicator %r: its detectors changed since the recovery snapshot; windows "
                    "and warnings resume, the new detectors warm up",
                    indicator,
                )
                instrument.recovery_reset(indicator, "detectors")
            if change is not None:
                self.scorer.remap(change)
            self.warnings.restore(state["warnings"])  # type: ignore[arg-type]
            if change is not None:
                self.withdrawn += self.warnings.withdraw(change.gone, *WHY_REMOVED)

    @staticmethod
    def _withdraw_all(
        snapshot: dict[str, object], like: WarningStateMachine | None, why: tuple[str, str]
    ) -> list[WarningEvent]:
        """The firing warnings of a snapshot nothing resumes from (the indicator's windows,
        aggregate or levels changed, or it left the catalog), ended with the reason `why`, so
        their tickets can close.  `like`: a machine with the indicator's current rules; None
        for a removed indicator, whose rules the snapshot recorded."""
        areas, saved = snapshot.get("areas"), snapshot.get("warnings")
        if not isinstance(areas, dict) or not isinstance(saved, dict):
            return []  # an earlier version's snapshot: the levels of its areas are unknown
        names = CityAreaNames(load_city()) if like is None else like.names
        old = WarningStateMachine.from_snapshot(saved, names, None if like is None else like.rules)
        if old is None:
            return []
        codes = {lvl: unpack_codes(packed) for lvl, packed in areas.items()}
        return old.withdraw(codes, *why)

    def _fit(
        self, indicator: str, state: dict[str, object]
    ) -> tuple[dict[str, object] | None, AreaChange | None]:
        """The snapshot to resume from (None: start afresh) and how its areas changed."""
        old_areas = state.get("areas")
        legacy = old_areas is None  # an earlier version's snapshot: no areas recorded
        if legacy:
            if state.get("geometry", self.geometry) == self.geometry:
                return state, None
            old_areas = self.plan.legacy_area_codes()  # sensors numbered by registry row
        if isinstance(old_areas, dict) and set(old_areas) == set(self.areas):
            change = None if old_areas == self.areas else AreaChange.between(old_areas, self.areas)
            sizes = None if change is None else change.old_sizes
            if state.get("geometry") == self.plan.geometry(sizes):
                if change is not None and legacy:
                    log.info("indicator %r: snapshot of an earlier version, its sensors "
                             "renumbered to those of its kind", indicator)  # fmt: skip
                elif change is not None:
                    self._log_area_change(indicator, change)
                else:  # said too, so that a restart's log accounts for every indicator
                    log.info("indicator %r: resumed from the recovery snapshot", indicator)
                return state, change
        log.warning(
            "indicator %r: its windows, aggregate or area levels changed since the recovery "
            "snapshot, so it starts afresh (open windows and detector baselines are dropped, "
            "firing warnings withdrawn)",
            indicator,
        )
        instrument.recovery_reset(indicator, "geometry")
        return None, None

    @staticmethod
    def _log_area_change(indicator: str, change: AreaChange) -> None:
        if change.removed():
            log.warning(
                "indicator %r: its areas changed since the recovery snapshot (%s); the areas "
                "that remain resume, new ones start fresh, and the removed ones' open windows "
                "and detector baselines are dropped and their firing warnings withdrawn",
                indicator,
                change.describe(),
            )
            instrument.recovery_reset(indicator, "areas")
        else:
            log.info(
                "indicator %r: its areas changed since the recovery snapshot (%s); the areas "
                "that remain resume, new ones start fresh",
                indicator,
                change.describe(),
            )

    def _emit(self, step: Step, partition: str = "") -> list[IndicatorOutput]:
        withdrawn, self.withdrawn = self.withdrawn, []
        progress = self.runtime.progress
        high = max(progress.max_ts.values(), default=None)
        through = self.runtime.windows.closed_through()
        if not step.closed and not step.late:
            # a close no area had data in emits nothing, but the exporter must hear of it
            self.gauges.report([], None, withdrawn, progress.watermark, high, through)
            return [IndicatorOutput([], 0, withdrawn)] if withdrawn else []
        scored = self.scorer.score(step.closed)
        events = withdrawn + (self.warnings.process(scored) if scored is not None else [])
        self.gauges.report(step.closed, scored, events, progress.watermark, high, through)
        instrument.late(self.plan.indicator.source.kind, step.late)
        lines: list[str] = []
        least = self.plan.indicator.value.min_count
        for c in step.closed:
            lines.extend(window_lines(c, self.plan.spaces[c.level].codes, least))
        late = late_letters(self.plan, step.late_events, partition)
        return [IndicatorOutput(lines, step.late, events, scored_lines(scored), late)]

    def on_batch(self, values: list[Share]) -> tuple[Iterable[IndicatorOutput], bool]:
        out: list[IndicatorOutput] = []
        for share in values:
            if self.indicator is None:
                self._start(share.indicator, None)
            step = self.runtime.on_batch(
                share.routed, share.partition, share.max_ts, share.finished
            )
            out += self._emit(step, share.partition)
        return out, StatefulBatchLogic.RETAIN

    def _discard(self) -> tuple[Iterable[IndicatorOutput], bool]:
        """A removed indicator's last word: its withdrawn warnings, then its state goes."""
        withdrawn, self.withdrawn = self.withdrawn, []
        last = [IndicatorOutput([], 0, withdrawn)] if withdrawn else []
        return last, StatefulBatchLogic.DISCARD

    def on_eof(self) -> tuple[Iterable[IndicatorOutput], bool]:
        if self.stale is not None:
            return self._discard()
        if self.indicator is None:
            return [], StatefulBatchLogic.RETAIN
        return self._emit(self.runtime.on_eof()), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        """Live sources only: wake up once the partitions have been quiet for `idle_after`.
        A removed indicator's leftover state asks to be woken at once, to be discarded."""
        if self.stale is not None:
            return datetime.now(UTC)
        if self.idle_after is None or self.indicator is None:
            return None
        return datetime.now(UTC) + timedelta(seconds=self.idle_after)

    def on_notify(self) -> tuple[Iterable[IndicatorOutput], bool]:
        if self.stale is not None:
            return self._discard()
        if self.indicator is None:
            return [], StatefulBatchLogic.RETAIN
        return self._emit(self.runtime.on_quiet()), StatefulBatchLogic.RETAIN

    def snapshot(self) -> dict[str, object]:
        if self.stale is not None:
            return self.stale
        return {
            "indicator": self.indicator,
            "geometry": self.geometry,
            "areas": self.areas,
            "runtime": self.runtime.snapshot(),
            "scorer": self.scorer.snapshot(),
            "warnings": self.warnings.snapshot(),
            "withdrawn": [e.to_dict() for e in self.withdrawn],
        }


def scored_lines(scored: ScoredBatch | None) -> list[str]:
    """Closed windows with their score, expected band and count of records, for replays of
    the dispatch path (the count: a warning cleared by windows too thin to judge says how
    thin they were)."""
    if scored is None:
        return []
    cols = zip(
        scored.indicator_id.tolist(), scored.area_code.tolist(), scored.area_level.tolist(),
        scored.window_start.tolist(), scored.window_end.tolist(), scored.value.tolist(),
        scored.score.tolist(), scored.lower.tolist(), scored.upper.tolist(),
        scored.detectors.tolist(), scored.count.tolist(), strict=True,
    )  # fmt: skip
    keys = ("indicator", "area", "area_level", "start", "end", "value", "score", "lower",
            "upper", "detectors", "count")  # fmt: skip
    return [
        json.dumps(
            {
                k: (None if isinstance(v, float) and v != v else v)
                for k, v in zip(keys, row, strict=True)
            }
        )
        for row in cols
    ]


def order_lines(ctx: Context, decoded: Decoded) -> list[str]:
    """The hotline's work orders of a decoded batch, as `citysigns dispatch --orders` reads
    them (flows.orders): the dispatcher never sees a raw record."""
    batch = decoded.batch
    if not isinstance(batch, ChannelBatch):
        return []
    return [dumps(order) for order in hotline_orders(batch, ctx.city)]


def route(ctx: Context, decoded: Decoded) -> list[tuple[str, Share]]:
    """Every indicator gets its share, possibly empty: progress must reach all of them."""
    out = []
    batch = decoded.batch
    for plan in ctx.plan.plans:
        routed = EMPTY
        if batch is None or not len(batch):
            pass
        elif isinstance(batch, SensorBatch):
            if not plan.channel:
                routed = plan.route_sensors(batch, ctx.kind_of_sensor)
        elif plan.channel and plan.indicator.source.kind == batch.channel:
            routed = plan.route_channel(batch)
        share = Share(plan.id, decoded.partition, routed, decoded.max_ts, decoded.finished)
        out.append((plan.id, share))
    return out


def build_flow(
    cfg: FlowConfig,
    source: Source[RawChunk] | None = None,
    n_partitions: int | None = None,
    windows_sink: DynamicSink[Any] | None = None,
) -> Dataflow:
    """The dataflow; `source` defaults to replaying `cfg.inputs`."""
    ctx = context(cfg.catalog, cfg.registry)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("windows.ndjson", "dead_letters.ndjson", "warnings.ndjson", "orders.ndjson"):
        (out / name).touch()  # the contract: the files exist, even when empty
    # throughput for replays as fast as possible; latency for live and paced sources
    replay_at_full_speed = source is None and cfg.speed is None
    if source is None:
        replay = FileReplaySource(list(cfg.inputs), chunk_bytes=cfg.chunk_bytes, speed=cfg.speed)
        n_partitions = len(replay.list_parts())
        source = replay
    assert n_partitions is not None
    flow = Dataflow("citysigns")
    chunks = op.input("inputs", flow, source)
    keyed = op.key_on("by_partition", chunks, lambda c: c.source)
    ahead = replay_at_full_speed
    decoded = op.stateful_batch("decode", keyed, lambda state: DecodeLogic(ctx, state, ahead))
    by_family = op.branch("is_channel", op.map("unkey_decoded", decoded, lambda kv: kv[1]),
                          is_channel)  # fmt: skip
    channels = op.stateful_batch(
        "channel_repeats",
        op.key_on("by_channel", by_family.trues, channel_of),
        ChannelRepeatsLogic,
    )
    unique = op.map("unkey_channels", channels, lambda kv: kv[1])
    plain = op.merge("all_decoded", by_family.falses, unique)
    dead = op.flat_map("decode_letters", plain, lambda d: dead_letter_lines(d.dead.letters))
    shares = op.flat_map("route", plain, lambda d: route(ctx, d))
    orders = op.flat_map("order_lines", plain, lambda d: order_lines(ctx, d))
    op.output("orders", op.key_on("ok", orders, lambda _l: "orders"),
              FileSink(out / "orders.ndjson"))  # fmt: skip
    plans = ctx.plan.by_id()
    parts = n_partitions
    results = op.stateful_batch(
        "indicators", shares, lambda state: IndicatorLogic(plans, parts, state, cfg.idle_after)
    )
    lines = op.flat_map("window_lines", results, lambda kv: kv[1].window_lines)
    late = op.flat_map("late_letters", results, lambda kv: dead_letter_lines(kv[1].late_letters))
    op.output("windows", op.key_on("w", lines, lambda _l: "windows"),
              windows_sink or FileSink(out / "windows.ndjson"))  # fmt: skip
    warning_lines = op.flat_map(
        "warning_lines",
        results,
        lambda kv: [dumps(w.to_dict()) for w in kv[1].warnings],
    )
    op.output(
        "warnings",
        op.key_on("wk", warning_lines, lambda _l: "warnings"),
        FileSink(out / "warnings.ndjson"),
    )
    if cfg.write_scored:
        (out / "scored.ndjson").touch()
        scored = op.flat_map("scored_lines", results, lambda kv: kv[1].scored_lines)
        op.output(
            "scored",
            op.key_on("sk", scored, lambda _l: "scored"),
            FileSink(out / "scored.ndjson"),
        )
    all_dead = op.merge("all_dead", dead, late)
    op.output("dead_letters", op.key_on("d", all_dead, lambda _l: "dead"),
              FileSink(out / "dead_letters.ndjson"))  # fmt: skip
    return flow


def late_letters(plan: IndicatorPlan, late: Routed | None, partition: str) -> list[DeadLetter]:
    """One dead letter per late event, holding the event as the indicator saw it (area, time,
    value): nothing is lost, and replaying the letters recounts them.  The raw line is gone by
    then (decoding freed it), so the record is rebuilt, its time on the city's clock with its
    offset; the source names the partition (the input file) and the position is the record's
    own there (line number, or Kafka offset), carried through the batch as a column."""
    if late is None or not len(late):
        return []
    codes = plan.spaces[plan.levels[0]].codes[late.area]
    stamps = iso_ms(late.ts)
    values = [None] * len(late) if late.value is None else late.value.tolist()
    positions = [0] * len(late) if late.position is None else late.position.tolist()
    detail = f"every window of {plan.id} holding it had closed (lateness {plan.spec.lateness}s)"
    return [
        DeadLetter(_late_record(plan.id, code, ts, value), Reason.LATE, detail, partition, at)
        for code, ts, value, at in zip(codes.tolist(), stamps, values, positions, strict=True)
    ]


def _late_record(indicator: str, area: object, ts: object, value: object) -> str:
    return json.dumps({"indicator": indicator, "area": str(area), "ts": str(ts), "value": value})


def get_flow(
    out_dir: str,
    *inputs: str,
    catalog: str | None = None,
    registry: str | None = None,
    stdin: bool = False,
    kafka_brokers: str | None = None,
    kafka_topics: str | None = None,
    idle_after: float | None = 60.0,
) -> Dataflow:
    """The same dataflow for `python -m bytewax.run`, e.g. with two processes:

        python -m bytewax.run "flows.flow:get_flow('out', kafka_brokers='host:9092',
            kafka_topics='sensors,hotline')" -a host1:2101;host2:2101 -i 0

    `registry` is the deployment's sensor registry file (CSV or .npz; default: the one
    shipped with the package).  Files replay as fast as possible; `stdin=True` reads NDJSON
    from standard input; Kafka topics are the production path (`pip install -e '.[kafka]'`).
    On Kafka, a partition with no events for `idle_after` seconds stops holding the watermark
    back (None: never)."""
    cfg = FlowConfig(
        inputs=tuple(inputs),
        out_dir=out_dir,
        catalog=(catalog,) if catalog else FlowConfig.catalog,
        registry=registry,
        idle_after=idle_after if kafka_brokers else None,
    )
    if kafka_brokers:
        from flows.sources import KafkaChunkSource

        kafka = KafkaChunkSource(kafka_brokers.split(","), (kafka_topics or "").split(","))
        return build_flow(cfg, kafka, n_partitions=len(kafka.list_parts()))
    if stdin:
        from flows.sources import StdinSource

        return build_flow(cfg, StdinSource(), n_partitions=1)
    return build_flow(cfg)
