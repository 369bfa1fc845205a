"""Bounded memory of what was already seen, so that a record delivered twice counts once.

At-least-once delivery (a producer retrying, a consumer restarting) repeats records.

- Sensor events: an exact (sensor, field, timestamp) set over the whole horizon would cost
  about 8 bytes per event: at a million events a second, gigabytes a minute, and a sort per
  batch.  Instead each sensor keeps the latest timestamp it reported and a bitmask of the
  fields seen at that timestamp (`SensorLastSeen`): 16 bytes per sensor, whatever the rate,
  and one gather per event.  A repeat of a sensor's latest reading -- what retries and
  redeliveries produce -- is caught; an old reading delivered again after newer ones is
  out of order, and lateness rules in the windows engine deal with it.  Exact repeats inside
  one batch are caught by sorting that batch's packed keys.
- Citizen-channel ids (work orders, photo reports, checks), a few per second: `SeenIds`, a
  dict in arrival order, forgotten after `horizon_ms` of stream time or beyond `max_ids`.
"""

from __future__ import annotations

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


@dataclass
class SensorLastSeen:
    """Latest timestamp per sensor row and the fields seen at it."""

    last_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fields_at_last: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    def _grow(self, size: int) -> None:
        if size > len(self.last_ts):
            size = max(size, 2 * len(self.last_ts))
            last = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
            last[: len(self.last_ts)] = self.last_ts
            bits = np.zeros(size, dtype=np.uint64)
            bits[: len(self.fields_at_last)] = self.fields_at_last
            self.last_ts, self.fields_at_last = last, bits

    def first_seen(self, sensor: np.ndarray, field_id: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Mask of events that are not repeats; remembers them."""
        n = len(ts)
        if n == 0:
            return np.zeros(0, dtype=bool)
        if int(field_id.max()) >= 1 << FIELD_BITS:
            raise ValueError(f"SensorLastSeen handles field ids below {1 << FIELD_BITS}")
        fresh = ~batch_repeats(sensor, field_id, ts)
        self._grow(int(sensor.max()) + 1)
        bit = np.left_shift(np.uint64(1), field_id.astype(np.uint64))
        seen_before = (self.last_ts[sensor] == ts) & ((self.fields_at_last[sensor] & bit) != 0)
        fresh &= ~seen_before
        s, t, b = sensor[fresh], ts[fresh], bit[fresh]
        old_last = self.last_ts[s]
        np.maximum.at(self.last_ts, s, t)
        new_last = self.last_ts[s]
        moved = new_last != old_last
        self.fields_at_last[s[moved]] = 0
        at_last = t == new_last
        np.bitwise_or.at(self.fields_at_last, s[at_last], b[at_last])
        return fresh

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        return self.last_ts, self.fields_at_last

    def restore(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        self.last_ts = np.array(state[0], dtype=np.int64)
        self.fields_at_last = np.array(state[1], dtype=np.uint64)


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

    def __len__(self) -> int:
        return len(self._seen)

    def snapshot(self) -> dict[str, int]:
        return dict(self._seen)

    def restore(self, state: dict[str, int]) -> None:
        self._seen = dict(state)
