"""Bounded memory of what was already seen, so that a record delivered twice counts once.

At-least-once delivery (a producer retrying, a consumer restarting) repeats records.

- Sensor events: an exact (sensor, field, timestamp) set over the whole horizon would cost
  about 8 bytes per event: at a million events a second, gigabytes a minute, and a sort per
  batch.  Instead each sensor keeps the latest timestamp it reported and a bitmask of the
  fields seen at that timestamp (`SensorLastSeen`): 16 bytes per sensor, whatever the rate,
  and one gather per event.  A repeat of a sensor's latest reading -- what retries and
  redeliveries produce -- is caught; an old reading delivered again after newer ones is
  out of order, and lateness rules in the windows engine deal with it.  Exact repeats inside
  one batch are caught by sorting packed keys, but only of the events that may repeat: those
  whose sensor occurs more than once in the batch (one scatter and one gather over a slot
  per sensor) and, among them, whose hashed (sensor, field, ts) meets another in a small
  table.  Sorting every event of a 200,000-reading batch cost more than reading its JSON;
  now the sort sees a few percent of them.
- Citizen-channel ids (work orders, photo reports, checks), a few per second: `SeenIds`, a
  dict in arrival order, forgotten after `horizon_ms` of stream time or beyond `max_ids`.
  Each input partition's decoder keeps one (a record repeated within a file), and the flow
  keeps one more per channel over all its inputs (`ChannelSeenIds`), since deployments
  deliver overlapping exports: yesterday's and today's hotline export share their boundary,
  a backup feed repeats the primary.  Sensor readings have no such channel-wide memory:
  overlapping files are read side by side, so one file's copy of a reading usually comes
  after the sensor's newer readings of the other file, where `SensorLastSeen` (the latest
  reading only) cannot see it; an exact memory costs the gigabytes above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

FIELD_BITS = 6  # the bitmask is a uint64: up to 64 sensor fields


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def batch_repeats(sensor: np.ndarray, field_id: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Mask of events that repeat an earlier event of the same batch (same sensor, field, ts)."""
    n = len(ts)
    repeat = np.zeros(n, dtype=bool)
    if n < 2:
        return repeat
    t0 = int(ts.min())
    t_bits = _bits(int(ts.max()) - t0)
    s_bits = _bits(int(sensor.max()))
    if s_bits + FIELD_BITS + t_bits <= 63:
        key = (sensor.astype(np.int64) << (FIELD_BITS + t_bits)) | (
            field_id.astype(np.int64) << t_bits
        )
        key |= ts - t0
        i_bits = _bits(n - 1)
        if s_bits + FIELD_BITS + t_bits + i_bits <= 63:
            # the event's index in the low bits: one plain sort orders equal keys by arrival,
            # and the index of every later one comes back with it (no argsort)
            ordered = np.sort((key << i_bits) | np.arange(n, dtype=np.int64))
            same = (ordered[1:] >> i_bits) == (ordered[:-1] >> i_bits)
            repeat[ordered[1:][same] & ((1 << i_bits) - 1)] = True
            return repeat
        ordered = np.sort(key)
        if not np.any(ordered[1:] == ordered[:-1]):
            return repeat  # the usual case: one sort, nothing to undo
        order = np.argsort(key, kind="stable")
        sk = key[order]
        same = sk[1:] == sk[:-1]
    else:  # keys do not pack into 63 bits: the slower three-key sort
        order = np.lexsort((ts, field_id, sensor))
        s, f, t = sensor[order], field_id[order], ts[order]
        same = (s[1:] == s[:-1]) & (f[1:] == f[:-1]) & (t[1:] == t[:-1])
    repeat[order[1:][same]] = True
    return repeat


# A sensor's latest timestamp and the bitmask of fields seen at it, side by side: one cache
# line holds both, so a batch looking them up at random misses the cache half as often.
STATE = np.dtype([("ts", np.int64), ("fields", np.uint64)])


def _empty_state(size: int) -> np.ndarray:
    state = np.zeros(size, dtype=STATE)
    state["ts"] = np.iinfo(np.int64).min
    return state


_MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xFF51AFD7ED558CCD),
)


def _slot_shared(slot_of_event: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Mask of events whose slot another event of the batch also has.

    Each event writes its index into its slot; whichever write lands, an event that does not
    read its own index back shares the slot, and so does the one that won it.
    """
    index = np.arange(len(slot_of_event), dtype=table.dtype)
    table[slot_of_event] = index
    winner = table.take(slot_of_event)  # take: a plain gather, faster than [] indexing
    shared = winner != index
    shared[winner[shared]] = True
    return shared


def maybe_repeats(sensor: np.ndarray, field_id: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Mask that covers every event repeating another of the batch, and a few others.

    Events are hashed into a table eight times their number: equal events always meet in a
    slot, different ones seldom do, so the exact sort that follows sees a small fraction.
    """
    n = len(ts)
    bits = max(4, int(n).bit_length() + 3)
    mixed = sensor.astype(np.uint64) * _MIX[0]
    mixed += field_id.astype(np.uint64) * _MIX[1]
    mixed += ts.astype(np.int64).view(np.uint64) * _MIX[2]
    mixed ^= mixed >> np.uint64(29)
    mixed *= _MIX[3]
    slot = (mixed >> np.uint64(64 - bits)).astype(np.int64)
    return _slot_shared(slot, np.empty(1 << bits, dtype=np.int32))


@dataclass
class SensorLastSeen:
    """Latest timestamp per sensor row and the fields seen at it."""

    state: np.ndarray = field(default_factory=lambda: _empty_state(0))
    # scratch: an event index per sensor row, to find the sensors a batch holds twice (not state)
    _slot: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int32), repr=False, compare=False
    )

    @property
    def last_ts(self) -> np.ndarray:
        return self.state["ts"]

    @property
    def fields_at_last(self) -> np.ndarray:
        return self.state["fields"]

    def _grow(self, size: int) -> None:
        if size > len(self.state):
            grown = _empty_state(max(size, 2 * len(self.state)))
            grown[: len(self.state)] = self.state
            self.state = grown
        if len(self._slot) < len(self.state):
            self._slot = np.zeros(len(self.state), dtype=np.int32)  # half the cache misses

    def _shared(self, sensor: np.ndarray) -> np.ndarray:
        """Mask of events whose sensor occurs more than once in the batch (no sort, and no
        allocation the size of the registry: the slots are kept between batches)."""
        if len(sensor) >= 2**31:
            return _slot_shared(sensor, np.zeros(len(self._slot), dtype=np.int64))
        return _slot_shared(sensor, self._slot)

    def first_seen(self, sensor: np.ndarray, field_id: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Mask of events that are not repeats; remembers them."""
        n = len(ts)
        if n == 0:
            return np.zeros(0, dtype=bool)
        if int(field_id.max()) >= 1 << FIELD_BITS:
            raise ValueError(f"SensorLastSeen handles field ids below {1 << FIELD_BITS}")
        self._grow(int(sensor.max()) + 1)
        shared = np.flatnonzero(self._shared(sensor))
        fresh = np.ones(n, dtype=bool)
        if len(shared):  # only events of a sensor met twice in the batch can repeat there
            maybe = shared[maybe_repeats(sensor[shared], field_id[shared], ts[shared])]
            if len(maybe):
                fresh[maybe] = ~batch_repeats(sensor[maybe], field_id[maybe], ts[maybe])
        bit = np.left_shift(np.uint64(1), field_id.astype(np.uint64))
        before = self.state.take(sensor)
        last, bits = before["ts"], before["fields"]
        seen_before = (last == ts) & ((bits & bit) != 0)
        fresh &= ~seen_before
        # Every event writes its sensor's new state.  For a sensor met once that is exact (a
        # repeat of the stored reading writes the stored state back); sensors met more than
        # once get their old state back and then the unbuffered updates below.
        after = np.empty(n, dtype=STATE)
        after["ts"] = np.maximum(last, ts)
        after["fields"] = np.where(ts > last, bit, np.where(ts == last, bits | bit, bits))
        self.state[sensor] = after
        if len(shared):
            self.state[sensor[shared]] = before[shared]
            rows = shared[fresh[shared]]
            s, t, b = sensor[rows], ts[rows], bit[rows]
            old_last = self.last_ts[s]
            np.maximum.at(self.last_ts, s, t)
            new_last = self.last_ts[s]
            moved = new_last != old_last
            self.fields_at_last[s[moved]] = 0
            at_last = t == new_last
            np.bitwise_or.at(self.fields_at_last, s[at_last], b[at_last])
        return fresh

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        return self.last_ts.copy(), self.fields_at_last.copy()  # contiguous, as restore takes

    def restore(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        self.state = _empty_state(len(state[0]))
        self.state["ts"] = state[0]
        self.state["fields"] = state[1]


@dataclass
class SeenIds:
    horizon_ms: int = 7 * 86_400_000
    max_ids: int = 5_000_000
    _seen: dict[str, int] = field(default_factory=dict, repr=False)

    def first_seen(self, ids: list[str], now_ms: int) -> np.ndarray:
        """Mask of ids not seen before; remembers them at stream time `now_ms`."""
        fresh = np.zeros(len(ids), dtype=bool)
        for i, record_id in enumerate(ids):
            if record_id not in self._seen:
                self._seen[record_id] = now_ms
                fresh[i] = True
        limit = now_ms - self.horizon_ms
        while self._seen:
            oldest = next(iter(self._seen))
            if self._seen[oldest] >= limit and len(self._seen) <= self.max_ids:
                break
            del self._seen[oldest]
        return fresh

    def merge(self, earlier: Mapping[str, int]) -> None:
        """Remember ids seen elsewhere, each at its own stream time (those already here keep
        theirs), without counting them: a partition decoder's memory from a recovery snapshot
        taken before the channel-wide one existed.  Kept in time order, which forgetting the
        oldest first relies on."""
        added = {k: v for k, v in earlier.items() if k not in self._seen}
        if added:
            added.update(self._seen)
            self._seen = dict(sorted(added.items(), key=lambda kv: kv[1]))

    def __len__(self) -> int:
        return len(self._seen)

    def snapshot(self) -> dict[str, int]:
        return dict(self._seen)

    def restore(self, state: dict[str, int]) -> None:
        self._seen = dict(state)


@dataclass
class ChannelSeenIds:
    """The ids of one citizen channel seen in any of its input partitions.

    Its time is the latest of the partitions' stream clocks (each robust to wild timestamps,
    `flows.decode.clock`) and never goes back: an id is forgotten `horizon_ms` of the
    channel's time after it was first seen, so a partition replaying an older export still
    meets the ids a partition ahead of it delivered, and none is forgotten early."""

    seen: SeenIds = field(default_factory=SeenIds)
    now_ms: int | None = None

    def first_seen(self, ids: list[str], partition_now_ms: int | None) -> np.ndarray:
        """Mask of ids no partition delivered before; remembers them."""
        if partition_now_ms is not None and (self.now_ms is None or partition_now_ms > self.now_ms):
            self.now_ms = partition_now_ms
        return self.seen.first_seen(ids, self.now_ms or 0)

    def snapshot(self) -> dict[str, object]:
        return {"now_ms": self.now_ms, "seen": self.seen.snapshot()}

    def restore(self, state: Mapping[str, object]) -> None:
        now, seen = state.get("now_ms"), state.get("seen")
        self.now_ms = int(now) if isinstance(now, int) else None
        self.seen.restore(dict(seen) if isinstance(seen, dict) else {})
