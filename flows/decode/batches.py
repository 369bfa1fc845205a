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
    """Sensor events of one chunk.  Rows of field f are `field_offsets[f]:field_offsets[f+1]`.

    sensor: registry row (int64); ts: epoch ms UTC (int64); field: field id (int16, see
    flows.decode.fields.sensor_fields); value: float64 (booleans as 0/1), always finite.
    """

    sensor: np.ndarray
    ts: np.ndarray
    field: np.ndarray
    value: np.ndarray
    field_offsets: np.ndarray

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
    ) -> SensorBatch:
        """A batch from unordered rows (sorted by field here unless `grouped`)."""
        field = field.astype(np.int16, copy=False)
        if not grouped and len(field) > 1 and np.any(field[1:] < field[:-1]):
            order = np.argsort(field, kind="stable")  # a radix sort for int16
            sensor, ts, field, value = sensor[order], ts[order], field[order], value[order]
        counts = np.bincount(field, minlength=n_fields) if len(field) else np.zeros(n_fields)
        offsets = np.zeros(n_fields + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(
            sensor.astype(np.int64, copy=False),
            ts.astype(np.int64, copy=False),
            field,
            value.astype(np.float64, copy=False),
            offsets,
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
        )


@dataclass(frozen=True, eq=False)
class ChannelBatch:
    """Citizen-channel records of one chunk (hotline, photo reports or checkpoints).

    record_id: the source's id (masked); ts: epoch ms UTC; category: index into `categories`
    (-1 none); lat/long: float64 (NaN unknown); community: index from the locate callback
    (-1 unknown); value: the record's 0/1 flag (has_photo, abnormal; NaN where none);
    text: masked description, kept for explanations and duplicate matching; extra: other
    masked string columns by name (channel, venue, result, address).
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

    def __len__(self) -> int:
        return len(self.record_id)

    @classmethod
    def empty(cls, channel: str) -> ChannelBatch:
        z = np.zeros(0, dtype=np.int64)
        f = np.zeros(0, dtype=np.float64)
        return cls(channel, [], z, z, (), f, f, z, f, [], {})

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
        )
