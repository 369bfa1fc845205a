"""The warning state machine, per (indicator, area) series, vectorised over a batch.

States: normal -> pending (a level's condition holds, not yet for its `for`) -> firing at blue,
yellow, orange or red -> resolved (back to normal) once the `clear` condition has held for
`clear.for`.  A firing warning escalates as soon as a higher level has held for its `for`, and
steps down only after its current level's condition has been false for `clear.for` (the same
calm-down time as resolving), so one quiet window cannot make it flap.

Time is the data's: a condition "has held for D" when consecutive windows in which it holds span
at least D, measured from the first window's start (end minus the series' step) to the last
window's end.  A missing window breaks the run.

All state lives in arrays indexed by series, thresholds in arrays indexed by indicator; a batch
is processed in rounds, one window per series per round (usually a single round), each round a
handful of numpy operations over every series it touches.  Only rows where something happens
become Python objects."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from indicators.language.detection import WarningRules, all_detectors
from indicators.language.model import Indicator
from indicators.language.registry import AREA_LEVELS, value_range

from .areas import AreaNames, NoAreaNames, area_label
from .events import EventKind, WarningEvent
from .explain import DEFAULT_TZ, sentence, withdrawal_sentence, worst_kind
from .levels import LEVELS, NO_LEVEL
from .scored import ScoredBatch, clip_band

NORMAL, PENDING, FIRING = 0, 1, 2
STATE_NAMES = ("normal", "pending", "firing")
_NONE = -1
_NL = len(LEVELS)
_AREA = {name: i for i, name in enumerate(AREA_LEVELS)}  # area level -> its thresholds' row

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IndicatorRules:
    """One indicator's warning rules in the form the arrays need.

    `thresholds` and `clear_threshold` hold at the indicator's first (finest) area level and
    at every level `area_thresholds` does not list; it lists the levels whose numbers differ
    (thresholds written per area level: a district's count of reports is judged against the
    district's limits, not a street's), as (area level, thresholds, clear threshold)."""

    indicator_id: str
    on_score: bool
    sign: float  # +1 "above", -1 "below": multiplying by it makes every rule an "above" rule
    thresholds: tuple[float, ...]  # per level, NaN when the level is not defined
    fors: tuple[int, ...]
    clear_threshold: float
    clear_for: int
    step: int
    category: str
    title_zh: str
    title_en: str
    unit: str
    direction: str
    source_categories: tuple[str, ...]
    aggregate: str
    # a window without a value counts as calm: the indicator's `min_count` leaves too thin a
    # window unjudged, which is no evidence of a problem (it neither raises nor holds one);
    # a field, not derived from `min_count`, since snapshots keep the rules as they were
    calm_without_value: bool = False
    # the indicator's `min_count` (0: none) and its source's kind, for the sentence of a
    # warning that changes on such windows: "too few checks to judge (17 < 20) since 19:00"
    # says why it shows no value
    min_count: int = 0
    source_kind: str = ""
    area_thresholds: tuple[tuple[str, tuple[float, ...], float], ...] = ()
    # (least, greatest) value the indicator can take, NaN: open (registry.value_range): the
    # band a sentence states is clipped to it ("NO2 expected -111 to 124" said otherwise)
    value_range: tuple[float, float] = (math.nan, math.nan)
    # a sensor-health indicator (only no-signal and stuck detectors, on the score): its
    # sentences say "no reading since" or "stuck at", since its value raised nothing
    health: bool = False
    # readings closer than this count as one value (the stuck detector's `tolerance`, the
    # largest of its detectors'): "stuck at 3 since" starts where the detector's run does
    stuck_tolerance: float = 0.0
    # the windows' length (0: not known, the step): a sentence names a window by its start,
    # a sliding one (longer than the step) by its end
    length: int = 0

    @classmethod
    def from_indicator(cls, ind: Indicator) -> IndicatorRules:
        w = ind.detection.warnings
        fors = tuple(w.levels[lv].for_ if lv in w.levels else 0 for lv in LEVELS)
        first, *others = ind.value.levels
        thresholds, clear_thr = _numbers_at(w, first)
        differ = []
        for area_level in others:
            at = _numbers_at(w, area_level)
            if not _same((*at[0], at[1]), (*thresholds, clear_thr)):
                differ.append((area_level, *at))
        window = ind.value.window
        return cls(
            indicator_id=ind.id,
            on_score=w.on == "score",
            sign=1.0 if w.direction == "above" else -1.0,
            thresholds=thresholds,
            fors=fors,
            clear_threshold=clear_thr,
            clear_for=0 if w.clear is None else w.clear.for_,
            step=window.spacing,
            category=ind.category,
            title_zh=ind.title.zh,
            title_en=ind.title.en,
            unit=ind.unit,
            direction=w.direction,
            source_categories=tuple(ind.source.categories or ()),
            aggregate=ind.value.aggregate,
            calm_without_value=ind.value.min_count is not None,
            min_count=ind.value.min_count or 0,
            source_kind=ind.source.kind,
            area_thresholds=tuple(differ),
            value_range=value_range(ind),
            health=w.on == "score"
            and all(d.type in HEALTH_DETECTORS for d in ind.detection.detectors),
            length=int(window.length),
            stuck_tolerance=max(
                (
                    d.tolerance
                    for _, d in all_detectors(ind.detection.detectors)
                    if d.type == "stuck"
                ),
                default=0.0,
            ),
        )

    def thresholds_at(self, area_level: str) -> tuple[float, ...]:
        """The thresholds (per warning level, NaN: not defined) a series of `area_level` is
        judged by."""
        for lvl, thresholds, _ in self.area_thresholds:
            if lvl == area_level:
                return tuple(thresholds)
        return self.thresholds

    def clear_at(self, area_level: str) -> float:
        """The clear threshold of a series of `area_level`."""
        for lvl, _, clear in self.area_thresholds:
            if lvl == area_level:
                return clear
        return self.clear_threshold

    def event_fields(self, area_level: str) -> dict[str, Any]:
        """What every event of this indicator's series of `area_level` carries from its
        definition."""
        return {
            "category": self.category,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "unit": self.unit,
            "on": "score" if self.on_score else "value",
            "direction": self.direction,
            "thresholds": self.threshold_table(area_level),
            "source_categories": self.source_categories,
            "aggregate": self.aggregate,
        }

    def normal_band(self, area_level: str) -> tuple[float, float]:
        """(lower, upper) of the values that raise no level at `area_level`, for a warning on
        the value: short of its first level's threshold.  A warning's sentence says it
        ("expected > 205") when the detectors' band holds the value that raised the warning,
        whose limit may be another number ("low voltage 203 V, expected > 198, blue" read as
        if 203 V were normal, with blue raised at 205)."""
        first = _first_level(self.thresholds_at(area_level), self.sign > 0)
        return (math.nan, first) if self.sign > 0 else (first, math.nan)

    def calm(self, judged: float, area_level: str) -> bool:
        """Whether a window's judged quantity (its value, or score) holds no warning level at
        `area_level`: none known, or short of the first level's threshold."""
        if math.isnan(judged):
            return True
        first = _first_level(self.thresholds_at(area_level), self.sign > 0)
        return judged * self.sign < first * self.sign

    def threshold_table(self, area_level: str) -> dict[str, dict[str, float]]:
        return {
            lv: {"threshold": t, "for": float(f)}
            for lv, t, f in zip(LEVELS, self.thresholds_at(area_level), self.fors, strict=True)
            if not math.isnan(t)
        } | {"clear": {"threshold": self.clear_at(area_level), "for": float(self.clear_for)}}


def _numbers_at(w: WarningRules, area_level: str) -> tuple[tuple[float, ...], float]:
    """(thresholds per warning level, clear threshold) at one area level.  Without `clear`,
    a warning clears as soon as its lowest level no longer holds."""
    thresholds = tuple(w.levels[lv].at(area_level) if lv in w.levels else math.nan for lv in LEVELS)
    clear = w.clear_threshold(area_level)
    if clear is None:
        clear = _first_level(thresholds, w.direction == "above")
    return thresholds, clear


#: detectors that judge whether a sensor reports, not what it reports
HEALTH_DETECTORS = frozenset({"no_signal", "stuck"})

#: (value, window end) of a warning without a worst window: one not resolving, or none kept
NO_PEAK = (math.nan, _NONE)


def _peak_fields(value: float, at: int) -> dict[str, Any]:
    """An event's `peak` and `peak_at`: both None unless the worst window has a value (a
    score's warning may peak on a window without one)."""
    known = at >= 0 and not math.isnan(value)
    return {"peak": value if known else None, "peak_at": at if known else None}


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal numbers, NaN (a level not defined) equal to NaN."""
    if len(a) != len(b):
        return False
    x, y = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
    return bool(np.all((x == y) | (np.isnan(x) & np.isnan(y))))


def _first_level(thresholds: tuple[float, ...], above: bool) -> float:
    """The threshold of the first level a value reaches (NaN: a level not defined)."""
    defined = [t for t in thresholds if not math.isnan(t)]
    return min(defined) if above else max(defined)


def _within(value: float, lower: float, upper: float) -> bool:
    """Whether a value lies inside a band (a missing edge is open)."""
    if math.isnan(value) or (math.isnan(lower) and math.isnan(upper)):
        return False
    return (math.isnan(lower) or value >= lower) and (math.isnan(upper) or value <= upper)


@dataclass(frozen=True)
class SeriesState:
    state: str
    level: str | None
    since: int | None
    warning_id: str | None


class _Growable:
    """Series state arrays that double when full (amortised O(1) per new series)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.rule = np.zeros(capacity, dtype=np.int64)
        self.last_end = np.full(capacity, _NONE, dtype=np.int64)
        self.since = np.full((capacity, _NL), _NONE, dtype=np.int64)
        self.clear_since = np.full(capacity, _NONE, dtype=np.int64)
        self.calm_since = np.full(capacity, _NONE, dtype=np.int64)
        self.level = np.full(capacity, NO_LEVEL, dtype=np.int64)
        self.level_since = np.full(capacity, _NONE, dtype=np.int64)
        self.state = np.zeros(capacity, dtype=np.int64)
        self.fired_at = np.full(capacity, _NONE, dtype=np.int64)
        # the worst window since the warning fired: its judged quantity (sign-flipped, so
        # larger is worse), its value and its end, for the sentence that resolves it
        self.peak_x = np.full(capacity, -np.inf, dtype=np.float64)
        self.peak_value = np.full(capacity, np.nan, dtype=np.float64)
        self.peak_at = np.full(capacity, _NONE, dtype=np.int64)
        # the last window with a value (its value and end) and the start of the run of
        # windows with that same value: a silent sensor's "no reading since", a frozen one's
        # "stuck at 3 since"
        self.seen_value = np.full(capacity, np.nan, dtype=np.float64)
        self.seen_at = np.full(capacity, _NONE, dtype=np.int64)
        self.same_since = np.full(capacity, _NONE, dtype=np.int64)
        # the start of the run of windows left unjudged (fewer records than `min_count`)
        # that the latest window belongs to: "too few checks to judge since 19:00"
        self.thin_since = np.full(capacity, _NONE, dtype=np.int64)

    ARRAYS = (
        "rule", "last_end", "since", "clear_since", "calm_since", "level", "level_since",
        "state", "fired_at", "peak_x", "peak_value", "peak_at", "seen_value", "seen_at",
        "same_since", "thin_since",
    )  # fmt: skip
    # what a new series starts with (every other array starts at _NONE); also what a
    # snapshot taken before an array existed restores it to
    FILL: ClassVar[Mapping[str, float]] = {
        "rule": 0, "state": 0, "level": NO_LEVEL, "peak_x": -np.inf, "peak_value": np.nan,
        "seen_value": np.nan,
    }  # fmt: skip

    def add(self, rule: int) -> int:
        if self.n == len(self.rule):
            for name in self.ARRAYS:
                old = getattr(self, name)
                fill = self.FILL.get(name, _NONE)
                new = np.full((2 * len(old), *old.shape[1:]), fill, dtype=old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)
        i = self.n
        self.rule[i] = rule
        self.n += 1
        return i


class WarningStateMachine:
    """Warnings for every (indicator, area) series of a catalog.

    `process(batch)` returns the events of that batch; windows arriving for a series at or
    before the last window it saw (a replay, a late re-emit) are skipped and counted in
    `stale_rows`, rows of indicators not in the catalog in `unknown_rows`."""

    def __init__(
        self,
        indicators: Iterable[Indicator | IndicatorRules] | Mapping[str, Indicator],
        names: AreaNames | None = None,
        tz: str = DEFAULT_TZ,
    ) -> None:
        inds = list(indicators.values()) if isinstance(indicators, Mapping) else list(indicators)
        self.rules = [
            i if isinstance(i, IndicatorRules) else IndicatorRules.from_indicator(i) for i in inds
        ]
        self._rule_of = {r.indicator_id: k for k, r in enumerate(self.rules)}
        self.names: AreaNames = names or NoAreaNames()
        self.tz = tz
        k = len(self.rules)
        sign = np.array([r.sign for r in self.rules], dtype=np.float64).reshape(k)
        # Thresholds by indicator, area level and warning level; clear by indicator and area.
        raw_thr = np.array(
            [[r.thresholds_at(a) for a in AREA_LEVELS] for r in self.rules], dtype=np.float64
        ).reshape(k, len(AREA_LEVELS), _NL)
        # Undefined levels can never hold: +inf after the sign flip.
        self._thr = np.where(np.isnan(raw_thr), np.inf, raw_thr * sign[:, None, None])
        self._for = np.array([r.fors for r in self.rules], dtype=np.int64).reshape(k, _NL)
        clear = [[r.clear_at(a) for a in AREA_LEVELS] for r in self.rules]
        self._clear_thr = np.array(clear, dtype=np.float64).reshape(k, -1) * sign[:, None]
        self._by_area = any(r.area_thresholds for r in self.rules)
        self._clear_for = np.array([r.clear_for for r in self.rules], dtype=np.int64)
        self._step = np.array([r.step for r in self.rules], dtype=np.int64)
        self._sign = sign
        self._on_score = np.array([r.on_score for r in self.rules], dtype=bool)
        self._calm_unjudged = np.array([r.calm_without_value for r in self.rules], dtype=bool)
        self._tolerance = np.array([r.stuck_tolerance for r in self.rules], dtype=np.float64)
        self._health = np.array([r.health for r in self.rules], dtype=bool)
        ranges = np.array([r.value_range for r in self.rules], dtype=np.float64).reshape(-1, 2)
        self._least, self._greatest = ranges[:, 0], ranges[:, 1]
        self._series: dict[tuple[str, str], int] = {}
        self._keys: list[tuple[str, str]] = []
        self._sorted_keys: npt.NDArray[np.str_] = np.array([], dtype=np.str_)
        self._sorted_idx: IntArray = np.array([], dtype=np.int64)
        self._s = _Growable()
        self.stale_rows = 0
        self.unknown_rows = 0

    # ------------------------------------------------------------------ series bookkeeping
    def _series_index(self, batch: ScoredBatch) -> IntArray:
        """Series index per row (-1 for unknown indicators), creating series on first sight.

        Known series are found with one `searchsorted` over a sorted array of keys; only keys
        never seen before go through Python (once per series, ever)."""
        keys = np.char.add(np.char.add(batch.indicator_id, "\x1f"), batch.area_code)
        uniq, inverse = np.unique(keys, return_inverse=True)
        idx_of_uniq = np.full(len(uniq), -1, dtype=np.int64)
        known = self._sorted_keys
        if len(known):
            pos = np.minimum(np.searchsorted(known, uniq), len(known) - 1)
            hit = known[pos] == uniq
            idx_of_uniq[hit] = self._sorted_idx[pos[hit]]
        else:
            hit = np.zeros(len(uniq), dtype=bool)
        new_keys: list[str] = []
        new_idx: list[int] = []
        for u in np.flatnonzero(~hit).tolist():
            key = str(uniq[u])
            ind, area = key.split("\x1f", 1)
            rule = self._rule_of.get(ind)
            if rule is None:
                continue  # unknown indicator: stays -1 (and is not remembered)
            s = self._s.add(rule)
            self._series[(ind, area)] = s
            self._keys.append((ind, area))
            idx_of_uniq[u] = s
            new_keys.append(key)
            new_idx.append(s)
        if new_keys:
            all_keys = np.concatenate([known, np.array(new_keys, dtype=np.str_)])
            all_idx = np.concatenate([self._sorted_idx, np.array(new_idx, dtype=np.int64)])
            order = np.argsort(all_keys, kind="stable")
            self._sorted_keys, self._sorted_idx = all_keys[order], all_idx[order]
        return idx_of_uniq[inverse.reshape(-1)]

    # ------------------------------------------------------------------ processing
    def process(self, batch: ScoredBatch) -> list[WarningEvent]:
        if len(batch) == 0:
            return []
        sidx = self._series_index(batch)
        known = sidx >= 0
        self.unknown_rows += int(np.count_nonzero(~known))
        rows = np.flatnonzero(known)
        if len(rows) == 0:
            return []
        # Order by series then window end; rank within series = the round a row belongs to.
        order = rows[np.lexsort((batch.window_end[rows], sidx[rows]))]
        s_sorted = sidx[order]
        first = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        rank = np.arange(len(order)) - group_start
        events: list[WarningEvent] = []
        for r in range(int(rank.max()) + 1):
            events.extend(self._round(batch, order[rank == r], s_sorted[rank == r]))
        events.sort(key=lambda e: (e.at, e.indicator_id, e.area_code))
        return events

    def _round(self, batch: ScoredBatch, rows: IntArray, s: IntArray) -> list[WarningEvent]:
        st = self._s
        end = batch.window_end[rows]
        fresh = end > st.last_end[s]
        self.stale_rows += int(np.count_nonzero(~fresh))
        rows, s, end = rows[fresh], s[fresh], end[fresh]
        if len(rows) == 0:
            return []
        rr = st.rule[s]
        area = self._area_index(batch.area_level[rows])
        step = self._step[rr]
        raw = np.where(self._on_score[rr], batch.score[rows], batch.value[rows])
        valid = ~np.isnan(raw)
        x = np.where(valid, raw * self._sign[rr], -np.inf)
        start_of_run = end - step

        gap = (st.last_end[s] >= 0) & (end - st.last_end[s] > step)
        # Level conditions and how long each has held.
        cond = valid[:, None] & (x[:, None] >= self._thr[rr, area])
        since = np.where(gap[:, None], _NONE, st.since[s])
        since = np.where(cond, np.where(since < 0, start_of_run[:, None], since), _NONE)
        held = cond & (end[:, None] - since >= self._for[rr])
        # Highest held level (-1 if none): argmax over the reversed columns.
        any_held = held.any(axis=1)
        target = np.where(any_held, _NL - 1 - np.argmax(held[:, ::-1], axis=1), NO_LEVEL)

        # The clear condition (hysteresis), with its own duration.  A missing window breaks a
        # run towards a level (escalating needs evidence all along) but not a run towards
        # calm: a sensor that reports every 20 minutes into 1-minute windows leaves gaps
        # between all its windows, and a warning that needed 15 quiet minutes without one
        # could never end (its ticket reopened at every verification).  Only a window that is
        # not calm, or has no value, breaks it.
        unjudged_calm = ~valid & self._calm_unjudged[rr]  # (too few records: see the rules)
        clear_cond = (valid & (x < self._clear_thr[rr, area])) | unjudged_calm
        clear_since = st.clear_since[s]
        clear_since = np.where(
            clear_cond, np.where(clear_since < 0, start_of_run, clear_since), _NONE
        )
        clear_held = clear_cond & (end - clear_since >= self._clear_for[rr])

        cur = st.level[s]
        firing = st.state[s] == FIRING
        cur_cond = firing & cond[np.arange(len(s)), np.maximum(cur, 0)]
        calm_since = st.calm_since[s]  # (gaps do not break calm, as above)
        # a window without a value is not calm either, unless the indicator left it unjudged
        calming = firing & ~cur_cond & (valid | unjudged_calm)
        calm_since = np.where(calming, np.where(calm_since < 0, start_of_run, calm_since), _NONE)
        calm_held = calming & (end - calm_since >= self._clear_for[rr])

        start = ~firing & (target >= 0)
        esc = firing & (target > cur)
        resolve = firing & ~esc & clear_held
        step_down = np.maximum(target, 0)
        deesc = firing & ~esc & ~resolve & calm_held & (step_down < cur)

        new_level = cur.copy()
        new_level[start | esc] = target[start | esc]
        new_level[deesc] = step_down[deesc]
        new_level[resolve] = NO_LEVEL
        new_state = np.where(cond.any(axis=1), PENDING, NORMAL)
        new_state = np.where((firing & ~resolve) | start, FIRING, new_state)
        changed_level = start | esc | deesc
        lv_idx = np.maximum(new_level, 0)
        level_since = np.where(
            changed_level,
            np.where(
                since[np.arange(len(s)), lv_idx] >= 0,
                since[np.arange(len(s)), lv_idx],
                start_of_run,
            ),
            st.level_since[s],
        )
        fired_at = np.where(start, end, st.fired_at[s])
        prev_fired_at = st.fired_at[s].copy()
        prev_level = cur.copy()
        self._track_peaks(st, s, start, firing, cond, x, batch.value[rows], end)
        health = self._health[rr]  # only a sensor-health sentence says "no reading since"
        if health.any():
            self._track_readings(
                st, s[health], batch.value[rows][health], start_of_run[health], end[health],
                self._tolerance[rr][health],
            )  # fmt: skip

        # the run of windows too thin to judge, for the indicators that count them as calm
        # (min_count): only their sentences say "too few ... since" (a gap does not break it)
        counted = self._calm_unjudged[rr]
        if counted.any():
            sc, thin = s[counted], st.thin_since[s[counted]]
            st.thin_since[sc] = np.where(
                unjudged_calm[counted], np.where(thin < 0, start_of_run[counted], thin), _NONE
            )
        st.last_end[s] = end
        st.since[s] = since
        st.clear_since[s] = clear_since
        st.calm_since[s] = np.where(changed_level | resolve, _NONE, calm_since)
        st.level[s] = new_level
        st.level_since[s] = np.where(resolve, _NONE, level_since)
        st.state[s] = new_state
        st.fired_at[s] = np.where(resolve, _NONE, fired_at)

        out: list[WarningEvent] = []
        events = np.flatnonzero(start | esc | deesc | resolve)
        # the events' bands within what their indicators can take, in one pass (the flow's
        # scorer clipped them already; a batch from elsewhere may not be)
        re = rr[events]
        band = clip_band(
            batch.lower[rows[events]],
            batch.upper[rows[events]],
            (self._least[re], self._greatest[re]),
        )
        for e, i in enumerate(events.tolist()):
            kind: EventKind
            if start[i]:
                kind = "firing"
            elif esc[i]:
                kind = "escalated"
            elif deesc[i]:
                kind = "deescalated"
            else:
                kind = "resolved"
            level = int(prev_level[i]) if kind == "resolved" else int(new_level[i])
            base = int(fired_at[i]) if kind != "resolved" else int(prev_fired_at[i])
            si = int(s[i])
            peak = (
                (float(st.peak_value[si]), int(st.peak_at[si])) if kind == "resolved" else NO_PEAK
            )
            out.append(
                self._event(
                    batch, int(rows[i]), int(s[i]), kind, level,
                    None if kind == "firing" else int(prev_level[i]),
                    base,
                    int(level_since[i]) if kind != "resolved" else int(end[i]),
                    peak,
                    (float(band[0][e]), float(band[1][e])),
                )
            )  # fmt: skip
        ended = s[resolve]  # (after their events: a resolution names its worst window)
        st.peak_x[ended], st.peak_value[ended], st.peak_at[ended] = -np.inf, np.nan, _NONE
        return out

    @staticmethod
    def _track_peaks(
        st: _Growable,
        s: IntArray,
        start: npt.NDArray[np.bool_],
        firing: npt.NDArray[np.bool_],
        cond: npt.NDArray[np.bool_],
        x: FloatArray,
        value: FloatArray,
        end: IntArray,
    ) -> None:
        """Keep each firing series' worst window (largest judged quantity, its value and end):
        a start begins it, and every later window at a warning level may beat it; a calm one
        never is the worst, even when none is known (a snapshot from before peaks were kept).
        Only the rows of warnings that fire are touched: usually few of a batch."""
        live = np.flatnonzero(start | firing)
        if len(live) == 0:
            return
        ls, new = s[live], start[live]
        px = np.where(new, -np.inf, st.peak_x[ls])
        worse = cond[live].any(axis=1) & (x[live] > px)
        st.peak_x[ls] = np.where(worse, x[live], px)
        st.peak_value[ls] = np.where(worse, value[live], np.where(new, np.nan, st.peak_value[ls]))
        st.peak_at[ls] = np.where(worse, end[live], np.where(new, _NONE, st.peak_at[ls]))

    @staticmethod
    def _track_readings(
        st: _Growable,
        s: IntArray,
        value: FloatArray,
        start: IntArray,
        end: IntArray,
        tolerance: FloatArray,
    ) -> None:
        """Keep each series' last window with a value and where its run of equal values
        began (a gap between them does not break it: a frozen sensor is still frozen), for
        the series of sensor-health indicators, the only ones whose sentences say so.
        Values count as equal as the stuck detector counts them: each within `tolerance`
        of the one before (exactly equal, when no stuck detector sets one)."""
        has = ~np.isnan(value)
        near = np.abs(value - st.seen_value[s]) <= tolerance  # (NaN: False)
        same = has & near & (st.same_since[s] >= 0)
        st.same_since[s] = np.where(has, np.where(same, st.same_since[s], start), st.same_since[s])
        st.seen_value[s] = np.where(has, value, st.seen_value[s])
        st.seen_at[s] = np.where(has, end, st.seen_at[s])

    def _area_index(self, area_levels: npt.NDArray[np.str_]) -> IntArray:
        """Each row's area level as the row of its thresholds (all alike, and not looked up,
        when no indicator has thresholds per area level)."""
        if not self._by_area:
            return np.zeros(len(area_levels), dtype=np.int64)
        names, inverse = np.unique(area_levels, return_inverse=True)
        index = np.array([_AREA.get(str(n), 0) for n in names], dtype=np.int64)
        return index[inverse.reshape(-1)]

    def _event(
        self,
        batch: ScoredBatch,
        row: int,
        series: int,
        kind: EventKind,
        level: int,
        prev: int | None,
        fired_at: int,
        since: int,
        peak: tuple[float, int] = NO_PEAK,
        band: tuple[float, float] = (math.nan, math.nan),
    ) -> WarningEvent:
        """The event of one row; `band`: the row's band, clipped (see clip_band)."""
        ind_id, area = self._keys[series]
        rules = self.rules[self._rule_of[ind_id]]
        value = float(batch.value[row])
        lower, upper = band
        at = int(batch.window_end[row])
        area_level = str(batch.area_level[row])
        zh_area, en_area = area_label(area, self.names)
        said_lower, said_upper = lower, upper
        # A band holding the value would contradict the warning, and with no value (a window
        # too thin to judge, resolving) or no band (detectors still learning: "NO2 111 ug/m3,
        # blue" said nothing of why) the detectors' band is not what the warning judged
        # ("expected < 5%" from a detector, blue at 2%): the sentence says the rule.
        unexplained = math.isnan(value) or _within(value, lower, upper)
        unexplained |= math.isnan(lower) and math.isnan(upper)
        if not rules.on_score and unexplained:
            said_lower, said_upper = rules.normal_band(area_level)
        # On the score, the rule is a score: a warning the band does not explain says the score
        # that raised it ("2.53 orders/min, expected 0-2.58, blue" contradicted itself).
        score = score_limit = math.nan
        if rules.on_score and unexplained and kind != "resolved":
            score = float(batch.score[row])
            score_limit = rules.thresholds_at(area_level)[level]
        # A warning whose value (or score) holds no level any more stands because its clear
        # condition has not held long enough: the sentence says that condition ("0.4 cm,
        # expected < 10, down to blue" read as if nothing kept the warning up).
        # A resolution says the condition it cleared by ("below 60% for 30 min"), not a band:
        # the detectors' band may not hold the value that cleared it ("50.2%, expected
        # 51.7%-67.1%, yellow warning cleared").
        clear = math.nan
        if not rules.health:
            judged = float(batch.score[row]) if rules.on_score else value
            if kind == "resolved" or rules.calm(judged, area_level):
                clear = rules.clear_at(area_level)
                score = judged if rules.on_score else math.nan
        # the judged quantity is written apart from the thresholds of the level it is at and
        # of the one it left ("0.15 MPa ... down to blue" of 0.155, off yellow at <= 0.15);
        # a warning on the score states its value beside a band, not beside these
        thresholds = rules.thresholds_at(area_level)
        apart: tuple[float, ...] = ()
        if not rules.on_score or not math.isnan(score):
            apart = tuple(
                thresholds[i] for i in dict.fromkeys((level, prev)) if i is not None and i >= 0
            )
        sl = int(self._s.seen_at[series]), int(self._s.same_since[series])
        thin: tuple[int, int, int, str] | None = None
        count = int(batch.count[row])
        if math.isnan(value) and not rules.on_score and count < rules.min_count:  # (-1: unknown)
            thin = (count, rules.min_count, int(self._s.thin_since[series]), rules.source_kind)
        zh, en = sentence(
            area_zh=zh_area, area_en=en_area, title_zh=rules.title_zh,
            title_en=rules.title_en, unit=rules.unit, value=value, lower=said_lower,
            upper=said_upper, kind=kind, level=LEVELS[level], since=since, at=at, tz=self.tz,
            peak=peak[0], peak_at=peak[1], worst=worst_kind(self._on(rules), rules.direction),
            score=score, score_limit=score_limit, health=rules.health, seen_at=sl[0],
            same_since=sl[1], clear=clear, clear_for=rules.clear_for, clear_below=rules.sign > 0,
            thin=thin, length=rules.length or rules.step, step=rules.step, apart=apart,
        )  # fmt: skip
        det = str(batch.detectors[row])

        def opt(v: float) -> float | None:
            return None if math.isnan(v) else v

        return WarningEvent(
            warning_id=f"{ind_id}@{area}@{fired_at}",
            kind=kind,
            indicator_id=ind_id,
            area_code=area,
            area_level=area_level,
            level=LEVELS[level],
            previous_level=None if prev is None or prev < 0 else LEVELS[prev],
            at=at,
            since=since,
            window_start=int(batch.window_start[row]),
            window_end=at,
            value=opt(value),
            score=opt(float(batch.score[row])),
            lower=opt(lower),
            upper=opt(upper),
            text_zh=zh,
            text_en=en,
            detectors=tuple(d for d in det.split(",") if d),
            **rules.event_fields(area_level),
            **_peak_fields(*peak),
            judged=thin is None,
        )

    @staticmethod
    def _on(rules: IndicatorRules) -> str:
        return "score" if rules.on_score else "value"

    # ------------------------------------------------------------------ withdrawal
    def withdraw(
        self, areas: Mapping[str, Iterable[str]], why_zh: str, why_en: str
    ) -> list[WarningEvent]:
        """Forget the series of these areas (area level -> codes) for every indicator.  A
        firing one ends with a "resolved" event that says why (`why_zh`, `why_en`), at the end
        of the last window it saw: no window of an area the flow no longer watches will ever
        close, so without this its warning would fire for ever and its ticket could never pass
        verification.  For a sensor removed from the registry, or an indicator whose windows
        changed and which starts afresh."""
        level_of = {code: lvl for lvl, codes in areas.items() for code in codes}
        gone = [s for s, (_, area) in enumerate(self._keys) if area in level_of]
        if not gone:
            return []
        st = self._s
        events = [
            self._withdrawn(s, level_of[self._keys[s][1]], why_zh, why_en)
            for s in gone
            if st.state[s] == FIRING
        ]
        keep = np.setdiff1d(np.arange(st.n), gone)
        arrays = {name: getattr(st, name)[keep] for name in _Growable.ARRAYS}
        self._adopt(arrays, [self._keys[i] for i in keep.tolist()])
        return events

    def _withdrawn(self, series: int, area_level: str, why_zh: str, why_en: str) -> WarningEvent:
        st = self._s
        ind_id, area = self._keys[series]
        rules = self.rules[int(st.rule[series])]
        level = LEVELS[int(st.level[series])]
        at = int(st.last_end[series])
        zh_area, en_area = area_label(area, self.names)
        peak, peak_at = float(st.peak_value[series]), int(st.peak_at[series])
        zh, en = withdrawal_sentence(
            area_zh=zh_area, area_en=en_area, title_zh=rules.title_zh, title_en=rules.title_en,
            level=level, at=at, why_zh=why_zh, why_en=why_en, tz=self.tz, unit=rules.unit,
            peak=peak, peak_at=peak_at, worst=worst_kind(self._on(rules), rules.direction),
            length=rules.length or rules.step, step=rules.step,
        )  # fmt: skip
        return WarningEvent(
            warning_id=f"{ind_id}@{area}@{int(st.fired_at[series])}",
            kind="resolved",
            indicator_id=ind_id,
            area_code=area,
            area_level=area_level,
            level=level,
            previous_level=level,
            at=at,
            since=at,
            window_start=at - rules.step,
            window_end=at,
            value=None,
            score=None,
            lower=None,
            upper=None,
            text_zh=zh,
            text_en=en,
            **rules.event_fields(area_level),
            **_peak_fields(peak, peak_at),
            judged=False,
            withdrawn=True,
        )

    # ------------------------------------------------------------------ inspection
    def state_of(self, indicator_id: str, area_code: str) -> SeriesState:
        s = self._series.get((indicator_id, area_code))
        if s is None:
            return SeriesState("normal", None, None, None)
        st = self._s
        level = int(st.level[s])
        firing = int(st.state[s]) == FIRING
        return SeriesState(
            STATE_NAMES[int(st.state[s])],
            LEVELS[level] if level >= 0 else None,
            int(st.level_since[s]) if firing else None,
            f"{indicator_id}@{area_code}@{int(st.fired_at[s])}" if firing else None,
        )

    def counts(self) -> dict[str, int]:
        """Series per state and firing series per level (for the metrics endpoint)."""
        st = self._s
        n = st.n
        out = {name: int(np.count_nonzero(st.state[:n] == k)) for k, name in enumerate(STATE_NAMES)}
        firing = st.state[:n] == FIRING
        for k, lv in enumerate(LEVELS):
            out[f"firing_{lv}"] = int(np.count_nonzero(firing & (st.level[:n] == k)))
        return out

    def __len__(self) -> int:
        return self._s.n

    # ------------------------------------------------------------------ recovery
    def snapshot(self) -> dict[str, Any]:
        """The state as arrays (cheap: slices, no per-series objects) for recovery."""
        st = self._s
        snap: dict[str, Any] = {name: getattr(st, name)[: st.n].copy() for name in st.ARRAYS}
        snap["keys"] = list(self._keys)
        snap["rule_ids"] = [r.indicator_id for r in self.rules]
        # the rules themselves, so that the warnings of an indicator since removed from the
        # catalog can still be worded when they are withdrawn (`from_snapshot`)
        snap["rules"] = [asdict(r) for r in self.rules]
        return snap

    @classmethod
    def from_snapshot(
        cls,
        snap: Mapping[str, Any],
        names: AreaNames | None = None,
        rules: list[IndicatorRules] | None = None,
    ) -> WarningStateMachine | None:
        """The machine a snapshot was taken from, under `rules` or else the rules it recorded
        (an indicator no longer in the catalog has no others); None without either."""
        if rules is None:
            if "rules" not in snap:
                return None
            rules = [IndicatorRules(**r) for r in snap["rules"]]
        machine = cls(rules, names)
        machine.restore(snap)
        return machine

    def restore(self, snap: Mapping[str, Any]) -> None:
        """Load a snapshot taken from a machine built from the same or a changed catalog:
        series whose indicator no longer exists are dropped."""
        old_rule_ids: list[str] = list(snap["rule_ids"])
        keys = [tuple(k) for k in snap["keys"]]
        keep = [i for i, (ind, _) in enumerate(keys) if ind in self._rule_of]
        assert all(old_rule_ids[int(snap["rule"][i])] == keys[i][0] for i in keep)
        arrays = {  # (an array a snapshot predates starts at a new series' value)
            name: np.asarray(snap[name])[keep]
            if name in snap
            else np.full(len(keep), _Growable.FILL.get(name, _NONE))
            for name in _Growable.ARRAYS
        }
        arrays["rule"] = np.array([self._rule_of[keys[i][0]] for i in keep], dtype=np.int64)
        self._adopt(arrays, [keys[i] for i in keep])

    def _adopt(self, arrays: Mapping[str, np.ndarray], keys: list[tuple[str, str]]) -> None:
        """Series state from `arrays` (one row per key, rules numbered as in this machine):
        what a restore keeps of a snapshot, what a withdrawal keeps of the series."""
        n = len(keys)
        self._s = _Growable(max(1024, n))
        for name in _Growable.ARRAYS:
            getattr(self._s, name)[:n] = arrays[name]
        self._s.n = n
        self._keys = list(keys)
        self._series = {key: s for s, key in enumerate(self._keys)}
        self._reindex()

    def _reindex(self) -> None:
        keys = np.array([f"{i}\x1f{a}" for i, a in self._keys], dtype=np.str_)
        order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[order]
        self._sorted_idx = np.arange(len(keys), dtype=np.int64)[order]
