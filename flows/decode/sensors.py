"""Sensor readings: raw chunk -> SensorBatch (long format) + dead letters.

Both wire shapes are accepted, even mixed in one chunk: FIWARE-style records carrying their
fields by name (`{"sensor_id", "ts", "pm25": 41.0, "no2": 33.5}`) and flat ones
(`{"sensor_id", "ts", "metric": "pm25", "value": 41.0}`).  Every check is one numpy
operation over the chunk; a record fails whole, with the first reason in this order:
missing sensor_id or ts, zone-less or unparsable timestamp, unknown sensor, a field its kind
does not have (or a key nobody knows: a typo like `pm2_5` must not pass unnoticed), a value
of the wrong type, a non-finite value, no measurement at all, too far in time.  FIWARE's
`type` / `id`, JSON-LD `@context` and name fields are ignored (see IGNORED_KEYS).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from flows.decode import timestamps
from flows.decode.arrowstrings import fixed_width_bytes, to_str_array
from flows.decode.batches import SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.clock import StreamClock
from flows.decode.dedupe import SensorLastSeen
from flows.decode.fields import (
    METRIC,
    SENSOR_ID,
    TIMESTAMP,
    VALUE,
    KindFields,
    boolean_fields,
    field_ranges,
    sensor_fields,
    text_fields,
)
from flows.decode.frames import (
    LEAF_LINES,
    Frame,
    KeyVocabulary,
    read_csv,
    read_ndjson,
    split_lines,
)
from flows.decode.reasons import DeadLetter, DeadLetters, Reason
from flows.decode.refusals import Cells, RegisteredIds, masked_text, plain_records
from flows.output import iso_ms
from flows.privacy import (
    NAME_FIELDS,
    blank_names,
    is_name_field,
    mask_raw_csv,
    mask_raw_json,
    mask_text,
    names_in_raw,
)


class SensorLookup(Protocol):
    """What decoding needs of a sensor registry (flows.city.registry.SensorRegistry fits)."""

    @property
    def kinds(self) -> tuple[str, ...]: ...

    @property
    def kind(self) -> np.ndarray: ...  # kind index (into kinds) of each registry row

    def lookup(self, ids: np.ndarray) -> np.ndarray: ...  # row per id, -1 unknown


# Keys a reading may carry that mean nothing here (FIWARE's entity type and id, JSON-LD
# context) and names, which are dropped; any other unknown key rejects the record.
IGNORED_KEYS: frozenset[str] = frozenset({"type", "id", "@context"}) | NAME_FIELDS

_TRUE = {"true", "1", "1.0"}
_FALSE = {"false", "0", "0.0"}

# reason codes, in order of precedence (the lowest non-zero code wins)
_CODES: tuple[Reason, ...] = (
    Reason.MISSING_FIELD,  # 1: sensor_id or ts
    Reason.NO_TIMEZONE,
    Reason.BAD_TIMESTAMP,
    Reason.UNKNOWN_SENSOR,
    Reason.UNKNOWN_FIELD,
    Reason.WRONG_TYPE,
    Reason.NOT_FINITE,
    Reason.MISSING_FIELD,  # 8: no measurement at all
    Reason.TOO_FAR_IN_TIME,
    Reason.BAD_VALUE,  # 10: finite but beyond any measurement (see MAX_ABS_VALUE)
)

# No sensor field measures anything near this; a reading of 1e308 is finite, but a window's
# sum of two of them is not, and would break every detector downstream.
MAX_ABS_VALUE = 1e15


def _schema() -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {SENSOR_ID: pl.String(), TIMESTAMP: pl.String()}
    booleans = boolean_fields()
    for name in sensor_fields():
        # booleans as text, so that 0/1 and true/false are both understood
        schema[name] = pl.String() if name in booleans else pl.Float64()
    for name in sorted(text_fields()):
        schema[name] = pl.String()
    schema[METRIC] = pl.String()
    schema[VALUE] = pl.Float64()
    return schema


def _validity_and_values(col: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(present mask, float64 values with 0 where absent) of a Float64 column, no Python."""
    arr = col.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64)[arr.offset : arr.offset + n]
    if arr.null_count == 0:
        return np.ones(n, dtype=bool), values
    if arr.null_count == n:
        return np.zeros(n, dtype=bool), values
    bitmap = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    present = np.unpackbits(bitmap, bitorder="little", count=arr.offset + n)[arr.offset :]
    return present.astype(bool), values


def _column(df: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    """A column, or an all-null one when no record of the chunk had the key."""
    if name in df.columns:
        return df[name]
    return pl.repeat(None, df.height, dtype=dtype, eager=True).alias(name)


#: a chunk's columns and, for CSV, its header: what `SensorDecoder.parse` gives `decode`
Parsed = tuple[Frame, list[str] | None]


@dataclass
class DecodeStats:
    records: int = 0
    events: int = 0


@dataclass
class SensorDecoder:
    """Decodes chunks of sensor readings, keeping the stream's time and the seen set.

    One decoder per input partition (its clock and seen set follow that partition).
    `bulk_refusals=False` writes every refused row's letter row by row, as decoding did
    before the letters were made in bulk: the reference the tests compare the bulk path with.
    """

    registry: SensorLookup
    clock: StreamClock = field(default_factory=StreamClock)
    seen: SensorLastSeen | None = field(default_factory=SensorLastSeen)
    leaf_lines: int = LEAF_LINES
    ignored_keys: frozenset[str] = IGNORED_KEYS
    stats: DecodeStats = field(default_factory=DecodeStats)
    bulk_refusals: bool = True

    def __post_init__(self) -> None:
        self.fields = sensor_fields()
        self.kind_fields = KindFields.for_kinds(self.registry.kinds)
        self.schema = _schema()
        self.vocabulary = KeyVocabulary(self.schema, [SENSOR_ID, TIMESTAMP])
        self._metric_ids = {name: i for i, name in enumerate(self.fields)}
        self._least, self._greatest = field_ranges()  # physically possible values per field
        # kind per registry row, in the narrowest type: a million sensors' kinds in 1 MB
        # instead of 8 stay in cache while a chunk's rows look them up at random
        narrow = np.int8 if len(self.registry.kinds) < 127 else np.int32
        self._kind_of_row = np.asarray(self.registry.kind).astype(narrow)
        self._registered_ids = RegisteredIds(len(self._kind_of_row))

    # ------------------------------------------------------------------ parts
    def parse(self, chunk: RawChunk) -> Parsed:
        """Bytes -> columns (and the CSV header): the stateless half of `decode`.

        It keeps no stream state (only the key vocabulary, rebuilt on restore), so it may run
        one chunk ahead in another thread (`flows.decode.ahead`) while the stateful half of
        the previous chunk and the windows downstream run in this one."""
        if chunk.fmt == "csv":
            frame, header = read_csv(chunk, list(self.schema))
            return self._cast_csv(frame), header
        return read_ndjson(chunk, self.vocabulary, self.leaf_lines), None

    def _cast_csv(self, frame: Frame) -> Frame:
        """Text columns -> schema types; cells that do not convert are nulled and reported."""
        df = frame.df
        wrong = np.zeros(df.height, dtype=bool)
        wrong_cells: dict[str, np.ndarray] = {}
        casts = []
        for name, dtype in self.schema.items():
            if dtype == pl.Float64 and name in df.columns:
                casted = df[name].cast(pl.Float64, strict=False)
                bad = (casted.is_null() & df[name].is_not_null()).to_numpy()
                if bad.any():
                    wrong_cells[name] = bad
                    wrong |= bad
                casts.append(casted.alias(name))
        return Frame(
            df.with_columns(casts), frame.line, frame.rejected, wrong, wrong_cells=wrong_cells
        )

    def _ids(self, col: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """(registry row per record, present mask)."""
        arr = col.to_arrow()
        present = np.ones(len(arr), dtype=bool)
        if arr.null_count:
            present = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        ids = fixed_width_bytes(arr)
        if ids is None:
            ids = to_str_array(arr)
        rows = np.asarray(self.registry.lookup(ids), dtype=np.int64)
        return np.where(present, rows, -1), present

    def _booleans(self, col: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(present, 0/1 values, wrong type) of a boolean field read as text."""
        lowered = col.str.to_lowercase()
        is_true = lowered.is_in(list(_TRUE)).fill_null(False).to_numpy()
        is_false = lowered.is_in(list(_FALSE)).fill_null(False).to_numpy()
        present = col.is_not_null().to_numpy()
        return present, is_true.astype(np.float64), present & ~(is_true | is_false)

    # ------------------------------------------------------------------ decode
    def decode(
        self, chunk: RawChunk, parsed: Parsed | None = None
    ) -> tuple[SensorBatch, DeadLetters]:
        """One chunk -> a columnar batch and its dead letters; `parsed` is `parse(chunk)`
        when it was done ahead."""
        frame, header = parsed if parsed is not None else self.parse(chunk)
        df = frame.df
        n = df.height
        letters = DeadLetters()
        lines: list[bytes] | None = None

        def raw_line(i: int) -> bytes:
            nonlocal lines
            if lines is None:
                lines = split_lines(chunk.data)
            return lines[i]

        def dead(line_index: int, reason: Reason, detail: str) -> None:
            raw = raw_line(line_index).decode("utf-8", "replace").rstrip("\r")
            masked = mask_raw_csv(raw, header) if header is not None else mask_raw_json(raw)
            detail = blank_names(mask_text(detail), names_in_raw(raw, header))
            letters.add(
                DeadLetter(masked, reason, detail, chunk.source, chunk.position(line_index))
            )

        for r in frame.rejected:
            dead(r.line, r.reason, r.detail)
        self.stats.records += n + len(frame.rejected)
        if n == 0:
            return SensorBatch.empty(len(self.fields)), letters

        code = np.zeros(n, dtype=np.int8)

        def flag(mask: np.ndarray, reason_code: int) -> None:
            np.copyto(code, np.int8(reason_code), where=mask & (code == 0))

        rows, id_present = self._ids(df[SENSOR_ID])
        ts, ts_status = timestamps.parse_iso_ms(df[TIMESTAMP].to_arrow())
        flag(~id_present | (ts_status == timestamps.MISSING), 1)
        flag(ts_status == timestamps.NO_TIMEZONE, 2)
        flag(ts_status == timestamps.BAD, 3)
        flag(rows < 0, 4)
        # the unknown kind is allowed's last row
        kind = np.where(rows >= 0, self._kind_of_row.take(np.maximum(rows, 0)), -1)

        # FIWARE-style columns
        present_cols: list[tuple[int, np.ndarray, np.ndarray]] = []
        has_any = np.zeros(n, dtype=bool)
        not_finite = np.zeros(n, dtype=bool)
        wrong = np.zeros(n, dtype=bool) if frame.wrong_type is None else frame.wrong_type.copy()
        unknown_field = np.zeros(n, dtype=bool)
        huge = np.zeros(n, dtype=bool)
        booleans = boolean_fields()
        allowed = self.kind_fields.allowed
        for f, name in enumerate(self.fields):
            if name not in df.columns:
                continue
            col = df[name]
            if col.null_count() == n:
                continue
            if name in booleans:
                present, values, bad = self._booleans(col)
                wrong |= bad
            else:
                present, values = _validity_and_values(col)
            has_any |= present
            not_finite |= present & ~np.isfinite(values)
            huge |= present & (np.abs(values) > MAX_ABS_VALUE)
            least, greatest = self._least[f], self._greatest[f]
            if least > -np.inf or greatest < np.inf:  # a faulty sensor: pm25 -50, a share 3
                huge |= present & ((values < least) | (values > greatest))
            unknown_field |= present & ~allowed[:, f].take(kind)
            present_cols.append((f, present, values))

        for name in df.columns:
            if name not in self.schema and name not in self.ignored_keys:
                unknown_field |= df[name].is_not_null().to_numpy()

        # flat records: metric + value
        # (an absent column is not built: a Series of n nulls costs a Python list of n Nones)
        metric_col = df[METRIC] if METRIC in df.columns else None
        flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if metric_col is not None and metric_col.null_count() < n:
            metric_ids = (
                metric_col.replace_strict(self._metric_ids, default=-1, return_dtype=pl.Int16)
                .fill_null(-1)
                .to_numpy()
            )
            has_metric = metric_col.is_not_null().to_numpy()
            value_present, values = _validity_and_values(_column(df, VALUE, pl.Float64()))
            unknown_field |= has_metric & (metric_ids < 0)
            # a metric without its value; a CSV value that is not a number is there, of the
            # wrong type (flagged below), as NDJSON's reader refuses a string there
            written = value_present
            if VALUE in frame.wrong_cells:
                written = value_present | frame.wrong_cells[VALUE]
            flag(has_metric & ~written, 1)
            known = has_metric & (metric_ids >= 0)
            unknown_field |= known & ~allowed[kind, np.maximum(metric_ids, 0)]
            ok_value = known & value_present
            not_finite |= ok_value & ~np.isfinite(values)
            huge |= ok_value & (np.abs(values) > MAX_ABS_VALUE)
            at = np.maximum(metric_ids, 0)
            huge |= ok_value & ((values < self._least[at]) | (values > self._greatest[at]))
            has_any |= ok_value
            flat = (ok_value, metric_ids, values)
        elif VALUE in df.columns and df[VALUE].null_count() < n:
            flag(df[VALUE].is_not_null().to_numpy(), 1)  # a value without its metric

        flag(unknown_field, 5)
        flag(wrong, 6)
        flag(not_finite, 7)
        flag(~has_any, 8)
        far = self.clock.judge(ts, usable=code == 0)
        flag(far, 9)
        flag(huge, 10)

        good = code == 0
        refused = np.flatnonzero(~good)
        if len(refused) and self.bulk_refusals:
            if lines is None:
                lines = split_lines(chunk.data)
            letters.add_all(self._refuse(chunk, frame, header, lines, code, refused, rows, kind))
        elif len(refused):  # the reference: row by row
            self._refuse_row_by_row(frame, header, code, refused, dead, raw_line)
        letters.letters.sort(key=lambda letter: letter.position)

        # per record, in arrival order: how far the partition had got (the largest accepted
        # time so far: far-off times were refused above and do not move it), and its position
        high = np.maximum.accumulate(np.where(good, ts, np.iinfo(np.int64).min))
        if chunk.positions is not None:
            position = np.asarray(chunk.positions, dtype=np.int64)[frame.line]
        else:
            position = chunk.first_line + frame.line.astype(np.int64, copy=False)

        # long format, grouped by field
        parts: list[tuple[np.ndarray, ...]] = []  # (sensor, ts, field, value, high, position)
        for f, present, values in present_cols:
            keep = present & good
            if keep.all():  # the usual chunk of one field: the columns as they are
                parts.append((rows, ts, np.full(n, f, dtype=np.int16), values, high, position))
                continue
            idx = np.flatnonzero(keep)
            if len(idx):
                field_ids = np.full(len(idx), f, dtype=np.int16)
                parts.append((rows[idx], ts[idx], field_ids, values[idx], high[idx], position[idx]))
        grouped = True
        if flat is not None:
            ok_value, metric_ids, values = flat
            idx = np.flatnonzero(ok_value & good)
            if len(idx):
                field_ids = metric_ids[idx].astype(np.int16)
                parts.append((rows[idx], ts[idx], field_ids, values[idx], high[idx], position[idx]))
                grouped = False
        if not parts:
            return SensorBatch.empty(len(self.fields)), letters
        sensor, ev_ts, ev_field, ev_value, ev_high, ev_position = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        if not grouped and len(parts) > 1:
            # flat records after the named fields' rows: back in the order the records came
            # (`build` then sorts by field, stably), for each field's rows to be in that order
            order = np.argsort(ev_position, kind="stable")
            sensor, ev_ts, ev_field = sensor[order], ev_ts[order], ev_field[order]
            ev_value, ev_high, ev_position = ev_value[order], ev_high[order], ev_position[order]
        if self.seen is not None:
            fresh = self.seen.first_seen(sensor, ev_field, ev_ts)
            repeats = int(len(fresh) - np.count_nonzero(fresh))
            if repeats:
                letters.count(Reason.DUPLICATE, repeats)
                sensor, ev_ts = sensor[fresh], ev_ts[fresh]
                ev_field, ev_value = ev_field[fresh], ev_value[fresh]
                ev_high, ev_position = ev_high[fresh], ev_position[fresh]
        batch = SensorBatch.build(
            sensor, ev_ts, ev_field, ev_value, len(self.fields), grouped, ev_high, ev_position
        )
        self.stats.events += len(batch)
        return batch, letters

    # ------------------------------------------------------------------ refusals row by row
    def _refuse_row_by_row(
        self,
        frame: Frame,
        header: list[str] | None,
        code: np.ndarray,
        refused: np.ndarray,
        dead: Callable[[int, Reason, str], None],
        raw_line: Callable[[int], bytes],
    ) -> None:
        """The letters of the refused rows one at a time, as decoding wrote them before
        `_refuse`: each line parsed and masked, each detail read from its polars row.  Kept
        as the reference that the bulk path must match (`bulk_refusals=False`)."""
        for i in refused.tolist():
            c = int(code[i])
            line = int(frame.line[i])
            if c == 6 and header is not None:  # a CSV cell that did not convert: its text
                cells = next(csv.reader([raw_line(line).decode("utf-8", "replace")]), [])
                dead(line, _CODES[c - 1], self._wrong_types(dict(zip(header, cells, strict=False))))
                continue
            dead(line, _CODES[c - 1], self._detail(c, frame.df, i))

    # ------------------------------------------------------------------ refusals in bulk
    def _refuse(
        self,
        chunk: RawChunk,
        frame: Frame,
        header: list[str] | None,
        lines: list[bytes],
        code: np.ndarray,
        refused: np.ndarray,
        rows: np.ndarray,
        kind: np.ndarray,
    ) -> list[DeadLetter]:
        """The letters of the refused rows (`refused`, in row order), the same as the per-row
        path writes, made a column or a reason at a time (flows/decode/refusals.py says why).

        Details come from the columns, one pass per reason; records whose line is proven to
        be the JSON text of its cells need no parse and carry no names; the other rows (CSV
        rows, lines written otherwise) are masked one by one as before."""
        codes = code[refused]
        line_at = frame.line[refused]
        sub = frame.df.select(pl.all().gather(pl.Series(refused.astype(np.int64))))
        cells = Cells(sub)
        raws = [lines[j].decode("utf-8", "replace").rstrip("\r") for j in line_at.tolist()]
        details = self._details(cells, codes, kind[refused], header, lines, line_at)
        records: list[str | None]
        if header is None:
            ids = cells.values(SENSOR_ID)
            judged = {SENSOR_ID: self._registered_ids.kept(rows[refused], ids)}
            records = plain_records(cells, raws, judged)
        else:
            records = [None] * len(refused)
        csv_names = header is not None and any(is_name_field(h) for h in header)
        if chunk.positions is not None:
            positions = np.asarray(chunk.positions)[line_at].tolist()
        else:
            positions = (chunk.first_line + line_at).tolist()
        reasons = [_CODES[c - 1] for c in codes.tolist()]
        out = []
        for record, raw, detail, reason, position in zip(
            records, raws, details, reasons, positions, strict=True
        ):
            if record is not None:  # proven plain: nothing personal, no names
                text = masked_text(detail)
            else:
                if header is not None:
                    record = mask_raw_csv(raw, header)
                    names = names_in_raw(raw, header) if csv_names else []
                else:
                    record = mask_raw_json(raw)
                    names = names_in_raw(raw, header)
                text = blank_names(masked_text(detail), names) if names else masked_text(detail)
            out.append(DeadLetter(record, reason, text, chunk.source, int(position)))
        return out

    def _details(
        self,
        refused: Cells,
        codes: np.ndarray,
        kind: np.ndarray,
        header: list[str] | None,
        lines: list[bytes],
        line_at: np.ndarray,
    ) -> list[str]:
        """The detail of each refused row (`refused`: their cells, `codes` their reason
        codes, `kind` their kinds), before masking, as `_detail` words it: one reason at a
        time, over the columns of that reason's rows."""
        out = [""] * refused.height
        for c in np.unique(codes).tolist():
            at = np.flatnonzero(codes == c)
            picks = at.tolist()

            def cells(name: str, picks: list[int] = picks) -> list[Any]:
                values = refused.values(name)
                return [values[j] for j in picks]

            def rows(at: np.ndarray = at) -> Iterator[dict[str, Any]]:
                part = refused.df if len(at) == refused.height else refused.df[at]
                return part.iter_rows(named=True)

            texts: list[str]
            if c == 1:
                texts = []
                for sid, stamp, metric in zip(
                    cells(SENSOR_ID), cells(TIMESTAMP), cells(METRIC), strict=True
                ):
                    missing = [k for k, v in ((SENSOR_ID, sid), (TIMESTAMP, stamp)) if v is None]
                    if missing:
                        texts.append(f"missing {', '.join(missing)}")
                    else:
                        texts.append(
                            f"metric {metric!r} has no value"
                            if metric
                            else "value without a metric"
                        )
            elif c == 2:
                texts = [
                    f"timestamp {s!r} has no time zone (add Z or +08:00)" for s in cells(TIMESTAMP)
                ]
            elif c == 3:
                texts = [f"timestamp {s!r} is not ISO 8601" for s in cells(TIMESTAMP)]
            elif c == 4:
                texts = [f"sensor {s!r} is not in the registry" for s in cells(SENSOR_ID)]
            elif c == 5:
                texts = []
                for row, k in zip(rows(), kind[at].tolist(), strict=True):
                    sid = row.get(SENSOR_ID)
                    name = "a" if sid is None else self._kind_label(k)
                    unknown = self._unknown_fields(row, k)
                    texts.append(f"{', '.join(unknown)} not known for {name} sensor {sid!r}")
            elif c == 6 and header is not None:  # a CSV cell that did not convert: its text
                texts = []
                for j in line_at[at].tolist():
                    row_cells = next(csv.reader([lines[j].decode("utf-8", "replace")]), [])
                    texts.append(self._wrong_types(dict(zip(header, row_cells, strict=False))))
            elif c == 6:
                texts = [self._wrong_types(row) for row in rows()]
            elif c == 7:
                texts = ["a value is NaN or infinite"] * len(at)
            elif c == 8:
                texts = ["no measurement field"] * len(at)
            elif c == 10:
                texts = self._impossible_in_bulk(refused, at)
            else:
                now = self._stream_time()
                texts = [
                    f"timestamp {s!r} is too far from the stream's time ({now})"
                    for s in cells(TIMESTAMP)
                ]
            for j, text in zip(picks, texts, strict=True):
                out[j] = text
        return out

    def _impossible_in_bulk(self, refused: Cells, at: np.ndarray) -> list[str]:
        """`_impossible` for the refused rows `at`: the first value of each row (in column
        order, then a flat record's metric) that no sensor can read, found column by column."""
        n = len(at)
        out: list[str | None] = [None] * n
        pending = np.ones(n, dtype=bool)

        def judge(
            present: np.ndarray, values: np.ndarray, least: np.ndarray, greatest: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            with np.errstate(invalid="ignore"):
                beyond = present & pending & (np.abs(values) > MAX_ABS_VALUE)
                below = present & pending & ~beyond & (values < least)
                above = present & pending & ~beyond & ~below & (values > greatest)
            return beyond, below, above

        for name in refused.columns:
            f = self._metric_ids.get(name)
            if f is None or refused.dtype(name) != pl.Float64:
                continue  # (a boolean field is read as text: never a number here)
            present = refused.present(name)[at]
            if not present.any():
                continue
            values = refused.floats(name)[at]
            least, greatest = self._least[f], self._greatest[f]
            key = repr(name)
            for hit, tail in zip(
                judge(present, values, least, greatest),
                (
                    f", beyond +-{MAX_ABS_VALUE:g}: no sensor measures that",
                    f", below the least possible value {least:g}",
                    f", above the greatest possible value {greatest:g}",
                ),
                strict=True,
            ):
                found = np.flatnonzero(hit)
                for j, v in zip(found.tolist(), values[found].tolist(), strict=True):
                    out[j] = f"{key} is {v:g}{tail}"
                pending &= ~hit
        if METRIC in refused.columns and pending.any():
            everything = refused.values(METRIC)
            metrics = [everything[j] for j in at.tolist()]
            fid = np.array([self._metric_ids.get(m, -1) if m is not None else -1 for m in metrics])
            if refused.dtype(VALUE) == pl.Float64:
                present = refused.present(VALUE)[at] & (fid >= 0)
                values = refused.floats(VALUE)[at]
                at_f = np.maximum(fid, 0)
                least, greatest = self._least[at_f], self._greatest[at_f]
                beyond, below, above = judge(present, values, least, greatest)
                for j in np.flatnonzero(beyond | below | above).tolist():
                    key, v = repr(str(metrics[j])), float(values[j])
                    if beyond[j]:
                        out[j] = (
                            f"{key} is {v:g}, beyond +-{MAX_ABS_VALUE:g}: no sensor measures that"
                        )
                    elif below[j]:
                        out[j] = f"{key} is {v:g}, below the least possible value {least[j]:g}"
                    else:
                        out[j] = (
                            f"{key} is {v:g}, above the greatest possible value {greatest[j]:g}"
                        )
        generic = f"a value beyond what the sensor can read (+-{MAX_ABS_VALUE:g} at most)"
        return [generic if text is None else text for text in out]

    def _detail(self, code: int, df: pl.DataFrame, i: int) -> str:
        row = df.row(i, named=True)
        sid, stamp = row.get(SENSOR_ID), row.get(TIMESTAMP)
        if code == 1:
            missing = [k for k in (SENSOR_ID, TIMESTAMP) if row.get(k) is None]
            if missing:
                return f"missing {', '.join(missing)}"
            return (
                f"metric {row.get(METRIC)!r} has no value"
                if row.get(METRIC)
                else "value without a metric"
            )
        if code == 2:
            return f"timestamp {stamp!r} has no time zone (add Z or +08:00)"
        if code == 3:
            return f"timestamp {stamp!r} is not ISO 8601"
        if code == 4:
            return f"sensor {sid!r} is not in the registry"
        if code == 5:
            kind = self._kind_name(sid)
            unknown = self._unknown_fields(row, self._kind_index(sid))
            return f"{', '.join(unknown)} not known for {kind} sensor {sid!r}"
        if code == 6:
            return self._wrong_types(row)
        if code == 7:
            return "a value is NaN or infinite"
        if code == 8:
            return "no measurement field"
        if code == 10:
            return self._impossible(row)
        return f"timestamp {stamp!r} is too far from the stream's time ({self._stream_time()})"

    def _stream_time(self) -> str:
        """The stream clock's time as a dead letter says it: on the city's clock, like records."""
        return iso_ms(np.array([self.clock.now_ms], dtype=np.int64))[0]

    def _impossible(self, row: dict[str, object]) -> str:
        """Which value of a refused row no sensor of its kind can read, and why."""
        pairs = [(k, v) for k, v in row.items() if k in self._metric_ids]
        if row.get(METRIC) in self._metric_ids:
            pairs.append((str(row[METRIC]), row.get(VALUE)))
        for key, value in pairs:
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            f = self._metric_ids[key]
            if abs(value) > MAX_ABS_VALUE:
                return f"{key!r} is {value:g}, beyond +-{MAX_ABS_VALUE:g}: no sensor measures that"
            if value < self._least[f]:
                return f"{key!r} is {value:g}, below the least possible value {self._least[f]:g}"
            if value > self._greatest[f]:
                return (
                    f"{key!r} is {value:g}, above the greatest possible value {self._greatest[f]:g}"
                )
        return f"a value beyond what the sensor can read (+-{MAX_ABS_VALUE:g} at most)"

    def _wrong_types(self, row: dict[str, object]) -> str:
        """Which fields of a refused row hold a value of the wrong type, and what they should
        hold (the reason said only "a field value has the wrong type")."""
        booleans = boolean_fields()
        bad = []
        for key, value in row.items():
            if value is None or value == "" or (key not in self._metric_ids and key != VALUE):
                continue  # (an empty CSV cell is an absent value)
            if key in booleans:
                if str(value).lower() not in _TRUE | _FALSE:
                    bad.append(f"{key!r} should be true or false, not {value!r}")
                continue
            try:
                float(str(value))
            except ValueError:
                bad.append(f"{key!r} should be a number, not {value!r}")
        return "; ".join(bad) or "a field value has the wrong type"

    def _unknown_fields(self, row: dict[str, object], kind: int) -> list[str]:
        """The fields of a refused row its sensor's kind (registry kind index, -1 unknown)
        does not send (by name, not every field of the row), and an unknown metric of a flat
        row."""
        allowed = self.kind_fields.allowed[len(self.kind_fields.kinds) if kind < 0 else kind]
        out = []
        for key, value in row.items():
            if value is None or key in (SENSOR_ID, TIMESTAMP, VALUE) or key in self.ignored_keys:
                continue
            name, what = (str(value), "metric") if key == METRIC else (key, "field")
            f = self._metric_ids.get(name)
            if f is None or not allowed[f]:
                out.append(f"{what} {name!r}")
        return out or ["a field"]

    def _kind_index(self, sensor_id: object) -> int:
        """The registry kind index of a sensor id, -1 when the registry does not know it."""
        if sensor_id is None:
            return -1
        row = int(self.registry.lookup(np.array([str(sensor_id)]))[0])
        return int(self._kind_of_row[row]) if row >= 0 else -1

    def _kind_name(self, sensor_id: object) -> str:
        if sensor_id is None:
            return "a"
        return self._kind_label(self._kind_index(sensor_id))

    def _kind_label(self, kind: int) -> str:
        """A kind index as the unknown-field detail names it."""
        return self.registry.kinds[kind] if kind >= 0 else "an unknown"

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict[str, object]:
        return {
            "now_ms": self.clock.now_ms,
            "seen": self.seen.snapshot() if self.seen is not None else None,
        }

    def restore(self, state: dict[str, object]) -> None:
        now = state.get("now_ms")
        self.clock.now_ms = int(now) if isinstance(now, int) else None
        seen = state.get("seen")
        if self.seen is not None and isinstance(seen, tuple):
            self.seen.restore(seen)


def decode_sensor_chunk(
    chunk: RawChunk, registry: SensorLookup, decoder: SensorDecoder | None = None
) -> tuple[SensorBatch, DeadLetters]:
    """Decode one chunk of sensor readings.

    Without a `decoder` (which keeps the stream's time and the seen set between chunks) a
    fresh one is used: fine for one-off decoding, not for a stream.
    """
    return (decoder or SensorDecoder(registry)).decode(chunk)
