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
(OrderReader), so they are checked, masked and placed as the flow would."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import threading
from collections import Counter
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
            return []
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
        self._pending += end
        self.line_no += len(lines)
        self.lines_read += len(lines)
        return [(first + i, line) for i, line in enumerate(lines) if line.strip()]

    def commit(self) -> None:
        """What was read has been applied: a restart starts after it."""
        self.offset = self._pending
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

    def add(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            self.outcomes[o.action] += 1


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
class Feed:
    """The warnings file and, optionally, the hotline file, into one ticket service.

    With `set_clock` the service's clock follows the items' own time and deadlines are judged
    every `tick` seconds of it (a replay of history); without, the clock is the wall clock
    and deadlines are left to `citysigns serve`, which judges them on its own timer."""

    service: TicketService
    warnings: LineFollower
    orders: LineFollower | None = None
    city: City | None = None
    set_clock: Callable[[int], None] | None = None  # data time: moves the service's clock
    tick: int = 300
    counts: FeedCounts = field(default_factory=FeedCounts)
    after_step: Callable[[], None] | None = None  # e.g. the exporter's view of the store
    _next_tick: int | None = field(default=None, init=False)
    _orders: OrderReader | None = field(default=None, init=False)

    def step(self) -> int:
        """Apply what was appended since the last step; returns the items read."""
        if self.service.pending():  # queued while the store refused writes: try them first
            self.counts.add(self.service.flush())
        events = warning_events(self.warnings.read(), self.warnings.path, self.counts)
        orders: list[HotlineOrder] = []
        if self.orders is not None:
            assert self.city is not None
            if self._orders is None:
                self._orders = OrderReader(self.city)
            orders = self._orders.read(self.orders.read(), self.orders.path, self.counts)
        self._in_time_order(events, orders)
        # what waits in a memory-only outbox (the store is down) is not applied yet: the
        # position stays, so a crash now re-reads it rather than losing it
        if self.service.pending() == 0 or self.service.outbox.durable:
            self.warnings.commit()
            if self.orders is not None:
                self.orders.commit()
        if self.after_step is not None:
            self.after_step()
        return len(events) + len(orders)

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
                self._judge_until(at)
                self.set_clock(at)
            items = [item for _, _, item in group]
            if is_event:
                self.counts.add(self.service.submit_warnings(items))  # type: ignore[arg-type]
            else:
                self.counts.add(self.service.submit_orders(items))  # type: ignore[arg-type]

    def _judge_until(self, at: int) -> None:
        """Deadlines judged at every `tick` seconds of data time up to `at`, as a live
        service's timer would; ticks before the next deadline are skipped (they would find
        nothing: `TicketStore.next_due`), so months of history do not cost a transaction
        every five minutes."""
        assert self.set_clock is not None
        if self._next_tick is None:
            self._next_tick = at + self.tick
        while self._next_tick <= at:
            due = self.service.next_due()
            if due is None or due > at:
                due = at + 1
            if due > self._next_tick:  # on to the first tick of the grid at or after it
                self._next_tick += -(-(due - self._next_tick) // self.tick) * self.tick
                continue
            self.set_clock(self._next_tick)
            self.counts.add(self.service.tick(self._next_tick))
            self._next_tick += self.tick


def follow(feed: Feed, stop: threading.Event, poll: float = 0.5) -> None:
    """Step until `stop` is set, resting `poll` seconds whenever nothing new was there; the
    last step runs after `stop`, so what was written before it is applied."""
    while not stop.is_set():
        if feed.step() == 0:
            stop.wait(poll)
    feed.step()
