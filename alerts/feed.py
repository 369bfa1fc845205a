"""Following the flow's warnings (and the hotline's orders) into the ticket store.

The flow writes its warning events to OUT/warnings.ndjson and the hotline's work orders, masked
and placed, to OUT/orders.ndjson; `citysigns dispatch` reads them, as they are appended, into
the ticket service: the "each warning creates a ticket" step of the
data path for a deployment (the demo and analysts' tests drive the service in process, and
Prometheus alerts reach it through the Alertmanager webhook of `citysigns serve`).

Reading is by complete lines: a line the flow is still writing is left for the next read.
Applying is idempotent (the store records every event key it applied), so reading a file
again from its start changes nothing; a position file (`--position`) only saves the time.
The position is written after the service took the batch, so a crash in between re-reads
that batch, which the store then ignores.

A line that is not a warning event (broken JSON, missing fields) is skipped with its
`file:line` and reason, and counted: the flow never writes one, so it means a damaged or a
foreign file.  Raw hotline records are accepted too: they go through the flow's own decoder
(OrderReader), so they are checked, masked and placed as the flow would.

Orders wait for the warnings that may come before them (OrderHold).  An order corroborates
the incident whose warning was applied before it; the flow writes an order as soon as it is
decoded but a warning only when its window closes (the watermark past its end plus the
indicator's lateness), so the orders file runs ahead of the warnings file.  Read as they came,
an order whose warning was still in a window opened a ticket of its own.  So an order waits
until the warnings read show that the flow has closed every window of the order's family up
to the order's time; following them, at most for a bounded time (`--order-hold`), since a
quiet flow may write no warning for hours.

Reading the files once, every item waits until both files are read to their end, and then
all go in time order, deadlines judged on the way in data time: the warnings file is in time
order per indicator only (the flow writes the windows one watermark step closed indicator by
indicator, and a replay at full speed moves the watermark by hours in one step), so a later
read held warnings 21.6 hours older than the last one applied, and the tickets and the audit
trail depended on where the reads cut the file."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import logging
import math
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flows.city import City
from flows.decode import ChannelDecoder
from flows.decode.chunks import RawChunk
from flows.orders import hotline_orders
from flows.privacy import mask_record, masked_id, names_in_record

from .events import WarningEvent
from .hotline import HotlineOrder
from .service import Outcome, TicketService

log = logging.getLogger(__name__)
READ_BYTES = 8 << 20  # at most this much of a file per read, so one read stays one batch
ORDER_HOLD = 900.0  # s: the longest a followed order waits for warnings (--order-hold)
FLOW_DELAY = 60  # s: from the watermark passing a window's close to its warning in the file


@dataclass
class LineFollower:
    """The complete lines appended to `path` since the last read (a missing file has none
    yet).  `position` (a file) keeps the byte offset of the first line not yet taken, written
    by `commit()` once what was read has been applied.

    A flow resumed from recovery cuts its output file back to its last snapshot and writes
    the lines after it again: a file shorter than what was read is read on from its new end,
    and the lines written again are applied again, which the store ignores.  (Had the flow
    already written past the old end when the file is next read, the bytes up to it are the
    same lines again, so reading on from there loses nothing either.)"""

    path: Path
    position: Path | None = None
    offset: int = 0
    line_no: int = 0  # lines read so far, for messages
    cuts: int = field(default=0, init=False)  # times the file was found cut back
    lines_read: int = field(default=0, init=False)  # in all, the lines read again included
    _pending: int = field(default=0, init=False)  # offset after the last read, not committed
    _in_overlong: bool = field(default=False, init=False)  # inside a line being skipped
    read_from: int = field(default=0, init=False)  # offset of the first line the last read gave
    at_end: bool = field(default=False, init=False)  # the last read reached the file's end

    def __post_init__(self) -> None:
        if self.position is not None and self.position.is_file():
            self.offset = int(self.position.read_text(encoding="utf-8").split()[0])
            self.line_no = self._lines_before(self.offset)
        self._pending = self.offset

    def _lines_before(self, offset: int) -> int:
        """Lines in the first `offset` bytes (once per start or cut, so messages name the
        file's own line numbers)."""
        n, left = 0, offset
        try:
            with self.path.open("rb") as f:
                while left > 0:
                    block = f.read(min(left, READ_BYTES))
                    if not block:
                        break
                    n += block.count(b"\n")
                    left -= len(block)
        except FileNotFoundError:
            return 0
        return n

    def read(self) -> list[tuple[int, bytes]]:
        """(line number, line) of the complete lines after the last read."""
        try:
            with self.path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self._pending:  # see the class docstring
                    log.info("%s: cut back to %d bytes by the flow's restart; reading on from "
                             "there", self.path, size)  # fmt: skip
                    self._pending = self.offset = size
                    self.line_no = self._lines_before(size)
                    self.cuts += 1
                f.seek(self._pending)
                data = f.read(READ_BYTES)
        except FileNotFoundError:
            self.at_end = True
            return []
        self.at_end = len(data) < READ_BYTES
        if self._in_overlong:  # the rest of an overlong line, up to its end
            rest = data.find(b"\n") + 1
            self._pending += rest or len(data)
            if not rest:
                return []
            self._in_overlong = False
            self.line_no += 1
            data = data[rest:]
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        if end == 0 and len(data) == READ_BYTES:  # no end in a whole read: never a warning
            log.warning("%s:%d: skipped, a line of more than %d bytes", self.path,
                        self.line_no + 1, READ_BYTES)  # fmt: skip
            self._pending += len(data)
            self._in_overlong = True
            return []
        lines = data[:end].split(b"\n")[:-1]
        first = self.line_no + 1
        self.read_from = self._pending
        self._pending += end
        self.line_no += len(lines)
        self.lines_read += len(lines)
        return [(first + i, line) for i, line in enumerate(lines) if line.strip()]

    def commit(self, upto: int | None = None) -> None:
        """What was read has been applied (up to the line at byte `upto`, when given): a
        restart starts after it."""
        self.offset = self._pending if upto is None else min(upto, self._pending)
        if self.position is not None:
            tmp = self.position.with_name(self.position.name + ".tmp")
            tmp.write_text(f"{self.offset}\n", encoding="utf-8")
            tmp.replace(self.position)


@dataclass
class FeedCounts:
    """What a dispatch run did, per kind of outcome and per skipped line."""

    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> lines
    log_skips: bool = True  # each skipped line logged with its file:line

    # the tickets supervised at least once: `outcomes["supervised"]` counts supervisions, and
    # one ticket nobody takes is supervised many times
    supervised_tickets: set[str] = field(default_factory=set)

    def add(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            self.outcomes[o.action] += 1
            if o.action == "supervised" and o.ticket_id:
                self.supervised_tickets.add(o.ticket_id)

    def summary(self) -> str:
        """The outcomes as one line, supervisions with the number of tickets they were of
        ("supervised 10,212" read as 10,212 tickets; it was 10,212 supervisions)."""
        parts = []
        for k, n in sorted(self.outcomes.items()):
            if k == "supervised":
                tickets = len(self.supervised_tickets)
                parts.append(f"supervisions {n:,} (of {tickets:,} ticket{'s' * (tickets != 1)})")
            else:
                parts.append(f"{k} {n:,}")
        return ", ".join(parts) or "nothing new"


def _skip(
    counts: FeedCounts, path: Path, line_no: int, reason: str, detail: str | None = None
) -> None:
    """Log a skipped line with its place (and the detail, which the counts leave out)."""
    if counts.log_skips:
        why = f"{reason}: {detail}" if detail else reason
        log.warning("%s:%d: skipped, %s", path, line_no, why)
    counts.skipped[reason] += 1


def warning_events(
    lines: Iterable[tuple[int, bytes]], path: Path, counts: FeedCounts
) -> list[WarningEvent]:
    """The warning events of these lines; the others are skipped with their reason."""
    events = []
    for line_no, line in lines:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError("not a JSON object")
            events.append(WarningEvent.from_dict(record))
        except (ValueError, TypeError, KeyError, RecursionError) as e:
            kind = "not JSON" if isinstance(e, json.JSONDecodeError) else "not a warning event"
            _skip(counts, path, line_no, kind)
    return events


def hotline_order(record: object, city: City) -> HotlineOrder:
    """One hotline record as an order, personal data masked and placed in its community
    (ValueError, KeyError or TypeError when it is not an order)."""
    if not isinstance(record, dict):
        raise TypeError("not a JSON object")
    masked = mask_record(record)
    order_id = record.get("service_request_id")
    if isinstance(order_id, str | int) and not isinstance(order_id, bool):  # as decoding does
        masked["service_request_id"] = masked_id(str(order_id), names_in_record(record))
    # the decoded order's community: a code of the city model (15 digits, which masking
    # takes for an identity number), kept when the city knows it
    area = record.get("area_code")
    masked["area_code"] = area if isinstance(area, str) and _known_area(city, area) else None
    order = HotlineOrder.from_dict(masked)
    if order.area_code is None and order.lat is not None and order.long is not None:
        # (decoding placed the flow's orders already: only an order without a place is located)
        idx = int(city.locate(np.array([order.lat]), np.array([order.long]))[0])
        if idx >= 0:
            code = str(city.level("community").code[idx])
            order = dataclasses.replace(order, area_code=code)
    return order


def _known_area(city: City, code: str) -> bool:
    try:
        city.find(code)
    except ValueError:
        return False
    return True


def is_decoded_order(record: dict[str, Any]) -> bool:
    """The flow's decoded form (OUT/orders.ndjson: `ts` in epoch seconds), not a raw record."""
    ts = record.get("ts")
    return isinstance(ts, int) and not isinstance(ts, bool) and "requested_datetime" not in record


@dataclass
class OrderReader:
    """Hotline lines into orders.  The flow's decoded orders are taken as they are (masked
    once more); raw records go through the flow's own decoder, so they get every check and
    the masking decoding gives them (an unknown category, a position off the globe, a missing
    id or time are refused with the decoder's reason) instead of reaching the tickets as they
    came.  One decoder for the whole run, so a record read twice counts as a duplicate."""

    city: City
    decoder: ChannelDecoder = field(init=False)

    def __post_init__(self) -> None:
        self.decoder = ChannelDecoder("hotline", locate=self.city.locate)

    def read(
        self, lines: Iterable[tuple[int, bytes]], path: Path, counts: FeedCounts
    ) -> list[HotlineOrder]:
        orders: list[HotlineOrder] = []
        raw: list[tuple[int, bytes]] = []
        for line_no, line in lines:
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                raw.append((line_no, line))  # the decoder says why, as the flow's would
                continue
            if not (isinstance(record, dict) and is_decoded_order(record)):
                raw.append((line_no, line))
                continue
            try:
                orders.append(hotline_order(record, self.city))
            except (ValueError, TypeError, KeyError) as e:
                _skip(counts, path, line_no, f"not a hotline order ({e})")
        if raw:
            orders += self._decode(raw, path, counts)
        return orders

    def _decode(
        self, raw: list[tuple[int, bytes]], path: Path, counts: FeedCounts
    ) -> list[HotlineOrder]:
        raw = [(n, line.rstrip(b"\r\n")) for n, line in raw if line.strip()]
        if not raw:
            return []
        data = b"".join(line + b"\n" for _, line in raw)  # one line each, as positions say
        positions = np.array([n for n, _ in raw], dtype=np.int64)
        batch, dead = self.decoder.decode(RawChunk(str(path), raw[0][0], data, positions=positions))
        for letter in dead.letters:
            _skip(counts, path, letter.position, f"refused: {letter.reason.value}", letter.detail)
        repeats = dead.counts.get("duplicate", 0)
        if repeats:
            counts.skipped["refused: duplicate"] += repeats
        return [HotlineOrder.from_dict(o) for o in hotline_orders(batch, self.city)]


def read_hotline_orders(
    lines: Iterable[tuple[int, bytes]], path: Path, city: City, counts: FeedCounts
) -> list[HotlineOrder]:
    """The orders of these lines, read once (see OrderReader)."""
    return OrderReader(city).read(lines, path, counts)


@dataclass
class OrderHold:
    """Orders waiting for the warnings that may come before them, released in time order.

    An order of family `f` at time `ts` is released once `watermark >= ts + wait(f)`: the
    feed raises the watermark as it reads warnings, to the flow's watermark they show (a
    warning of window end `at` is written once the flow's watermark passed `at` plus the
    indicator's lateness, so by then every window of `f` ending by `ts` has closed when
    `wait(f)` is the largest lateness of `f`'s indicators).  Or once it has waited
    `wait(f) + grace` seconds of wall-clock time since it was read, at most `hold`: the
    warnings may stop (a quiet city writes none, a stopped flow none at all).  An order
    whose `wait` is None is not held.  Within a family orders leave in time order (an order
    released by its wait takes along the earlier ones of its family), so duplicates still
    find the order they repeat."""

    wait: Callable[[str], int | None]  # family -> event-time seconds, None: not held
    family: Callable[[HotlineOrder], str]
    hold: float = ORDER_HOLD  # wall-clock seconds at most
    grace: float = FLOW_DELAY  # wall-clock seconds past `wait`
    watermark: float = -math.inf
    _heaps: dict[str, list[tuple[int, int, HotlineOrder, int]]] = field(
        default_factory=dict, init=False
    )  # family -> (ts, seq, order, batch), by time
    _due: dict[str, deque[tuple[float, int]]] = field(default_factory=dict, init=False)
    _released_to: dict[str, float] = field(default_factory=dict, init=False)  # by waiting
    _batches: Counter[int] = field(default_factory=Counter, init=False)  # read -> held
    _seq: int = field(default=0, init=False)

    def __len__(self) -> int:
        return sum(len(h) for h in self._heaps.values())

    def add(self, orders: Iterable[HotlineOrder], batch: int, now: float) -> list[HotlineOrder]:
        """Hold `orders` (read together, `batch` names the read); those of a family no
        indicator has are returned at once."""
        free = []
        for o in orders:
            fam = self.family(o)
            wait = self.wait(fam)
            if wait is None:
                free.append(o)
                continue
            self._seq += 1
            heapq.heappush(self._heaps.setdefault(fam, []), (o.ts, self._seq, o, batch))
            due = now + min(wait + self.grace, self.hold)
            self._due.setdefault(fam, deque()).append((due, o.ts))
            self._batches[batch] += 1
        return free

    def release(self, now: float, everything: bool = False) -> list[HotlineOrder]:
        """The orders whose warnings have been read, or that waited long enough."""
        out: list[HotlineOrder] = []
        for fam, heap in self._heaps.items():
            due = self._due[fam]
            waited = self._released_to.get(fam, -math.inf)
            while due and due[0][0] <= now:  # waited long enough: with the earlier ones
                waited = max(waited, due.popleft()[1])
            self._released_to[fam] = waited
            until = max(self.watermark - (self.wait(fam) or 0), waited)
            while heap and (everything or heap[0][0] <= until):
                _, _, order, batch = heapq.heappop(heap)
                out.append(order)
                self._batches[batch] -= 1
                if self._batches[batch] == 0:
                    del self._batches[batch]
            if not heap:
                due.clear()
        return out

    def oldest_batch(self) -> int | None:
        """The first read that still has orders held (its lines are not applied yet)."""
        return min(self._batches) if self._batches else None


@dataclass
class Feed:
    """The warnings file and, optionally, the hotline file, into one ticket service.

    With `set_clock` the service's clock follows the items' own time and deadlines are judged
    every `tick` seconds of it (a replay of history); without, the clock is the wall clock
    and deadlines are left to `citysigns serve`, which judges them on its own timer.

    Over files read once (`live` False) nothing is applied until both files are read to
    their end (`_unapplied` holds the warnings, the hold the orders): then every item goes in
    time order, as one read of the whole files gives, however many reads they took (files
    over READ_BYTES).  The flow's watermark cannot stand
    in for the end: its warnings file is in time order per indicator only (the windows one
    watermark step closed come out indicator by indicator, and a replay at full speed steps
    by hours), and released up to what the warnings read showed, the demo city's files in
    4 kB reads gave 2,415 tickets where one read gave 2,439, and 1,931 of 5,218 audit
    entries at other times or on other tickets.  The price is memory: what the files hold,
    parsed, until their end (the orders were already held so).  The positions are saved at
    the end only: a dispatcher stopped before reads the files again from their start.

    Followed (`live`, which `follow` sets), warnings go as they are read and orders wait for
    their warnings (OrderHold): until the warnings read show that the flow closed every
    window of the order's family up to the order's time, `order_hold` seconds at most.  An
    order of a family no indicator has waits for nothing when followed in wall-clock time,
    and for the warnings' time otherwise (a data-time clock moves on with every item).  The
    orders file's position never passes an order still held: a restart reads it again (and
    the store ignores what of that read was applied)."""

    service: TicketService
    warnings: LineFollower
    orders: LineFollower | None = None
    city: City | None = None
    set_clock: Callable[[int], None] | None = None  # data time: moves the service's clock
    tick: int = 300
    counts: FeedCounts = field(default_factory=FeedCounts)
    after_step: Callable[[], None] | None = None  # e.g. the exporter's view of the store
    live: bool = False  # following files still being written (see the class docstring)
    order_hold: float = ORDER_HOLD  # live: the longest an order waits for warnings, seconds
    wall_clock: Callable[[], float] = time.monotonic  # for order_hold
    _next_tick: int | None = field(default=None, init=False)
    _orders: OrderReader | None = field(default=None, init=False)
    _hold: OrderHold | None = field(default=None, init=False)
    _lateness: dict[str, int] | None = field(default=None, init=False)  # indicator -> s
    _watermark: float = field(default=-math.inf, init=False)  # the flow's, as warnings show
    _unapplied: list[WarningEvent] = field(default_factory=list, init=False)  # until the end

    @property
    def at_end(self) -> bool:
        """The last step read both files to their end (a step can stop short of it, within a
        line too long to read, which it skips)."""
        return self.warnings.at_end and (self.orders is None or self.orders.at_end)

    @property
    def held(self) -> int:
        """Orders read and not yet submitted: waiting for their warnings."""
        return 0 if self._hold is None else len(self._hold)

    def _order_hold(self) -> OrderHold:
        """The hold, made at the first order: each family waits for the largest lateness of
        its indicators (the catalog's); see the class docstring for how long at most."""
        if self._hold is None:
            router = self.service.router
            lateness: dict[str, int] = {}
            for ind in self.service.catalog.values():
                fam = router.family(ind.category, ind.id, tuple(ind.source.categories or ()))
                lateness[fam] = max(lateness.get(fam, 0), int(ind.value.window.lateness))
            unwatched = None if self.live and self.set_clock is None else 0

            def wait(fam: str) -> int | None:
                return lateness.get(fam, unwatched)

            def family(order: HotlineOrder) -> str:
                return router.family_of_service(order.service_code)

            if self.live:
                self._hold = OrderHold(wait, family, self.order_hold)
            else:  # read once: released when both files end (`step`)
                self._hold = OrderHold(wait, family, math.inf, math.inf)
        return self._hold

    def _see(self, events: list[WarningEvent]) -> None:
        """The flow's watermark when it wrote these warnings: past each one's window end by
        its indicator's lateness."""
        if self._lateness is None:
            self._lateness = {
                i.id: int(i.value.window.lateness) for i in self.service.catalog.values()
            }
        for e in events:
            self._watermark = max(self._watermark, e.at + self._lateness.get(e.indicator_id, 0))

    def step(self) -> int:
        """Apply what was appended since the last step; returns the items read."""
        if self.service.pending():  # queued while the store refused writes: try them first
            self.flush_queued()
        events = warning_events(self.warnings.read(), self.warnings.path, self.counts)
        read = 0
        orders: list[HotlineOrder] = []
        if self.orders is not None:
            assert self.city is not None
            if self._orders is None:
                self._orders = OrderReader(self.city)
            self._see(events)
            got = self._orders.read(self.orders.read(), self.orders.path, self.counts)
            read = len(got)
            if got or self._hold is not None:
                hold = self._order_hold()
                hold.watermark = self._watermark
                now = self.wall_clock()
                orders = hold.add(got, self.orders.read_from, now)
                if self.live:
                    orders += hold.release(now)
                elif self.at_end:
                    orders += hold.release(now, everything=True)
        if not self.live:  # read once: everything waits for the files' end (class docstring)
            self._unapplied += events
            if not self.at_end:
                if self.after_step is not None:
                    self.after_step()
                return len(events) + read
            events, self._unapplied = self._unapplied, []
        self._in_time_order(events, orders)
        # what waits in a memory-only outbox (the store is down) is not applied yet: the
        # position stays, so a crash now re-reads it rather than losing it; nor does it pass
        # the first order still held
        if self.service.pending() == 0 or self.service.outbox.durable:
            self.warnings.commit()
            if self.orders is not None:
                held = None if self._hold is None else self._hold.oldest_batch()
                self.orders.commit(held)
        if self.after_step is not None:
            self.after_step()
        return len(events) + read

    def _in_time_order(self, events: list[WarningEvent], orders: list[HotlineOrder]) -> None:
        """Items in time order; in data time, the clock at each one's time and deadlines
        judged on the way.

        Both kinds in one read go in the order they happened, not all orders first: an order
        corroborates the incident whose warning came before it, and submitted ahead of that
        warning it opened a ticket of its own (a whole file read at once, as one run over the
        files does, opened about 200 such tickets on the demo city and corroborated none)."""
        timeline: list[tuple[int, int, WarningEvent | HotlineOrder]] = [
            (e.at, i, e) for i, e in enumerate(events)
        ]
        timeline += [(o.ts, len(events) + i, o) for i, o in enumerate(orders)]
        timeline.sort(key=lambda x: (x[0], x[1]))
        # in wall-clock time, one call per run of one kind: fewer, larger transactions (and a
        # store that refuses writes is tried once per call, each try waiting for its lock)
        timed = self.set_clock is not None
        for (at, is_event), group in itertools.groupby(
            timeline, key=lambda x: (x[0] if timed else 0, isinstance(x[2], WarningEvent))
        ):
            if self.set_clock is not None:
                if self.service.pending():  # queued while the store refused writes
                    self.flush_queued()
                self._judge_until(at)
                self.set_clock(at)
            items = [item for _, _, item in group]
            if is_event:
                self.counts.add(self.service.submit_warnings(items))  # type: ignore[arg-type]
            else:
                self.counts.add(self.service.submit_orders(items))  # type: ignore[arg-type]

    def flush_queued(self) -> None:
        """Apply what waits in the outbox: what a store that refused writes left queued, or
        what a killed dispatcher's journal held.  In wall-clock time at once (the store takes
        them now).  In data time each run of items at its own time, as they would have gone
        in: the clock stands at the last item read, or at 0 after a restart, and a journal's
        items applied at 0 opened tickets dated 1970, their deadlines long past, so the next
        tick supervised them.  A store still refusing stops it; the next step tries again."""
        if self.set_clock is None:
            self.counts.add(self.service.flush())
            return
        queued = self.service.outbox.pending()
        for (at, _), run in itertools.groupby(queued, key=lambda i: (i.at, i.kind)):
            n = sum(1 for _ in run)
            if at is not None:
                self._judge_until(at)
                self.set_clock(at)
            applied = self.service.flush(limit=n)
            self.counts.add(applied)
            if len(applied) < n:  # the store refused them
                return

    def _judge_until(self, at: int) -> None:
        """Deadlines judged at every `tick` seconds of data time up to `at`, as a live
        service's timer would; ticks before the next deadline are skipped (they would find
        nothing: `TicketStore.next_due`), so months of history do not cost a transaction
        every five minutes.  The ticks fall on whole multiples of `tick` since the epoch, and
        the first one judged is the first at or after the store's earliest deadline (when
        that is before `at`), not `tick` after the first item read: a dispatcher restarted
        mid-file (killed, with --position) judges the deadlines that fell between the last
        item it applied and the first it reads now, at the moments one that ran through
        judged them.  A store that refuses (down, restarting) leaves the ticks to the next
        item after it is back: the items wait in the outbox meanwhile."""
        assert self.set_clock is not None
        try:
            if self._next_tick is None:
                due = self.service.next_due()
                start = at + 1 if due is None else min(due, at + 1)
                self._next_tick = -(-start // self.tick) * self.tick  # first multiple >= start
            while self._next_tick <= at:
                due = self.service.next_due()
                if due is None or due > at:
                    due = at + 1
                if due > self._next_tick:  # on to the first tick of the grid at or after it
                    self._next_tick += -(-(due - self._next_tick) // self.tick) * self.tick
                    continue
                self.set_clock(self._next_tick)
                self.counts.add(self.service.tick(self._next_tick, flush=False))
                self._next_tick += self.tick
        except Exception as e:
            if not self.service.refused(e):
                raise


def follow(feed: Feed, stop: threading.Event, poll: float = 0.5) -> None:
    """Step until `stop` is set, resting `poll` seconds whenever nothing new was there; the
    last step runs after `stop`, so what was written before it is applied (orders still
    waiting for their warnings then stay unapplied, and their position unsaved: `feed.held`).
    The files are the flow's, still being written: `feed.live`."""
    feed.live = True
    while not stop.is_set():
        if feed.step() == 0:
            stop.wait(poll)
    feed.step()
