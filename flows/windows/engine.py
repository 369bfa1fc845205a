"""Tumbling and sliding event-time windows for one indicator, over columnar batches.

Time is cut into panes of one `step` (a tumbling window is one pane; a sliding window of
length L and step S is L/S consecutive panes).  Each pane holds numpy accumulators indexed by
the area at the indicator's finest level; an event costs one `np.add.at` per accumulator,
whatever the number of areas.  A window closes when the watermark passes its end plus the
allowed lateness; it is then combined from its panes, rolled up to the coarser levels by
grouping the finest areas by their parent, and the pane that no open window needs is freed.
An event whose panes were all freed is late: it is reported to the caller (dead letters).
Lateness is judged per event against the watermark when it arrived (`ingest`), so that where a
replay's chunks are cut does not change what counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .aggregate import NEEDS, QUANTILES, group_distinct, group_quantile
from .progress import END_OF_TIME, NO_TIME

ADDITIVE = frozenset({"count", "rate", "sum", "distinct"})  # no events -> the value is 0
NEVER = np.iinfo(np.int32).max


@dataclass(frozen=True)
class WindowSpec:
    """Window geometry in seconds; `origin` aligns windows (e.g. to local midnight)."""

    length: int
    step: int
    lateness: int = 0
    origin: int = 0

    def __post_init__(self) -> None:
        if self.length <= 0 or self.step <= 0 or self.length % self.step:
            raise ValueError("window length must be a positive multiple of its step")
        if self.lateness < 0:
            raise ValueError("lateness cannot be negative")

    @property
    def panes(self) -> int:
        return self.length // self.step


@dataclass(frozen=True)
class ClosedWindows:
    """Closed windows of one indicator at one area level, for one window start (columnar).

    `value` is NaN with `count` 0 where an area that used to report has been silent for the
    indicator's `silence_after` windows: the no-signal value."""

    indicator: str
    level: str
    start: int  # epoch seconds
    end: int
    area: np.ndarray  # int64 area index at `level`
    value: np.ndarray  # float64
    count: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.area.size)


@dataclass
class _Pane:
    count: np.ndarray
    sum: np.ndarray | None = None
    min: np.ndarray | None = None
    max: np.ndarray | None = None
    raw_area: list[np.ndarray] = field(default_factory=list)
    raw_value: list[np.ndarray] = field(default_factory=list)


class IndicatorWindows:
    """Window state of one indicator over all its areas (one shard of them, under Bytewax).

    `levels` lists the area levels to emit, finest first; `area` indices given to `add` are at
    the finest one, and `parents[level]` maps a finest-level index to its index at `level`."""

    def __init__(
        self,
        indicator: str,
        aggregate: str,
        spec: WindowSpec,
        levels: Sequence[str],
        n_areas: Mapping[str, int],
        parents: Mapping[str, np.ndarray] | None = None,
        silence_after: int | None = None,
        zero_fill: int = 0,
    ) -> None:
        """`zero_fill`: for additive aggregates (count, rate, sum, distinct), an area that had
        events keeps reporting 0 for that many windows after its last one.  No events IS the
        value there ("no calls this hour"), and without it a hotline surge would never read
        as over: its warning could not clear."""
        if aggregate not in NEEDS:
            raise ValueError(f"unknown aggregate {aggregate!r}")
        self.indicator = indicator
        self.aggregate = aggregate
        self.spec = spec
        self.levels = list(levels)
        self.finest = self.levels[0]
        self.n_areas = dict(n_areas)
        self.parents = dict(parents or {})
        for lvl in self.levels[1:]:
            if lvl not in self.parents:
                raise ValueError(f"no mapping from {self.finest} to {lvl}")
        self.silence_after = silence_after
        self.needs = NEEDS[aggregate]
        self.step_ms = spec.step * 1000
        self.origin_ms = spec.origin * 1000
        self.panes: dict[int, _Pane] = {}
        self.first_open: int | None = None  # the earliest window (by start pane) not closed
        self.closed_any = False
        # no-signal bookkeeping per level: has reported before, windows silent since
        self.seen = {lvl: np.zeros(self.n_areas[lvl], dtype=bool) for lvl in self.levels}
        self.silent = {lvl: np.zeros(self.n_areas[lvl], dtype=np.int32) for lvl in self.levels}
        if zero_fill and aggregate not in ADDITIVE:
            raise ValueError(f"zero_fill needs an additive aggregate, not {aggregate!r}")
        if zero_fill and silence_after is not None:
            raise ValueError("an area's silence is either zeros or no-signal, not both")
        self.zero_fill = int(zero_fill)
        # windows since the area's last event; NEVER for areas that have had none
        self.quiet_for = {lvl: np.full(self.n_areas[lvl], NEVER, dtype=np.int32)
                          for lvl in self.levels} if self.zero_fill else {}  # fmt: skip

    # -- ingest ---------------------------------------------------------------------------
    def _new_pane(self) -> _Pane:
        n = self.n_areas[self.finest]
        pane = _Pane(count=np.zeros(n))
        if "sum" in self.needs:
            pane.sum = np.zeros(n)
        if "min" in self.needs:
            pane.min = np.full(n, np.inf)
        if "max" in self.needs:
            pane.max = np.full(n, -np.inf)
        return pane

    def add(self, area: np.ndarray, ts_ms: np.ndarray, values: np.ndarray | None) -> np.ndarray:
        """Add events; returns the boolean mask of those that came too late to count (every
        window holding them closed by an earlier `close_until`)."""
        n = area.size
        late = np.zeros(n, dtype=bool)
        if n == 0:
            return late
        pane_of = (ts_ms - self.origin_ms) // self.step_ms
        if self.closed_any:
            assert self.first_open is not None
            # a pane is gone once every window containing it has closed
            late = pane_of < self.first_open
        keep = ~late
        if not keep.all():
            area, pane_of = area[keep], pane_of[keep]
            values = None if values is None else values[keep]
        self._accept(area, pane_of, values)
        return late

    def ingest(
        self,
        area: np.ndarray,
        ts_ms: np.ndarray,
        values: np.ndarray | None,
        watermark_ms: np.ndarray,
    ) -> tuple[np.ndarray, list[ClosedWindows]]:
        """Add events judged one by one against the watermark as it stood when each arrived.

        `watermark_ms[i]` is that watermark for event i (events in arrival order, so it never
        decreases).  A batch read in one go then counts what a batch cut anywhere would: an
        event is late when every window holding it had closed by its arrival, even if the
        events before it in the same batch moved the watermark (with `add` alone, lateness
        was judged between batches only, and the chunk size of a replay changed its results).
        An event of a sliding window some of whose windows had closed by then counts in the
        open ones only: those windows are closed first (the closed windows are returned) and
        the event added after.  Returns the mask of late events and the windows closed."""
        n = area.size
        if n == 0:
            return np.zeros(0, dtype=bool), []
        pane_of = (ts_ms - self.origin_ms) // self.step_ms
        k = self.spec.panes
        if self.closed_any:
            assert self.first_open is not None
            # the usual batch: every window of every event still open at the batch's end
            last = self._first_window_not_closable(int(watermark_ms[-1]))
            if int(pane_of.min()) - (k - 1) >= max(last, self.first_open):
                self._accept(area, pane_of, values)
                return np.zeros(n, dtype=bool), []
        # per event: the first window (by start pane) the watermark could not close yet
        bound = self._first_windows_not_closable(watermark_ms)
        if self.closed_any:
            assert self.first_open is not None
            np.maximum(bound, self.first_open, out=bound)
            judged: slice | np.ndarray = slice(None)
        else:
            # nothing has closed yet: nothing is late until the first window would close, i.e.
            # after the event where the earliest window seen so far becomes closable
            earliest = np.minimum.accumulate(pane_of) - (k - 1)
            if self.first_open is not None:
                np.minimum(earliest, self.first_open, out=earliest)
            closes = np.flatnonzero(earliest < bound)
            judged = slice(int(closes[0]) + 1 if closes.size else n, None)
        late = np.zeros(n, dtype=bool)
        late[judged] = pane_of[judged] < bound[judged]
        partly = np.zeros(n, dtype=bool)
        if k > 1:  # a sliding window: some of the event's windows may have closed already
            partly[judged] = ~late[judged] & (pane_of[judged] - (k - 1) < bound[judged])
        keep = ~(late | partly)
        if keep.all():
            self._accept(area, pane_of, values)
            return late, []
        rows = np.flatnonzero(keep)
        self._accept(area[rows], pane_of[rows], None if values is None else values[rows])
        closed: list[ClosedWindows] = []
        if partly.any():
            rows = np.flatnonzero(partly)
            rows = rows[np.argsort(bound[rows], kind="stable")]
            cuts = np.flatnonzero(np.diff(bound[rows])) + 1
            for group in np.split(rows, cuts):
                closed += self.close_until(int(watermark_ms[group[0]]))
                vals = None if values is None else values[group]
                self._accept(area[group], pane_of[group], vals)
        return late, closed

    def _accept(self, area: np.ndarray, pane_of: np.ndarray, values: np.ndarray | None) -> None:
        """Accumulate events into their panes (none of them late)."""
        if area.size == 0:
            return
        lo, hi = int(pane_of.min()), int(pane_of.max())
        k = self.spec.panes
        if self.first_open is None:
            self.first_open = lo - k + 1
        elif not self.closed_any:
            self.first_open = min(self.first_open, lo - k + 1)
        if lo == hi:
            self._accumulate(lo, area, values)
        else:
            wanted = range(lo, hi + 1) if hi - lo <= 64 else np.unique(pane_of).tolist()
            for p in wanted:
                sel = pane_of == p
                if sel.any():
                    self._accumulate(int(p), area[sel], None if values is None else values[sel])

    def _accumulate(self, p: int, area: np.ndarray, values: np.ndarray | None) -> None:
        pane = self.panes.get(p)
        if pane is None:
            pane = self.panes[p] = self._new_pane()
        np.add.at(pane.count, area, 1.0)
        if values is None:
            return
        if pane.sum is not None:
            np.add.at(pane.sum, area, values)
        if pane.min is not None:
            np.minimum.at(pane.min, area, values)
        if pane.max is not None:
            np.maximum.at(pane.max, area, values)
        if "raw" in self.needs:
            pane.raw_area.append(area.astype(np.int64, copy=False))
            pane.raw_value.append(values.astype(np.float64, copy=False))

    # -- closing ---------------------------------------------------------------------------
    def close_until(self, watermark_ms: int) -> list[ClosedWindows]:
        """Close every window whose end plus lateness the watermark has passed."""
        out: list[ClosedWindows] = []
        if self.first_open is None or watermark_ms == NO_TIME:
            return out
        k = self.spec.panes
        span_ms = (self.spec.length + self.spec.lateness) * 1000
        final = watermark_ms == END_OF_TIME
        while True:
            q = self.first_open
            if not final and q * self.step_ms + self.origin_ms + span_ms > watermark_ms:
                break
            if final and not self.panes:
                break
            member = [self.panes[p] for p in range(q, q + k) if p in self.panes]
            silence = self._tracking_silence()
            if member or silence:
                out.extend(self._emit(q, member))
            self.panes.pop(q, None)
            self.first_open = q + 1
            self.closed_any = True
            if not member and not silence:
                # no data and nothing silent to report: skip the empty windows
                # (never past a window the watermark cannot close yet: it may still get data)
                nxt = min(self.panes, default=None)
                target = None if nxt is None else nxt - k + 1
                if not final:
                    limit = self._first_window_not_closable(watermark_ms)
                    target = limit if target is None else min(target, limit)
                if target is not None:
                    self.first_open = max(self.first_open, target)
        return out

    def closed_through(self) -> int | None:
        """The end (epoch seconds) of the latest window closed, whether any area had data in
        it or not; None before the first close."""
        if not self.closed_any or self.first_open is None:
            return None
        return self.spec.origin + (self.first_open - 1) * self.spec.step + self.spec.length

    def _tracking_silence(self) -> bool:
        """Whether an empty window still has rows to report (no-signal values or zeros)."""
        if self.zero_fill and any((q < self.zero_fill).any() for q in self.quiet_for.values()):
            return True
        return self.silence_after is not None and any(s.any() for s in self.seen.values())

    def _first_window_not_closable(self, watermark_ms: int) -> int:
        """The first window (by start pane) that `watermark_ms` cannot close yet."""
        return int(self._first_windows_not_closable(np.array([watermark_ms], dtype=np.int64))[0])

    def _first_windows_not_closable(self, watermark_ms: np.ndarray) -> np.ndarray:
        """`_first_window_not_closable` of each watermark (NO_TIME: none closable yet)."""
        span = self.spec.length * 1000 + self.spec.lateness * 1000
        # NO_TIME and END_OF_TIME kept far from int64's ends, so the arithmetic cannot wrap
        wm = np.clip(watermark_ms, NO_TIME // 2, END_OF_TIME // 2)
        return (wm - span - self.origin_ms) // self.step_ms + 1

    def _emit(self, q: int, member: list[_Pane]) -> list[ClosedWindows]:
        n = self.n_areas[self.finest]
        count = np.zeros(n)
        total = np.zeros(n) if "sum" in self.needs else None
        low = np.full(n, np.inf) if "min" in self.needs else None
        high = np.full(n, -np.inf) if "max" in self.needs else None
        raw_a: list[np.ndarray] = []
        raw_v: list[np.ndarray] = []
        for pane in member:
            count += pane.count
            if total is not None and pane.sum is not None:
                total += pane.sum
            if low is not None and pane.min is not None:
                np.minimum(low, pane.min, out=low)
            if high is not None and pane.max is not None:
                np.maximum(high, pane.max, out=high)
            raw_a.extend(pane.raw_area)
            raw_v.extend(pane.raw_value)
        start = (q * self.step_ms + self.origin_ms) // 1000
        end = start + self.spec.length
        ra = np.concatenate(raw_a) if raw_a else np.zeros(0, dtype=np.int64)
        rv = np.concatenate(raw_v) if raw_v else np.zeros(0)
        results = []
        c: np.ndarray
        s: np.ndarray | None
        for lvl in self.levels:
            if lvl == self.finest:
                c, s, lo, hi, ga = count, total, low, high, ra
            else:
                parent = self.parents[lvl]
                m = self.n_areas[lvl]
                idx = np.flatnonzero(count)
                pidx = parent[idx]
                c = np.bincount(pidx, weights=count[idx], minlength=m)
                s = None if total is None else np.bincount(pidx, total[idx], minlength=m)
                lo = hi = None
                if low is not None:
                    lo = np.full(m, np.inf)
                    np.minimum.at(lo, pidx, low[idx])
                if high is not None:
                    hi = np.full(m, -np.inf)
                    np.maximum.at(hi, pidx, high[idx])
                ga = parent[ra] if ra.size else ra
            results.append(self._rows(lvl, start, end, c, s, lo, hi, ga, rv))
        return [r for r in results if len(r)]

    def _rows(
        self,
        lvl: str,
        start: int,
        end: int,
        count: np.ndarray,
        total: np.ndarray | None,
        low: np.ndarray | None,
        high: np.ndarray | None,
        raw_area: np.ndarray,
        raw_value: np.ndarray,
    ) -> ClosedWindows:
        agg = self.aggregate
        areas = np.flatnonzero(count)
        m = count.size
        if agg == "count":
            value = count[areas]
        elif agg == "rate":
            value = count[areas] / (self.spec.length / 60.0)
        elif agg == "sum":
            assert total is not None
            value = total[areas]
        elif agg == "mean":
            assert total is not None
            value = total[areas] / count[areas]
        elif agg == "min":
            assert low is not None
            value = low[areas]
        elif agg == "max":
            assert high is not None
            value = high[areas]
        elif agg == "distinct":
            value = group_distinct(raw_area, raw_value, m)[areas]
        else:
            value = group_quantile(raw_area, raw_value, QUANTILES[agg], m)[areas]
        counts = count[areas].astype(np.int64)
        if self.zero_fill:
            since = self.quiet_for[lvl]
            events = np.zeros(m, dtype=bool)
            events[areas] = True
            waiting = ~events & (since < NEVER)
            since[waiting] += 1
            since[events] = 0
            zeros = np.flatnonzero(waiting & (since <= self.zero_fill))
            since[waiting & (since > self.zero_fill)] = NEVER  # done: silent until next event
            if zeros.size:
                areas = np.concatenate([areas, zeros])
                value = np.concatenate([value, np.zeros(zeros.size)])
                counts = np.concatenate([counts, np.zeros(zeros.size, dtype=np.int64)])
        if self.silence_after is not None:
            seen, silent = self.seen[lvl], self.silent[lvl]
            reporting = np.zeros(m, dtype=bool)
            reporting[areas] = True
            silent[reporting] = 0
            quiet = seen & ~reporting
            silent[quiet] += 1
            seen |= reporting
            gone = np.flatnonzero(quiet & (silent >= self.silence_after))
            if gone.size:
                areas = np.concatenate([areas, gone])
                value = np.concatenate([value, np.full(gone.size, np.nan)])
                counts = np.concatenate([counts, np.zeros(gone.size, dtype=np.int64)])
        return ClosedWindows(self.indicator, lvl, int(start), int(end), areas, value, counts)

    # -- recovery --------------------------------------------------------------------------
    def snapshot(self) -> dict[str, object]:
        """Plain arrays and numbers (copied), cheap to pickle: Bytewax's recovery state."""
        panes = {
            p: {
                "count": pane.count.copy(),
                "sum": None if pane.sum is None else pane.sum.copy(),
                "min": None if pane.min is None else pane.min.copy(),
                "max": None if pane.max is None else pane.max.copy(),
                "raw_area": list(pane.raw_area),
                "raw_value": list(pane.raw_value),
            }
            for p, pane in self.panes.items()
        }
        return {
            "panes": panes,
            "first_open": self.first_open,
            "closed_any": self.closed_any,
            "seen": {k: v.copy() for k, v in self.seen.items()},
            "silent": {k: v.copy() for k, v in self.silent.items()},
            "quiet_for": {k: v.copy() for k, v in self.quiet_for.items()},
        }

    def restore(self, state: Mapping[str, object]) -> None:
        panes = state["panes"]
        assert isinstance(panes, dict)
        self.panes = {int(p): _Pane(**d) for p, d in panes.items()}
        first_open = state["first_open"]
        self.first_open = None if first_open is None else int(first_open)  # type: ignore[call-overload]
        self.closed_any = bool(state["closed_any"])
        self.seen = dict(state["seen"])  # type: ignore[call-overload]
        self.silent = dict(state["silent"])  # type: ignore[call-overload]
        if self.zero_fill and "quiet_for" in state:  # older snapshots have none: start afresh
            self.quiet_for = dict(state["quiet_for"])  # type: ignore[call-overload]

    def remap(self, source: Mapping[str, np.ndarray]) -> None:
        """Renumber the areas after a restore: at each level, new area i continues old area
        `source[level][i]`, or starts empty where that is -1.  Events of areas that are gone
        (a sensor removed from the registry) leave the open windows with them."""
        finest = np.asarray(source[self.finest], dtype=np.int64)
        have = np.flatnonzero(finest >= 0)
        n_old = self.seen[self.finest].size  # restored: the snapshot's number of areas
        new_of_old = np.full(n_old, -1, dtype=np.int64)
        new_of_old[finest[have]] = have

        def moved(arr: np.ndarray | None, fill: float) -> np.ndarray | None:
            if arr is None:
                return None
            out = np.full(finest.size, fill, dtype=arr.dtype)
            out[have] = arr[finest[have]]
            return out

        for pane in self.panes.values():
            pane.count = moved(pane.count, 0.0)  # type: ignore[assignment]
            pane.sum = moved(pane.sum, 0.0)
            pane.min = moved(pane.min, np.inf)
            pane.max = moved(pane.max, -np.inf)
            areas = [new_of_old[a] for a in pane.raw_area]
            pane.raw_value = [v[a >= 0] for a, v in zip(areas, pane.raw_value, strict=True)]
            pane.raw_area = [a[a >= 0] for a in areas]
        for lvl in self.levels:
            src = np.asarray(source[lvl], dtype=np.int64)
            keep = np.flatnonzero(src >= 0)
            for table, fill in ((self.seen, False), (self.silent, 0), (self.quiet_for, NEVER)):
                if lvl in table:
                    out = np.full(src.size, fill, dtype=table[lvl].dtype)
                    out[keep] = table[lvl][src[keep]]
                    table[lvl] = out
