"""Columnar batches that leave the decoder.

Sensor events are in long format, one row per (sensor, time, field, value), grouped by field:
the windows engine wants, per indicator, the (series, time, value) arrays of one field, and
here they are contiguous slices, no mask needed.  Citizen-channel records are one row each
with the columns their indicators and tickets need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.decode.fields import field_id as _field_id


@dataclass(frozen=True, eq=False)
class SensorBatch:
    """Sensor events of one chunk.  Rows of field f are `field_offsets[f]:field_offsets[f+1]`,
    each field's rows in the order their records arrived.

    sensor: registry row (int64); ts: epoch ms UTC (int64); field: field id (int16, see
    flows.decode.fields.sensor_fields); value: float64 (booleans as 0/1), always finite;
    high: the largest time of the chunk's accepted records up to and including the event's
    own, in arrival order (int64 epoch ms): how far its partition had got when the event
    arrived, against which the windows judge it late or not (flows.runtime); position: where
    the event's record is in its input (int64: line number, or Kafka offset; 0 unknown), for
    its dead letter if it comes too late.
    """

    sensor: np.ndarray
    ts: np.ndarray
    field: np.ndarray
    value: np.ndarray
    field_offsets: np.ndarray
    high: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return int(self.sensor.shape[0])

    def rows_of(self, field_id: int) -> slice:
        return slice(int(self.field_offsets[field_id]), int(self.field_offsets[field_id + 1]))

    def of_field(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sensor, ts, value) of one field, as views."""
        rows = self.rows_of(_field_id(name))
        return self.sensor[rows], self.ts[rows], self.value[rows]

    @classmethod
    def build(
        cls,
        sensor: np.ndarray,
        ts: np.ndarray,
        field: np.ndarray,
        value: np.ndarray,
        n_fields: int,
        grouped: bool = False,
        high: np.ndarray | None = None,
        position: np.ndarray | None = None,
    ) -> SensorBatch:
        """A batch from unordered rows (sorted by field here unless `grouped`; within a field
        they keep their order).  Without `high`, the rows are taken to be in arrival order
        (its running maximum of `ts`); without `position`, positions are unknown (0)."""
        field = field.astype(np.int16, copy=False)
        if high is None:
            high = np.maximum.accumulate(ts) if len(ts) else ts
        if position is None:
            position = np.zeros(len(ts), dtype=np.int64)
        if not grouped and len(field) > 1 and np.any(field[1:] < field[:-1]):
            order = np.argsort(field, kind="stable")  # a radix sort for int16
            sensor, ts, field, value = sensor[order], ts[order], field[order], value[order]
            high, position = high[order], position[order]
        counts = np.bincount(field, minlength=n_fields) if len(field) else np.zeros(n_fields)
        offsets = np.zeros(n_fields + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(
            sensor.astype(np.int64, copy=False),
            ts.astype(np.int64, copy=False),
            field,
            value.astype(np.float64, copy=False),
            offsets,
            high.astype(np.int64, copy=False),
            position.astype(np.int64, copy=False),
        )

    @classmethod
    def empty(cls, n_fields: int) -> SensorBatch:
        z = np.zeros(0, dtype=np.int64)
        return cls.build(z, z, z.astype(np.int16), z.astype(np.float64), n_fields, True)

    @classmethod
    def concat(cls, batches: list[SensorBatch], n_fields: int) -> SensorBatch:
        if not batches:
            return cls.empty(n_fields)
        return cls.build(
            np.concatenate([b.sensor for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.field for b in batches]),
            np.concatenate([b.value for b in batches]),
            n_fields,
            high=np.concatenate([b.high for b in batches]),
            position=np.concatenate([b.position for b in batches]),
        )


@dataclass(frozen=True, eq=False)
class ChannelBatch:
    """Citizen-channel records of one chunk (hotline, photo reports or checkpoints).

    record_id: the source's id (masked); ts: epoch ms UTC; category: index into `categories`
    (-1 none); lat/long: float64 (NaN unknown); community: index from the locate callback
    (-1 unknown); value: the record's 0/1 flag (has_photo, abnormal; NaN where none);
    text: masked description, kept for explanations and duplicate matching; extra: other
    masked string columns by name (channel, venue, result, address); high and position: as
    in SensorBatch (int64; records in arrival order).
    """

    channel: str
    record_id: list[str]
    ts: np.ndarray
    category: np.ndarray
    categories: tuple[str, ...]
    lat: np.ndarray
    long: np.ndarray
    community: np.ndarray
    value: np.ndarray
    text: list[str]
    extra: dict[str, list[str]]
    high: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return len(self.record_id)

    @classmethod
    def empty(cls, channel: str) -> ChannelBatch:
        z = np.zeros(0, dtype=np.int64)
        f = np.zeros(0, dtype=np.float64)
        return cls(channel, [], z, z, (), f, f, z, f, [], {}, z, z)

    def take(self, rows: np.ndarray) -> ChannelBatch:
        """The batch of `rows` only (indices, in the order given): the arrays gathered with
        numpy, the string columns picked once each."""
        picked = rows.tolist()
        return ChannelBatch(
            channel=self.channel,
            record_id=[self.record_id[i] for i in picked],
            ts=self.ts[rows],
            category=self.category[rows],
            categories=self.categories,
            lat=self.lat[rows],
            long=self.long[rows],
            community=self.community[rows],
            value=self.value[rows],
            text=[self.text[i] for i in picked],
            extra={k: [col[i] for i in picked] for k, col in self.extra.items()},
            high=self.high[rows],
            position=self.position[rows],
        )
