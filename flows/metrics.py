"""The Prometheus exporter: indicators, tickets and the pipeline's own health.

The flow updates a `CitySignsMetrics` object once per batch with numpy arrays (a window close
hands over every area of one indicator and level at once); nothing is formatted then.  Only when
Prometheus scrapes does `CitySignsCollector` turn the current state into metric families, so
the per-series cost is paid once per scrape, not once per event or window.

The exporter never touches prometheus_client's global registry: `serve()` builds a fresh
`CollectorRegistry` holding only this collector, bound to 127.0.0.1 unless told otherwise.

Cardinality is a budget, not an accident: series finer than `max_area_level` are not exported
at all (a city has ~10^8 sensors), and once `max_series` samples are exported new areas are
refused; both are counted in `citysigns_metric_updates_dropped_total`.  Area labels are codes
of places (GB/T 2260-style district, street, grid, community codes), never ids of people or
free text."""

from __future__ import annotations

import errno
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from wsgiref.simple_server import WSGIServer

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from flows.decode.reasons import Reason
from indicators.language.registry import AREA_LEVELS, WARNING_LEVELS

if TYPE_CHECKING:
    from indicators.language.validate import Catalog

# --- names: the contract with the generated rules and dashboards ---------------------------
PREFIX: Final = "citysigns"
INDICATOR_VALUE: Final = f"{PREFIX}_indicator_value"
INDICATOR_LOWER: Final = f"{PREFIX}_indicator_expected_lower"
INDICATOR_UPPER: Final = f"{PREFIX}_indicator_expected_upper"
INDICATOR_SCORE: Final = f"{PREFIX}_indicator_anomaly_score"
INDICATOR_WARNING: Final = f"{PREFIX}_indicator_warning_level"
INDICATOR_WINDOW_END: Final = f"{PREFIX}_indicator_window_end_timestamp_seconds"
INDICATOR_INFO: Final = f"{PREFIX}_indicator_info"
AREA_INFO: Final = f"{PREFIX}_area_info"
TICKETS: Final = f"{PREFIX}_tickets"
TICKETS_OVERDUE: Final = f"{PREFIX}_tickets_overdue"
TICKETS_SUPERVISED: Final = f"{PREFIX}_tickets_supervised"
TICKETS_CLOSED: Final = f"{PREFIX}_tickets_closed"  # counter: exposed as ..._total
TICKET_STORE_UP: Final = f"{PREFIX}_ticket_store_up"
TICKET_OUTBOX_PENDING: Final = f"{PREFIX}_ticket_outbox_pending"
DISPATCH_ORDERS_HELD: Final = f"{PREFIX}_dispatch_orders_held"
TICKET_STORE_ERRORS: Final = f"{PREFIX}_ticket_store_errors"  # counter
EVENTS: Final = f"{PREFIX}_events"  # counter
# The events of EVENTS that are records read: `unplaced` is a share of `accepted` counted
# again, so a sum over every outcome (a rate of records, the dead-letter ratio's
# denominator) counted each record without an area twice.
EVENTS_READ: Final = 'outcome!="unplaced"'
DEAD_LETTERS: Final = f"{PREFIX}_dead_letters"  # counter
WATERMARK_LAG: Final = f"{PREFIX}_watermark_lag_seconds"
WATERMARK_TIME: Final = f"{PREFIX}_watermark_timestamp_seconds"
WINDOW_CLOSE_LATENCY: Final = f"{PREFIX}_window_close_latency_seconds"
BATCH_EVENTS: Final = f"{PREFIX}_batch_events"
TRACKED_SERIES: Final = f"{PREFIX}_tracked_series"
LAST_BATCH: Final = f"{PREFIX}_last_batch_timestamp_seconds"
START_TIME: Final = f"{PREFIX}_flow_start_time_seconds"
BUILD_INFO: Final = f"{PREFIX}_build_info"
EXPORTED_SERIES: Final = f"{PREFIX}_metric_series"
SERIES_BUDGET: Final = f"{PREFIX}_metric_series_budget"
UPDATES_DROPPED: Final = f"{PREFIX}_metric_updates_dropped"  # counter
RECOVERY_RESETS: Final = f"{PREFIX}_recovery_resets"  # counter
# Why a resumed indicator did not take up all of its recovery state (flows.flow.IndicatorLogic)
RESET_REASONS: Final = ("removed", "geometry", "areas", "detectors")

SERIES_LABELS: Final = ("indicator", "category", "area_level", "area", "district")
# Gauge value of INDICATOR_WARNING: 0 = none, then blue (IV) .. red (I).
WARNING_LEVEL_VALUES: Final[dict[str, int]] = {
    name: i for i, name in enumerate(("none", *WARNING_LEVELS))
}
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS: Final = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0)
# Per (indicator, area) the exporter writes value, lower, upper, score and warning level.
SAMPLES_PER_AREA: Final = 5
WARNING_LEVEL_ROW: Final = 4  # the last of a table's rows: value, lower, upper, score, level
DROP_FINER_LEVEL: Final = "finer_than_max_area_level"
DROP_BUDGET: Final = "over_series_budget"
CITY_CODE: Final = "310000"

# Label values that are enumerations (sources, outcomes, reasons, states, departments...):
# lower-case words, so free text or an id cannot slip into a label by mistake.
_TOKEN = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_SENSOR_DISTRICT = re.compile(r"^[A-Z]{2}-(\d{6})-")

FloatArray = npt.NDArray[np.float64]


def _token(kind: str, value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(
            f"{kind} {value!r} cannot be a metric label: use a lower-case word such as "
            "'hotline' or 'bad_json' (no ids, no free text)"
        )
    return value


# --- configuration -------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricsConfig:
    """Where the exporter listens and how many series it may export.

    `max_area_level` is the finest area level exported (sensor, community, grid, street,
    district, city); `max_series` caps the indicator samples (5 per indicator and area)."""

    port: int = 9464
    addr: str = "127.0.0.1"
    max_area_level: str = "street"
    max_series: int = 200_000

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"metrics port {self.port} is not in 0..65535 (0 picks a free one)")
        if self.max_area_level not in AREA_LEVELS:
            raise ValueError(
                f"max_area_level {self.max_area_level!r} is not an area level; "
                f"one of {', '.join(AREA_LEVELS)}"
            )
        if self.max_series < 0:
            raise ValueError("max_series cannot be negative")

    def exports(self, area_level: str) -> bool:
        """True when series at `area_level` are within the configured granularity."""
        return AREA_LEVELS.index(area_level) >= AREA_LEVELS.index(self.max_area_level)


# --- what the exporter knows about indicators and places -----------------------------------
@dataclass(frozen=True)
class IndicatorInfo:
    category: str
    unit: str
    owner: str
    department: str  # "none" for indicators that only inform


def indicator_infos(catalog: Catalog | Iterable[Any]) -> dict[str, IndicatorInfo]:
    """The labels each indicator's series carry, from the resolved catalog."""
    out: dict[str, IndicatorInfo] = {}
    for ind in catalog:
        disp = ind.dispatched()
        out[ind.id] = IndicatorInfo(
            ind.category, ind.unit, ind.owner, disp.department if disp else "none"
        )
    return out


@dataclass(frozen=True)
class AreaInfo:
    level: str
    district: str
    name_zh: str
    name_en: str
    lat: float
    lon: float


def areas_from_city(city: Any, config: MetricsConfig) -> dict[str, AreaInfo]:
    """Names and centres of the areas the exporter may label (only the exported levels), so
    `citysigns_area_info` can feed the maps and tables of the dashboards."""
    out: dict[str, AreaInfo] = {}
    for level in ("city", "district", "street", "grid", "community"):
        if not config.exports(level):
            continue
        table = city.level(level)
        for code, zh, en, lat, lon in zip(
            table.code.tolist(),
            table.name_zh.tolist(),
            table.name_en.tolist(),
            table.lat.tolist(),
            table.lon.tolist(),
            strict=True,
        ):
            district = "" if level == "city" else code[:6]
            out[code] = AreaInfo(level, district, zh, en, round(lat, 5), round(lon, 5))
    return out


def district_codes(area_level: str, area_codes: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The district of each area: the 6-digit prefix of a hierarchical code, the middle part of
    a sensor id ("AQ-310106-000123"), and "" for the city itself (no district)."""
    codes = np.asarray(area_codes).astype(str)
    if area_level == "city":
        return np.full(codes.shape, "", dtype="<U6")
    if area_level == "sensor":
        found = [_SENSOR_DISTRICT.match(c) for c in codes.tolist()]
        return np.array([m.group(1) if m else "" for m in found], dtype="<U6")
    return codes.astype("<U6")


# --- state ---------------------------------------------------------------------------------
@dataclass
class _SeriesTable:
    """The latest window of one indicator at one area level, one column per area, areas
    sorted by code so a batch of updates is merged with one `searchsorted`."""

    codes: npt.NDArray[np.str_] = field(default_factory=lambda: np.array([], dtype=str))
    districts: npt.NDArray[np.str_] = field(default_factory=lambda: np.array([], dtype=str))
    # rows: value, lower, upper, score, warning level
    data: FloatArray = field(default_factory=lambda: np.empty((SAMPLES_PER_AREA, 0)))
    window_end: float = math.nan

    def __len__(self) -> int:
        return int(self.codes.size)

    def upsert(
        self,
        codes: npt.NDArray[np.str_],
        districts: npt.NDArray[np.str_],
        data: FloatArray,
        room: int,
        whole: bool = False,
    ) -> int:
        """Overwrite known areas, add new ones while `room` (areas) allows; returns how many
        new areas were refused.  `whole`: the update is a whole closed window, so a known
        area it leaves out had no window there: its value, band and score become NaN (not
        exported), its warning level stays."""
        codes, first = np.unique(codes, return_index=True)  # one row per area (first wins)
        districts, data = districts[first], data[:, first]
        n = len(self)
        pos = np.searchsorted(self.codes, codes) if n else np.zeros(codes.size, dtype=np.int64)
        known = pos < n
        known[known] = self.codes[pos[known]] == codes[known]
        if whole and n:
            self.data[:WARNING_LEVEL_ROW, :] = np.nan
        self.data[:, pos[known]] = data[:, known]
        new = np.flatnonzero(~known)
        refused = max(0, new.size - max(room, 0))
        if refused:
            new = new[: new.size - refused]
        if new.size:
            all_codes = np.concatenate([self.codes, codes[new]])
            order = np.argsort(all_codes, kind="stable")
            self.codes = all_codes[order]
            self.districts = np.concatenate([self.districts, districts[new]])[order]
            self.data = np.concatenate([self.data, data[:, new]], axis=1)[:, order]
        return refused


def _histogram_add(counts: npt.NDArray[np.int64], bounds: Sequence[float], x: FloatArray) -> None:
    """Counts per bucket (not cumulative); the last slot is +Inf."""
    idx = np.searchsorted(np.asarray(bounds), x, side="left")
    counts += np.bincount(idx, minlength=len(bounds) + 1).astype(np.int64)


@dataclass(frozen=True)
class TicketCounts:
    """A snapshot of the ticket store, as the metrics show it.

    `open` by (status, department, tier, level); `overdue` and `supervised` by (department,
    tier, level); `closed` cumulative by (department, "met" | "missed") deadline."""

    open: Mapping[tuple[str, str, str, str], int] = field(default_factory=dict)
    overdue: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    supervised: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    closed: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], now: int) -> TicketCounts:
        """From rows of the ticket store's `tickets` table (alerts/schema.py column names).

        Overdue: open and past the accept deadline before acceptance, or past the handle
        deadline before the department's feedback.  Closed tickets met their deadline when
        feedback came by `handle_due_original`, the handling deadline the department was
        given: a supervision restarts `handle_due` from the moment it was missed, so judged
        on that one a late ticket would count as met (rows without it use `handle_due`)."""
        open_: dict[tuple[str, str, str, str], int] = {}
        overdue: dict[tuple[str, str, str], int] = {}
        supervised: dict[tuple[str, str, str], int] = {}
        closed: dict[tuple[str, str], int] = {}
        for r in rows:
            dept, tier, level = str(r["department"]), str(r["tier"]), str(r["level"])
            if r["status"] == "closed":
                done = r.get("feedback_at") or r.get("closed_at") or now
                due = r.get("handle_due_original") or r["handle_due"]
                key2 = (dept, "met" if done <= due else "missed")
                closed[key2] = closed.get(key2, 0) + 1
                continue
            key4 = (str(r["status"]), dept, tier, level)
            open_[key4] = open_.get(key4, 0) + 1
            late_accept = r.get("accepted_at") is None and r["accept_due"] < now
            late_handle = r.get("feedback_at") is None and r["handle_due"] < now
            if late_accept or late_handle:
                overdue[(dept, tier, level)] = overdue.get((dept, tier, level), 0) + 1
            if r.get("supervised"):
                supervised[(dept, tier, level)] = supervised.get((dept, tier, level), 0) + 1
        return cls(open_, overdue, supervised, closed)

    def check(self) -> None:
        for key4 in self.open:
            for kind, v in zip(("status", "department", "tier", "level"), key4, strict=True):
                _token(kind, v)
        for key3 in (*self.overdue, *self.supervised):
            for kind, v in zip(("department", "tier", "level"), key3, strict=True):
                _token(kind, v)
        for dept, deadline in self.closed:
            _token("department", dept)
            if deadline not in ("met", "missed"):
                raise ValueError(f"closed tickets are 'met' or 'missed', not {deadline!r}")


class CitySignsMetrics:
    """Everything the exporter shows, held as plain Python and numpy values.

    Thread-safe: the flow updates it from its worker thread(s) while the HTTP server's thread
    scrapes it.  Every update is O(batch) numpy work under a short lock."""

    def __init__(
        self,
        indicators: Mapping[str, IndicatorInfo],
        config: MetricsConfig | None = None,
        areas: Mapping[str, AreaInfo] | None = None,
        clock: Callable[[], float] = time.time,
        version: str = "",
        tickets_only: bool = False,
    ) -> None:
        self.config = config or MetricsConfig()
        # the ticket API's and the dispatcher's exporters: the ticket families alone (the
        # flow's dead letters, batches and windows at 0 there only muddied every query
        # without a job filter)
        self.tickets_only = tickets_only
        self.indicators = dict(indicators)
        self.areas = dict(areas or {})
        self.version = version or _package_version()
        self._clock = clock
        self._lock = threading.Lock()
        self.started_at = clock()
        self._tables: dict[tuple[str, str], _SeriesTable] = {}
        self._events: dict[tuple[str, str], int] = {}
        # every reason exists from the start, at 0: a reason's first burst is then an increase
        # that rate() and the dead-letter alert see, not the first sample of a new series
        self._dead: dict[str, int] = {str(r): 0 for r in Reason}
        self._dropped: dict[str, int] = {DROP_FINER_LEVEL: 0, DROP_BUDGET: 0}
        self._tracked: dict[str, int] = {}
        self._resets: dict[tuple[str, str], int] = {}
        self._watermark_lag = math.nan
        self._watermark = math.nan
        self._last_batch = math.nan
        self._latency = np.zeros(len(LATENCY_BUCKETS) + 1, dtype=np.int64)
        self._latency_sum = 0.0
        self._batch = np.zeros(len(BATCH_BUCKETS) + 1, dtype=np.int64)
        self._batch_sum = 0.0
        # the ticket store's counts, exported once set: only `citysigns serve` reads the store
        # for them, so the flow's and the dispatcher's exporters show no empty families
        self._tickets: TicketCounts | None = None
        self._store: tuple[bool, int, int] | None = None
        self._held: int | None = None  # orders a following dispatcher holds

    @classmethod
    def for_catalog(
        cls, catalog: Catalog | Iterable[Any], config: MetricsConfig | None = None, **kw: Any
    ) -> CitySignsMetrics:
        return cls(indicator_infos(catalog), config, **kw)

    # ----------------------------------------------------------------- indicators
    def update_indicator(
        self,
        indicator: str,
        area_level: str,
        area_codes: npt.ArrayLike,
        value: npt.ArrayLike,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
        score: npt.ArrayLike,
        warning_level_index: npt.ArrayLike,
        *,
        districts: npt.ArrayLike | None = None,
        window_end: float | None = None,
        whole_window: bool = False,
    ) -> int:
        """The latest closed window of `indicator` at `area_level` for the given areas.

        Arrays are aligned with `area_codes`; NaN means "not available" (no band, no score
        yet, a silent area) and is left out of the exposition.  `warning_level_index` is 0 for
        none, 1..4 for blue..red.  With `whole_window` the areas are every window that closed
        at that level and time, and an area exported before that had none there loses its
        value, band and score: the flow's warning takes a missing window as a break in a run
        towards a level, and a value still shown from an older window let Prometheus count a
        level's `for` across the gap and fire where the flow did not.  Returns the number of
        areas exported."""
        if indicator not in self.indicators:
            raise ValueError(f"indicator {indicator!r} is not in the catalog the exporter knows")
        if area_level not in AREA_LEVELS:
            raise ValueError(f"area level {area_level!r} is not one of {', '.join(AREA_LEVELS)}")
        codes = np.asarray(area_codes).astype(str).ravel()
        if not self.config.exports(area_level):
            with self._lock:
                self._dropped[DROP_FINER_LEVEL] += int(codes.size)
            return 0
        cols = [np.asarray(a, dtype=np.float64).ravel() for a in
                (value, lower, upper, score, warning_level_index)]  # fmt: skip
        if any(c.size != codes.size for c in cols):
            raise ValueError("update_indicator: every array must have one entry per area code")
        data = np.vstack(cols)
        dist = (
            district_codes(area_level, codes)
            if districts is None
            else np.asarray(districts).astype(str).ravel()
        )
        with self._lock:
            table = self._tables.setdefault((indicator, area_level), _SeriesTable())
            room = (self.config.max_series - self._exported_samples()) // SAMPLES_PER_AREA
            refused = table.upsert(codes, dist, data, room, whole_window)
            self._dropped[DROP_BUDGET] += refused
            if window_end is not None:
                table.window_end = float(window_end)
            return int(codes.size) - refused

    def _exported_samples(self) -> int:
        return SAMPLES_PER_AREA * sum(len(t) for t in self._tables.values())

    # ----------------------------------------------------------------- tickets
    def set_ticket_counts(self, counts: TicketCounts) -> None:
        counts.check()
        with self._lock:
            self._tickets = counts

    def set_ticket_store(self, up: bool, pending: int, errors_total: int) -> None:
        """The dispatch path's health: whether the ticket store took the last write, how many
        warnings and orders wait in the outbox, and the store failures so far (cumulative).
        An outage shows as up 0, a growing backlog and a rising error count; recovery as up 1
        and the backlog back to 0."""
        with self._lock:
            self._store = (bool(up), int(pending), int(errors_total))

    def set_orders_held(self, n: int) -> None:
        """Hotline orders a following dispatcher (`citysigns dispatch --follow`) has read and
        holds until the flow's warnings reach their time (`alerts.feed.OrderHold`).  Exported
        only once set, so the flow's own exposition does not show it.  In a quiet city, whose
        flow writes no warnings for a while, every order waits its full `--order-hold`, so a
        count up to that many seconds of orders is normal there."""
        with self._lock:
            self._held = int(n)

    def watch_ticket_service(self, service: Any) -> None:
        """`set_ticket_store` from a `alerts.service.TicketService` (its `last_error`,
        `pending()` and `store_errors`); call it after each submit, flush or tick."""
        self.set_ticket_store(service.last_error is None, service.pending(),
                              service.store_errors)  # fmt: skip

    # ----------------------------------------------------------------- pipeline health
    def record_events(self, source: str, outcome: str, n: int = 1) -> None:
        """Events read from `source` (sensor kind or channel) by `outcome` (e.g. accepted,
        dead_letter, duplicate, late)."""
        key = (_token("source", source), _token("outcome", outcome))
        with self._lock:
            self._events[key] = self._events.get(key, 0) + int(n)

    def expect_events(self, series: Iterable[tuple[str, str]]) -> None:
        """Export these (source, outcome) counters from now on, at 0 until their first count:
        a source's first events are then an increase that rate() sees, not the first sample
        of a new series, and a source that never reported shows as 0 rather than as absent."""
        keys = [(_token("source", s), _token("outcome", o)) for s, o in series]
        with self._lock:
            for key in keys:
                self._events.setdefault(key, 0)

    def record_dead_letters(self, reason: str, n: int = 1) -> None:
        _token("reason", reason)
        with self._lock:
            self._dead[reason] = self._dead.get(reason, 0) + int(n)

    def set_watermark_lag(self, seconds: float) -> None:
        with self._lock:
            self._watermark_lag = float(seconds)

    def set_watermark(self, epoch_seconds: float) -> None:
        """The flow's watermark: the event time every input has reached (a window closes
        once it passes the window's end plus its lateness); set as windows close.  The lag
        above compares it with the newest event read, so a flow whose inputs all arrive late
        (a broker's backlog, a replay) shows no lag there; `time() -` this gauge shows it.
        Every indicator reports it as its own windows close, in no fixed order, and one that
        reports late reports an older watermark: the gauge keeps the latest, as the flow's
        watermark never goes back."""
        with self._lock:
            self._watermark = float(np.fmax(self._watermark, float(epoch_seconds)))  # NaN: none yet

    def observe_window_close_latency(self, seconds: float | npt.ArrayLike) -> None:
        """Seconds from a window's end (+ lateness) to the moment it was closed and scored."""
        x = np.atleast_1d(np.asarray(seconds, dtype=np.float64))
        with self._lock:
            _histogram_add(self._latency, LATENCY_BUCKETS, x)
            self._latency_sum += float(x.sum())

    def observe_batch_size(self, n: int) -> None:
        """Events in one batch; also marks the time of the latest batch (a stalled flow shows
        as an old timestamp even when the process is still up)."""
        with self._lock:
            _histogram_add(self._batch, BATCH_BUCKETS, np.array([float(n)]))
            self._batch_sum += float(n)
            self._last_batch = self._clock()

    def record_recovery_reset(self, indicator: str, reason: str) -> None:
        """A resumed indicator dropped recovery state after a catalog or registry change:
        `removed` from the catalog, its `geometry` (windows, aggregate, levels) changed, some
        of its `areas` removed (registry, city model), or its `detectors` changed."""
        if reason not in RESET_REASONS:
            raise ValueError(f"reset reason {reason!r} is not one of {', '.join(RESET_REASONS)}")
        with self._lock:
            key = (indicator, reason)
            self._resets[key] = self._resets.get(key, 0) + 1

    def set_tracked_series(self, indicator: str, n: int) -> None:
        """Series (indicator x area) the windows engine holds state for, exported or not."""
        with self._lock:
            self._tracked[indicator] = int(n)

    # ----------------------------------------------------------------- scrape
    def snapshot(self) -> _Snapshot:
        """A consistent copy for one scrape (arrays are copied, not formatted, under the
        lock, so scrapes hold up the flow for microseconds)."""
        with self._lock:
            tables = {
                k: _SeriesTable(t.codes, t.districts, t.data.copy(), t.window_end)
                for k, t in self._tables.items()
            }
            return _Snapshot(
                tables=tables,
                events=dict(self._events),
                dead=dict(self._dead),
                dropped=dict(self._dropped),
                tracked=dict(self._tracked),
                resets=dict(self._resets),
                watermark_lag=self._watermark_lag,
                watermark=self._watermark,
                last_batch=self._last_batch,
                latency=self._latency.copy(),
                latency_sum=self._latency_sum,
                batch=self._batch.copy(),
                batch_sum=self._batch_sum,
                tickets=self._tickets,
                store=self._store,
                held=self._held,
            )


@dataclass(frozen=True)
class _Snapshot:
    tables: dict[tuple[str, str], _SeriesTable]
    events: dict[tuple[str, str], int]
    dead: dict[str, int]
    dropped: dict[str, int]
    tracked: dict[str, int]
    resets: dict[tuple[str, str], int]
    watermark_lag: float
    watermark: float
    last_batch: float
    latency: npt.NDArray[np.int64]
    latency_sum: float
    batch: npt.NDArray[np.int64]
    batch_sum: float
    tickets: TicketCounts | None
    store: tuple[bool, int, int] | None = None
    held: int | None = None


def _package_version() -> str:
    try:
        from citysigns import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - the exporter without the CLI package
        return "unknown"


# --- the collector -------------------------------------------------------------------------
_SERIES_FAMILIES: Final = (
    (INDICATOR_VALUE, "Latest closed window's value, in the indicator's unit (see info)."),
    (INDICATOR_LOWER, "Lower edge of the expected band from the detectors."),
    (INDICATOR_UPPER, "Upper edge of the expected band from the detectors."),
    (INDICATOR_SCORE, "Anomaly score in [0, 1] (higher is more anomalous)."),
    (INDICATOR_WARNING, "Warning level: 0 none, 1 blue, 2 yellow, 3 orange, 4 red."),
)


class CitySignsCollector(Collector):
    """Turns a `CitySignsMetrics` state into metric families at scrape time."""

    def __init__(self, metrics: CitySignsMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        # Names only: registering must not run a full collect.
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.metrics.snapshot()))

    def _families(self, snap: _Snapshot | None) -> Iterator[Metric]:
        m = self.metrics
        if m.tickets_only:
            yield from self._ticket_families(snap)
            return
        yield from self._series_families(snap)

        ends = GaugeMetricFamily(
            INDICATOR_WINDOW_END,
            "End of the latest closed window exported, per indicator and area level.",
            labels=["indicator", "area_level"],
        )
        info = GaugeMetricFamily(
            INDICATOR_INFO,
            "Catalog facts of each indicator (value 1): category, unit, owner, department.",
            labels=["indicator", "category", "unit", "owner", "department"],
        )
        area_info = GaugeMetricFamily(
            AREA_INFO,
            "Names and centre of each exported area (value 1), for maps and tables.",
            labels=["area", "area_level", "district", "name", "name_en", "latitude", "longitude"],
        )
        if snap is not None:
            for (ind, lvl), t in sorted(snap.tables.items()):
                if not math.isnan(t.window_end):
                    ends.add_metric([ind, lvl], t.window_end)
            for ind, i in sorted(m.indicators.items()):
                info.add_metric([ind, i.category, i.unit, i.owner, i.department], 1.0)
            seen = sorted({c for t in snap.tables.values() for c in t.codes.tolist()})
            for code in seen:
                a = m.areas.get(code)
                if a is not None:
                    area_info.add_metric(
                        [
                            code,
                            a.level,
                            a.district,
                            a.name_zh,
                            a.name_en,
                            f"{a.lat:.5f}",
                            f"{a.lon:.5f}",
                        ],
                        1.0,
                    )
        yield from (ends, info, area_info)
        yield from self._ticket_families(snap)
        yield from self._pipeline_families(snap)

    def _series_families(self, snap: _Snapshot | None) -> Iterator[Metric]:
        fams = [GaugeMetricFamily(name, doc, labels=list(SERIES_LABELS))
                for name, doc in _SERIES_FAMILIES]  # fmt: skip
        if snap is not None:
            for (ind, lvl), t in sorted(snap.tables.items()):
                category = self.metrics.indicators[ind].category
                codes = t.codes.tolist()
                dists = t.districts.tolist()
                for fam, row in zip(fams, t.data, strict=True):
                    ok = ~np.isnan(row)
                    vals = row[ok].tolist()
                    idx = np.flatnonzero(ok).tolist()
                    fam.samples.extend(
                        Sample(
                            fam.name,
                            {
                                "indicator": ind,
                                "category": category,
                                "area_level": lvl,
                                "area": codes[i],
                                "district": dists[i],
                            },
                            v,
                            None,
                            None,
                            None,
                        )
                        for i, v in zip(idx, vals, strict=True)
                    )
        yield from fams

    def _ticket_families(self, snap: _Snapshot | None) -> Iterator[Metric]:
        open_ = GaugeMetricFamily(
            TICKETS,
            "Open dispatch tickets by status, department, tier and warning level.",
            labels=["status", "department", "tier", "level"],
        )
        overdue = GaugeMetricFamily(
            TICKETS_OVERDUE,
            "Open tickets past their accept or handle deadline.",
            labels=["department", "tier", "level"],
        )
        supervised = GaugeMetricFamily(
            TICKETS_SUPERVISED,
            "Open tickets under supervision (escalated one tier up after a missed deadline).",
            labels=["department", "tier", "level"],
        )
        closed = CounterMetricFamily(
            TICKETS_CLOSED,
            "Closed tickets by department and whether the handle deadline was met.",
            labels=["department", "deadline"],
        )
        store_up = GaugeMetricFamily(
            TICKET_STORE_UP, "1 when the ticket store took the last write, 0 while it fails."
        )
        pending = GaugeMetricFamily(
            TICKET_OUTBOX_PENDING, "Warnings and hotline orders waiting in the outbox."
        )
        errors = CounterMetricFamily(
            TICKET_STORE_ERRORS, "Writes to the ticket store stopped by a transient failure."
        )
        if snap is not None and snap.store is not None:
            up, n_pending, n_errors = snap.store
            store_up.add_metric([], 1.0 if up else 0.0)
            pending.add_metric([], float(n_pending))
            errors.add_metric([], float(n_errors))
        if snap is not None and snap.tickets is not None:
            tk = snap.tickets
            for key4, n in sorted(tk.open.items()):
                open_.add_metric(list(key4), float(n))
            for key3, n in sorted(tk.overdue.items()):
                overdue.add_metric(list(key3), float(n))
            for key3, n in sorted(tk.supervised.items()):
                supervised.add_metric(list(key3), float(n))
            for key2, n in sorted(tk.closed.items()):
                closed.add_metric(list(key2), float(n))
        # each group once it is set (names only when registering): the flow's exporter then
        # shows neither, the dispatcher's the store's health, `citysigns serve`'s both
        if snap is None or snap.tickets is not None:
            yield from (open_, overdue, supervised, closed)
        if snap is None or snap.store is not None:
            yield from (store_up, pending, errors)
        if snap is not None and snap.held is not None:
            held = GaugeMetricFamily(
                DISPATCH_ORDERS_HELD,
                "Hotline orders a following dispatcher holds until the flow's warnings reach "
                "their time.",
            )
            held.add_metric([], float(snap.held))
            yield held

    def _pipeline_families(self, snap: _Snapshot | None) -> Iterator[Metric]:
        m = self.metrics
        events = CounterMetricFamily(
            EVENTS, "Events read, by source and outcome.", labels=["source", "outcome"]
        )
        dead = CounterMetricFamily(
            DEAD_LETTERS, "Records sent to the dead-letter sink, by reason.", labels=["reason"]
        )
        lag = GaugeMetricFamily(
            WATERMARK_LAG,
            "Newest event time read minus the watermark (the slowest partition's), seconds.",
        )
        watermark = GaugeMetricFamily(
            WATERMARK_TIME,
            "The flow's watermark: the event time every input has reached (epoch seconds), "
            "set as windows close; time() minus it is how far the flow trails real time.",
        )
        latency = HistogramMetricFamily(
            WINDOW_CLOSE_LATENCY, "From a window's closing time to its scored output."
        )
        batch = HistogramMetricFamily(BATCH_EVENTS, "Events per input batch.")
        tracked = GaugeMetricFamily(
            TRACKED_SERIES, "Series the windows engine keeps state for.", labels=["indicator"]
        )
        last = GaugeMetricFamily(LAST_BATCH, "Wall-clock time of the latest batch processed.")
        start = GaugeMetricFamily(START_TIME, "When this flow process started.")
        build = GaugeMetricFamily(BUILD_INFO, "The running citysigns version.", labels=["version"])
        exported = GaugeMetricFamily(
            EXPORTED_SERIES, "Indicator samples currently exported (5 per indicator and area)."
        )
        budget = GaugeMetricFamily(SERIES_BUDGET, "The configured cap on exported samples.")
        dropped = CounterMetricFamily(
            UPDATES_DROPPED,
            "Area updates not exported: finer than max_area_level, or over the series budget.",
            labels=["reason"],
        )
        resets = CounterMetricFamily(
            RECOVERY_RESETS,
            "Indicators that resumed without part of their recovery state after a catalog or "
            "registry change.",
            labels=["indicator", "reason"],
        )
        if snap is not None:
            for key, n in sorted(snap.events.items()):
                events.add_metric(list(key), float(n))
            for reason, n in sorted(snap.dead.items()):
                dead.add_metric([reason], float(n))
            if not math.isnan(snap.watermark_lag):
                lag.add_metric([], snap.watermark_lag)
            if not math.isnan(snap.watermark):
                watermark.add_metric([], snap.watermark)
            latency.add_metric([], _cumulative(LATENCY_BUCKETS, snap.latency), snap.latency_sum)
            batch.add_metric([], _cumulative(BATCH_BUCKETS, snap.batch), snap.batch_sum)
            for ind, n in sorted(snap.tracked.items()):
                tracked.add_metric([ind], float(n))
            if not math.isnan(snap.last_batch):
                last.add_metric([], snap.last_batch)
            start.add_metric([], m.started_at)
            build.add_metric([m.version], 1.0)
            areas = sum(len(t) for t in snap.tables.values())
            exported.add_metric([], float(SAMPLES_PER_AREA * areas))
            budget.add_metric([], float(m.config.max_series))
            for reason, n in sorted(snap.dropped.items()):
                dropped.add_metric([reason], float(n))
            for key, n in sorted(snap.resets.items()):
                resets.add_metric(list(key), float(n))
        yield from (events, dead, lag, watermark, latency, batch, tracked, last, start, build,
                    exported, budget, dropped, resets)  # fmt: skip


def _cumulative(bounds: Sequence[float], counts: npt.NDArray[np.int64]) -> list[tuple[str, float]]:
    cum = np.cumsum(counts).tolist()
    labels = [_float_label(b) for b in bounds] + ["+Inf"]
    return list(zip(labels, [float(c) for c in cum], strict=True))


def _float_label(x: float) -> str:
    return repr(float(x))


# --- serving -------------------------------------------------------------------------------
@dataclass
class MetricsServer:
    """A running exporter; `port` is the bound one (useful with port 0)."""

    server: WSGIServer
    thread: threading.Thread
    registry: CollectorRegistry

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_registry(metrics: CitySignsMetrics) -> CollectorRegistry:
    """A fresh registry holding only the citysigns collector (never the global one)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CitySignsCollector(metrics))
    return registry


class MetricsPortError(OSError):
    """The exporter could not listen where asked; the message names the address and what to do
    (an OSError still, so callers that catch those keep working)."""

    def __init__(self, message: str, port: int, code: int | None) -> None:
        super().__init__(message)  # one argument: str() is the message, no "[Errno 98]"
        self.port = port
        self.errno = code


def serve(
    metrics: CitySignsMetrics, port: int | None = None, addr: str | None = None
) -> MetricsServer:
    """Expose `metrics` over HTTP (default: the config's 127.0.0.1 and port).

    A port that is taken or not allowed raises `MetricsPortError` with a message an operator
    can act on: the commands that start an exporter print it instead of a socket traceback."""
    registry = make_registry(metrics)
    bind_port = metrics.config.port if port is None else port
    bind_addr = metrics.config.addr if addr is None else addr
    try:
        server, thread = start_http_server(bind_port, addr=bind_addr, registry=registry)
    except OSError as e:
        raise MetricsPortError(_bind_failure(bind_addr, bind_port, e), bind_port, e.errno) from e
    return MetricsServer(server, thread, registry)


def _bind_failure(addr: str, port: int, e: OSError) -> str:
    where = f"metrics port {port} on {addr}"
    if e.errno == errno.EADDRINUSE:
        return (
            f"{where} is already in use: stop what listens there or choose another "
            "--metrics-port (0 picks a free one)"
        )
    if e.errno == errno.EACCES:
        return f"{where} needs privileges: choose a port above 1023 (0 picks a free one)"
    return f"cannot serve {where}: {e.strerror or e}"
