"""What the flow tells Prometheus: each step reports to the process's exporter, if one runs.

The exporter (flows.metrics) is optional and per process: `citysigns run --metrics-port`
installs one; tests and backtests run without.  Updates are O(batch) numpy work; the
per-series formatting happens only when Prometheus scrapes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from alerts.events import WarningEvent
from alerts.levels import LEVELS
from flows.decode.batches import SensorBatch
from flows.decode.reasons import DeadLetters
from flows.metrics import CitySignsMetrics
from flows.plan import IndicatorPlan
from flows.scoring import ScoredBatch
from flows.windows import ClosedWindows
from flows.windows.progress import END_OF_TIME, NO_TIME

_metrics: CitySignsMetrics | None = None
LIVE_WITHIN_S = 86400  # closing latency is only meaningful for windows of the last day
SENSOR_RECORDS = "sensor"  # the source of sensor records counted before their kind is known
# `unplaced`: accepted citizen records that lie in no area of the city model (no position,
# or a position outside it), which no indicator counts; a share of `accepted`, not beside it
OUTCOMES = ("accepted", "dead_letter", "duplicate", "late", "unplaced")


Outcomes = Counter[tuple[str, str]]  # (source, outcome) -> n


def outcomes(source: str, accepted: int, dead: DeadLetters) -> Outcomes:
    """What one decoded batch adds to the tally: accepted events, and its dead letters as
    `duplicate` (repeats dropped) or `dead_letter` (everything else)."""
    out: Outcomes = Counter()
    if accepted:
        out[(source, "accepted")] += accepted
    for reason, n in dead.counts.items():
        out[(source, "duplicate" if reason == "duplicate" else "dead_letter")] += n
    return out


class DecodeTally:
    """Decoding's outcomes per source in this process, kept whether an exporter runs or not,
    so that a run's summary can account for what it read: a citizen channel's records read =
    accepted + dead letters + duplicates; sensor records are counted as the values they carry
    (one record may hold several), refused records as records.

    A resumed run reads its inputs from the recovery snapshot on, so the steps that count
    also keep their counts in their snapshots and hand them back here when they are restored
    (`restore`): the tally is then the whole run's, the killed runs' share included, as the
    output files are.  A snapshot without counts (an earlier version's) leaves the tally this
    process's alone, and says so (`since_resume`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Outcomes = Counter()
        self.since_resume = False  # a restored step had no counts: only this process's

    def add(self, counts: Outcomes) -> None:
        with self._lock:
            self.counts.update(counts)

    def restore(self, saved: object) -> Outcomes:
        """A step's counts from its recovery snapshot (`snapshot_counts`), added to the tally;
        returns them, for the step to count on from.  None: the snapshot has none."""
        counts = restore_counts(saved)
        with self._lock:
            if counts is None:
                self.since_resume = True
                return Counter()
            self.counts.update(counts)
        return counts

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.since_resume = False

    def by_source(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (source, outcome), n in sorted(self.counts.items()):
                if n:
                    out.setdefault(source, {})[outcome] = n
            return out


def snapshot_counts(counts: Outcomes) -> list[tuple[str, str, int]]:
    """A step's counts as its recovery snapshot keeps them: plain tuples."""
    return [(source, outcome, n) for (source, outcome), n in sorted(counts.items())]


def restore_counts(saved: object) -> Outcomes | None:
    """The counts of `snapshot_counts`; None when the snapshot holds none."""
    if not isinstance(saved, list):
        return None
    return Counter({(str(src), str(what)): int(n) for src, what, n in saved})


TALLY = DecodeTally()


def install(metrics: CitySignsMetrics | None) -> None:
    global _metrics
    _metrics = metrics


def installed() -> CitySignsMetrics | None:
    return _metrics


def event_series(sensor_kinds: Iterable[str], channels: Iterable[str]) -> list[tuple[str, str]]:
    """Every (source, outcome) counter the flow can raise, for `CitySignsMetrics.expect_events`.

    Sensor readings are accepted and come late per sensor kind; sensor records that go to dead
    letters or repeat earlier ones are counted under `sensor`, since a record's kind is not
    known before its id is read.  Citizen channels count every outcome under their name."""
    series = []
    for kind in sensor_kinds:
        series += [(kind, "accepted"), (kind, "late")]
    series += [(SENSOR_RECORDS, "dead_letter"), (SENSOR_RECORDS, "duplicate")]
    for channel in channels:
        series += [(channel, outcome) for outcome in OUTCOMES]
    return series


def decoded(family: str, n_events: int, dead: DeadLetters, unplaced: int = 0) -> Outcomes:
    """A decoded batch of a citizen channel (or, without a registry, of sensor records);
    returns what it added to the tally, for the step's own count.  `unplaced` of the
    accepted events lie in no area of the city model: an order still reaches dispatch, but
    no indicator counts them, and the summary and the metrics say how many."""
    counted = outcomes(family, n_events, dead)
    if unplaced:
        counted[(family, "unplaced")] += unplaced
    TALLY.add(counted)
    m = _metrics
    if m is None:
        return counted
    m.observe_batch_size(n_events)
    m.record_events(family, "accepted", n_events)
    if unplaced:
        m.record_events(family, "unplaced", unplaced)
    _dead_letters(m, family, dead)
    return counted


def decoded_sensors(kinds: Sequence[str], kind_of_row: np.ndarray, batch: SensorBatch,
                    dead: DeadLetters) -> Outcomes:  # fmt: skip
    """A decoded batch of sensor readings: accepted readings counted per sensor kind
    (`kind_of_row`: the registry's kind index of each row, into `kinds`); returns what it
    added to the tally, for the step's own count."""
    counted = outcomes(SENSOR_RECORDS, len(batch), dead)
    TALLY.add(counted)
    m = _metrics
    if m is None:
        return counted
    m.observe_batch_size(len(batch))
    if len(batch):
        per_kind = np.bincount(kind_of_row[batch.sensor], minlength=len(kinds))
        for k in np.flatnonzero(per_kind).tolist():
            m.record_events(kinds[k], "accepted", int(per_kind[k]))
    _dead_letters(m, SENSOR_RECORDS, dead)
    return counted


def _dead_letters(m: CitySignsMetrics, source: str, dead: DeadLetters) -> None:
    for reason, n in dead.counts.items():
        m.record_dead_letters(reason, n)
        m.record_events(source, "duplicate" if reason == "duplicate" else "dead_letter", n)


def recovery_reset(indicator: str, reason: str) -> None:
    if _metrics is not None:
        _metrics.record_recovery_reset(indicator, reason)


def inputs_ended() -> None:
    """The replay is over, every input has ended: no partition trails any more, so the
    watermark lag is 0.  Each indicator sets the lag from its own view as its windows close,
    in no set order across indicators, so the last to report after the end could leave the
    lag it measured while one file was behind another (16,930 s after the first 3,000 lines
    of the demo city's files), firing CitySignsWatermarkLag while the replay lingered."""
    if _metrics is not None:
        _metrics.set_watermark_lag(0.0)


def late(family: str, n: int) -> None:
    if _metrics is not None and n:
        _metrics.record_dead_letters("late", n)
        _metrics.record_events(family, "late", n)


class IndicatorGauges:
    """Current warning level per area of one indicator, kept from the warning events, so the
    exporter can show value, band, score and level side by side."""

    def __init__(self, plan: IndicatorPlan) -> None:
        self.plan = plan
        self.level = {lvl: np.zeros(s.codes.size, np.int8) for lvl, s in plan.spaces.items()}
        self._index: dict[str, dict[str, int]] = {}
        # per area level, the end of the latest close the exporter has shown (epoch s)
        self._shown_end: dict[str, int] = {}

    def _idx(self, level: str, code: str) -> int | None:
        table = self._index.get(level)
        if table is None:
            codes = self.plan.spaces[level].codes.astype(str)
            table = self._index[level] = {c: i for i, c in enumerate(codes.tolist())}
        return table.get(code)

    def report(
        self,
        closed: list[ClosedWindows],
        scored: ScoredBatch | None,
        events: list[WarningEvent],
        watermark_ms: int,
        high_ms: int | None,
        closed_through: int | None = None,
    ) -> None:
        m = _metrics
        for e in events:
            i = self._idx(e.area_level, e.area_code)
            if i is not None:
                resolved = e.kind == "resolved"
                self.level[e.area_level][i] = 0 if resolved else LEVELS.index(e.level) + 1
        if m is None:
            return
        if watermark_ms not in (NO_TIME, END_OF_TIME):
            m.set_watermark(watermark_ms / 1000)
            if high_ms is not None:
                m.set_watermark_lag(max(0.0, (high_ms - watermark_ms) / 1000))
        if scored is not None:
            self._show_windows(m, closed, scored)
        if closed_through is not None and watermark_ms != END_OF_TIME:
            self._show_gaps(m, closed_through)
        m.set_tracked_series(self.plan.id, sum(s.codes.size for s in self.plan.spaces.values()))

    def _show_windows(
        self, m: CitySignsMetrics, closed: list[ClosedWindows], scored: ScoredBatch
    ) -> None:
        """Each close's windows: value, band, score and warning level of every area in it."""
        row = 0
        now = time.time()
        lateness = self.plan.spec.lateness
        for c in closed:
            n = len(c)
            part = slice(row, row + n)
            row += n
            # the scored value: NaN where the indicator's `min_count` left the window unjudged,
            # so no generated alert or dashboard colour judges it either; and none for an area
            # without a window at this close (`whole_window`), as the flow's warnings see it
            m.update_indicator(
                self.plan.id, c.level, scored.area_code[part], scored.value[part],
                scored.lower[part], scored.upper[part], scored.score[part],
                self.level[c.level][c.area],
                window_end=float(c.end), whole_window=True,
            )  # fmt: skip
            self._shown_end[c.level] = max(self._shown_end.get(c.level, c.end), c.end)
            if not n:
                continue
            delay = now - (c.end + lateness)
            if 0 <= delay < LIVE_WITHIN_S:
                m.observe_window_close_latency(delay)

    def _show_gaps(self, m: CitySignsMetrics, end: int) -> None:
        """A close in which no area had a window (sensors that all report every 20 min into
        windows sliding by 5) emits nothing, and the flow's warnings see the gap all the same:
        once the engine has closed such a window (`end`, its `closed_through`), every area of
        the indicator is shown without a value until its next window, as an area missing from
        a close is."""
        for lvl, shown in self._shown_end.items():
            if end > shown:
                none = np.zeros(0)
                m.update_indicator(self.plan.id, lvl, none.astype(str), none, none, none, none,
                                   none, whole_window=True)  # fmt: skip
                self._shown_end[lvl] = end
