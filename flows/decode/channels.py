"""Citizen channels: 12345 hotline work orders, photo reports, venue checkpoint checks.

These arrive at a few records per second, not millions, so each line is parsed on its own
(the standard `json` / `csv` modules) and checked field by field, which gives every bad
record its exact reason.  Personal data is masked before anything is kept: names dropped,
phone and ID numbers replaced in every string, the description included; a checkpoint keeps
no identity at all (only venue, time and result).  The output is one ChannelBatch of columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flows.decode.batches import ChannelBatch
from flows.decode.chunks import RawChunk
from flows.decode.clock import StreamClock
from flows.decode.dedupe import SeenIds
from flows.decode.frames import repeated_columns, split_lines
from flows.decode.reasons import DeadLetter, DeadLetters, Reason
from flows.decode.timestamps import BAD, NO_TIMEZONE, parse_iso_ms
from flows.jsontext import not_text
from flows.privacy import (
    blank_names,
    mask_raw_csv,
    mask_raw_json,
    mask_record,
    mask_text,
    masked_id,
    names_in_record,
)
from indicators.language import registry as lang_registry

Locate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (lat, long) -> community, -1 none
LocateVenue = Callable[[list[str]], np.ndarray]  # venue ids -> community, -1 unknown


@dataclass(frozen=True)
class ChannelSpec:
    """Where a channel's record keeps its id, time, category, flag, text and other columns."""

    name: str
    id_keys: tuple[str, ...]
    ts_keys: tuple[str, ...]
    category_keys: tuple[str, ...] = ()
    flag_key: str | None = None  # a 0/1 value (has_photo)
    text_key: str | None = "description"
    extra_keys: tuple[str, ...] = ()
    has_position: bool = True


CHANNELS: dict[str, ChannelSpec] = {
    "hotline": ChannelSpec(
        "hotline",
        ("service_request_id",),
        ("requested_datetime", "ts"),
        ("service_code", "category"),
        None,
        "description",
        ("channel", "address", "status"),
    ),
    "photo_report": ChannelSpec(
        "photo_report",
        ("report_id",),
        ("ts", "requested_datetime"),
        ("category", "service_code"),
        "has_photo",
        "description",
        ("address",),
    ),
    "checkpoint": ChannelSpec(
        "checkpoint",
        ("checkpoint_id",),
        ("ts",),
        (),
        "abnormal",
        None,
        ("venue", "result"),
        has_position=False,
    ),
}
CHECK_RESULTS = {"normal": 0.0, "abnormal": 1.0}


class _RejectedError(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


UNCLOSED_QUOTE = "a quoted cell is not closed (a line break inside a cell, cut short?)"


def _logical_lines(lines: list[bytes], csv_rows: bool) -> Iterator[tuple[int, bytes]]:
    """(index of its first line, text) of each record: a line, or for CSV the lines a quoted
    cell spans (a hotline description may hold line breaks, which CSV allows inside quotes).
    A quote left open at the end of the chunk ends the record there, to be refused whole."""
    i = 0
    while i < len(lines):
        first, text = i, lines[i]
        i += 1
        if csv_rows:
            while text.count(b'"') % 2 and i < len(lines):
                text += b"\n" + lines[i]
                i += 1
        yield first, text


def _first(record: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return key, value
    return None, None


def _number(record: Mapping[str, Any], key: str, text_numbers: bool) -> float | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _RejectedError(Reason.WRONG_TYPE, f"{key!r} should be a number")
    if isinstance(value, str):
        if not text_numbers:
            raise _RejectedError(Reason.WRONG_TYPE, f"{key!r} should be a number, not text")
        try:
            value = float(value)
        except ValueError:
            raise _RejectedError(Reason.WRONG_TYPE, f"{key!r} should be a number") from None
    number = float(value)
    if not math.isfinite(number):
        raise _RejectedError(Reason.NOT_FINITE, f"{key!r} is not a finite number")
    return number


@dataclass
class _Row:
    record_id: str
    ts_text: str
    category: int
    lat: float
    long: float
    value: float
    text: str
    extra: dict[str, str]
    line: int


@dataclass
class ChannelDecoder:
    """Decodes chunks of one citizen channel, keeping stream time and the seen ids."""

    channel: str
    locate: Locate | None = None
    locate_venue: LocateVenue | None = None
    clock: StreamClock = field(default_factory=StreamClock)
    seen: SeenIds | None = field(default_factory=SeenIds)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(
                f"unknown channel {self.channel!r}"
                f"{lang_registry.did_you_mean(self.channel, list(CHANNELS))}; "
                f"one of {', '.join(CHANNELS)}"
            )
        self.spec = CHANNELS[self.channel]
        self.categories: tuple[str, ...] = (
            tuple(lang_registry.hotline_categories()) if self.spec.category_keys else ()
        )
        self._category_index = {c: i for i, c in enumerate(self.categories)}

    def _records(self, chunk: RawChunk) -> list[tuple[int, str, dict[str, Any] | None, str]]:
        """(line index, raw text, record or None, why not) per non-blank line."""
        out: list[tuple[int, str, dict[str, Any] | None, str]] = []
        header = None
        if chunk.fmt == "csv":
            assert chunk.header is not None
            header = next(csv.reader([chunk.header.decode("utf-8", "replace")]))
            header = [h.strip() for h in header]
        twice = repeated_columns(header) if header is not None else ""
        for i, raw_bytes in _logical_lines(split_lines(chunk.data), csv_rows=header is not None):
            raw = raw_bytes.decode("utf-8", "replace").rstrip("\r")
            if not raw.strip():
                continue
            if "\ufffd" in raw and b"\xef\xbf\xbd" not in raw_bytes:
                # bytes that are not UTF-8: the record is refused, as sensor readings are,
                # rather than stored with its text silently replaced
                out.append((i, raw, None, "not UTF-8"))
                continue
            if twice:  # which of the two columns holds the value cannot be told
                out.append((i, raw, None, f"the header names {twice} more than once"))
                continue
            if header is not None:
                try:
                    cells = next(csv.reader(io.StringIO(raw), strict=True))
                except csv.Error as err:
                    why = UNCLOSED_QUOTE if "end of data" in str(err) else str(err)
                    out.append((i, raw, None, f"unreadable CSV row: {why}"))
                    continue
                if len(cells) != len(header):
                    out.append((i, raw, None, f"{len(cells)} cells, the header has {len(header)}"))
                    continue
                out.append((i, raw, {h: c for h, c in zip(header, cells, strict=True)}, ""))
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError) as err:
                out.append((i, raw, None, f"invalid JSON: {err}"))
                continue
            if not isinstance(record, dict):
                out.append((i, raw, None, f"a JSON {type(record).__name__}, not an object"))
                continue
            why_not = not_text(record) if "\\u" in raw else None
            if why_not:  # an escape that decodes to no text (NUL, half a UTF-16 pair)
                out.append((i, raw, None, why_not))
                continue
            out.append((i, raw, record, ""))
        return out

    def _row(self, record: dict[str, Any], line: int, text_numbers: bool) -> _Row:
        spec = self.spec
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise _RejectedError(Reason.NOT_FINITE, f"{key!r} is not a finite number")
        masked = mask_record(record)
        id_key, raw_id = _first(record, spec.id_keys)  # masked below, kept distinct
        if raw_id is None:
            raise _RejectedError(Reason.MISSING_FIELD, f"missing {' or '.join(spec.id_keys)}")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            raise _RejectedError(Reason.WRONG_TYPE, f"{id_key!r} should be text or a whole number")
        record_id = masked_id(str(raw_id), names_in_record(record))
        ts_key, ts_text = _first(masked, spec.ts_keys)
        if ts_text is None:
            raise _RejectedError(Reason.MISSING_FIELD, f"missing {' or '.join(spec.ts_keys)}")
        if not isinstance(ts_text, str):
            raise _RejectedError(Reason.WRONG_TYPE, f"{ts_key!r} should be an ISO 8601 string")
        category = -1
        if spec.category_keys:
            cat_key, cat = _first(masked, spec.category_keys)
            if cat is None:
                raise _RejectedError(
                    Reason.MISSING_FIELD, f"missing {' or '.join(spec.category_keys)}"
                )
            if not isinstance(cat, str):
                raise _RejectedError(Reason.WRONG_TYPE, f"{cat_key!r} should be a category code")
            if cat not in self._category_index:
                raise _RejectedError(
                    Reason.UNKNOWN_CATEGORY,
                    f"{cat_key} {cat!r} is not a known "
                    f"category{lang_registry.did_you_mean(cat, self.categories)}",
                )
            category = self._category_index[cat]
        lat = long = math.nan
        if spec.has_position:
            la = _number(masked, "lat", text_numbers)
            lo = _number(masked, "long", text_numbers)
            if lo is None:
                lo = _number(masked, "lon", text_numbers)
            if (la is None) != (lo is None):
                raise _RejectedError(Reason.MISSING_FIELD, "lat and long go together")
            if la is not None and lo is not None:
                if not (-90 <= la <= 90 and -180 <= lo <= 180):
                    raise _RejectedError(
                        Reason.BAD_VALUE, f"position ({la}, {lo}) is off the globe"
                    )
                lat, long = la, lo
        value = math.nan
        if spec.name == "checkpoint":
            # an empty result (a CSV row that gives the flag, or nothing) is no result, as an
            # empty cell is no value for every other field
            _, result = _first(masked, ("result",))
            flag = _number(masked, "abnormal", text_numbers)
            if result is None and flag is None:
                raise _RejectedError(Reason.MISSING_FIELD, "missing result")
            if result is not None:
                if not isinstance(result, str):
                    raise _RejectedError(
                        Reason.WRONG_TYPE,
                        f"'result' should be text, one of {', '.join(CHECK_RESULTS)}",
                    )
                if result not in CHECK_RESULTS:
                    raise _RejectedError(
                        Reason.BAD_VALUE,
                        f"result {result!r} is not one of {', '.join(CHECK_RESULTS)}",
                    )
                value = CHECK_RESULTS[result]
                if flag is not None and flag != value:
                    # which one is right cannot be told: counting either would be a guess
                    raise _RejectedError(
                        Reason.BAD_VALUE,
                        f"result {result!r} and abnormal {flag:g} disagree: give one of them, "
                        "or both saying the same",
                    )
            elif flag not in (0.0, 1.0):
                raise _RejectedError(Reason.BAD_VALUE, "abnormal should be 0 or 1")
            else:
                value = float(flag)
            if not masked.get("venue"):
                raise _RejectedError(Reason.MISSING_FIELD, "missing venue")
        elif spec.flag_key is not None:
            flag = _number(masked, spec.flag_key, text_numbers)
            if flag is not None:
                if flag not in (0.0, 1.0):
                    raise _RejectedError(Reason.BAD_VALUE, f"{spec.flag_key} should be 0 or 1")
                value = flag
        for text_key in (spec.text_key, *spec.extra_keys):
            # text kept as text: a list or an object became its Python form ("{'a': 1}") in
            # orders.ndjson and in what a filter on the field compared
            if text_key is not None and isinstance(masked.get(text_key), list | dict):
                raise _RejectedError(Reason.WRONG_TYPE, f"{text_key!r} should be text")
        text = ""
        if spec.text_key is not None:
            raw_text = masked.get(spec.text_key)
            text = "" if raw_text is None else str(raw_text)
        extra = {k: "" if masked.get(k) is None else str(masked.get(k)) for k in spec.extra_keys}
        if spec.name == "checkpoint" and not extra["result"]:
            # a check sent as the flag alone (`abnormal: 1`) has its result all the same: a
            # filter on `result` must see it as one sent as `result: abnormal` is seen
            extra["result"] = "abnormal" if value == 1.0 else "normal"
        return _Row(str(record_id), ts_text, category, lat, long, value, text, extra, line)

    def decode(self, chunk: RawChunk) -> tuple[ChannelBatch, DeadLetters]:
        letters = DeadLetters()
        header = None
        if chunk.fmt == "csv" and chunk.header is not None:
            header = [
                h.strip() for h in next(csv.reader([chunk.header.decode("utf-8", "replace")]))
            ]

        def mask_raw(raw: str) -> str:
            if header is not None:
                return mask_raw_csv(raw, header, redact_broken=True)
            return mask_raw_json(raw, redact_broken=True)

        def dead(
            line: int, raw: str, reason: Reason, detail: str, record: Mapping[str, Any] | None
        ) -> None:
            names = _names(record)
            letters.add(
                DeadLetter(
                    mask_raw(raw),
                    reason,
                    blank_names(mask_text(detail), names),
                    chunk.source,
                    chunk.position(line),
                )
            )

        rows: list[_Row] = []
        raws: list[tuple[str, dict[str, Any]]] = []
        for line, raw, record, why in self._records(chunk):
            if record is None:
                dead(line, raw, Reason.BAD_JSON, why, None)
                continue
            try:
                rows.append(self._row(record, line, text_numbers=header is not None))
                raws.append((raw, record))
            except _RejectedError as rej:
                dead(line, raw, rej.reason, rej.detail, record)
        venue_community = None
        if self.locate_venue is not None and not self.spec.has_position and rows:
            # a venue the registry does not know places the check nowhere: no indicator could
            # count it, so it is refused (as a sensor the registry does not know is), before
            # its id is remembered and a corrected copy would be dropped as a repeat
            placed = np.asarray(
                self.locate_venue([r.extra.get("venue", "") for r in rows]), dtype=np.int64
            )
            for i in np.flatnonzero(placed < 0).tolist():
                detail = f"venue {rows[i].extra.get('venue', '')!r} is not in the venue registry"
                dead(rows[i].line, raws[i][0], Reason.BAD_VALUE, detail, raws[i][1])
            known = (placed >= 0).tolist()
            rows = [r for r, k in zip(rows, known, strict=True) if k]
            raws = [r for r, k in zip(raws, known, strict=True) if k]
            venue_community = placed[placed >= 0]
        ts, status = parse_iso_ms([r.ts_text for r in rows])
        ok = np.ones(len(rows), dtype=bool)
        for i in np.flatnonzero(status != 0).tolist():
            ok[i] = False
            reason = {NO_TIMEZONE: Reason.NO_TIMEZONE, BAD: Reason.BAD_TIMESTAMP}.get(
                int(status[i]), Reason.BAD_TIMESTAMP
            )
            stamp = rows[i].ts_text
            detail = (
                f"timestamp {stamp!r} has no time zone (add Z or +08:00)"
                if reason is Reason.NO_TIMEZONE
                else f"timestamp {stamp!r} is not ISO 8601"
            )
            dead(rows[i].line, raws[i][0], reason, detail, raws[i][1])
        far = self.clock.judge(ts, usable=ok)
        for i in np.flatnonzero(far).tolist():
            ok[i] = False
            dead(
                rows[i].line,
                raws[i][0],
                Reason.TOO_FAR_IN_TIME,
                f"timestamp {rows[i].ts_text!r} is too far from the stream's time",
                raws[i][1],
            )
        # per record, in arrival order: how far the partition had got (SensorBatch.high)
        high = np.maximum.accumulate(np.where(ok, ts, np.iinfo(np.int64).min).astype(np.int64))
        keep = np.flatnonzero(ok)
        if self.seen is not None and len(keep):
            fresh = self.seen.first_seen(
                [rows[i].record_id for i in keep.tolist()], self.clock.now_ms or 0
            )
            letters.count(Reason.DUPLICATE, int(len(fresh) - np.count_nonzero(fresh)))
            keep = keep[fresh]
        letters.letters.sort(key=lambda letter: letter.position)
        kept = [rows[i] for i in keep.tolist()]
        lat = np.array([r.lat for r in kept], dtype=np.float64)
        long = np.array([r.long for r in kept], dtype=np.float64)
        community = np.full(len(kept), -1, dtype=np.int64)
        if self.locate is not None and len(kept):
            placed = ~np.isnan(lat)
            if placed.any():
                community[placed] = np.asarray(self.locate(lat[placed], long[placed]))
        if venue_community is not None:
            community = venue_community[keep]
        batch = ChannelBatch(
            channel=self.channel,
            record_id=[r.record_id for r in kept],
            ts=ts[keep].astype(np.int64),
            category=np.array([r.category for r in kept], dtype=np.int64),
            categories=self.categories,
            lat=lat,
            long=long,
            community=community,
            value=np.array([r.value for r in kept], dtype=np.float64),
            text=[r.text for r in kept],
            extra={k: [r.extra[k] for r in kept] for k in self.spec.extra_keys},
            high=high[keep],
            position=np.array([chunk.position(r.line) for r in kept], dtype=np.int64),
        )
        return batch, letters

    def snapshot(self) -> dict[str, object]:
        return {
            "now_ms": self.clock.now_ms,
            "seen": self.seen.snapshot() if self.seen is not None else None,
        }

    def restore(self, state: dict[str, object]) -> None:
        now = state.get("now_ms")
        self.clock.now_ms = int(now) if isinstance(now, int) else None
        seen = state.get("seen")
        if self.seen is not None and isinstance(seen, dict):
            self.seen.restore(seen)


def _names(record: Mapping[str, Any] | None) -> list[str]:
    return names_in_record(record) if record is not None else []


def decode_channel_chunk(
    chunk: RawChunk,
    channel: str,
    locate: Locate | None = None,
    decoder: ChannelDecoder | None = None,
) -> tuple[ChannelBatch, DeadLetters]:
    """Decode one chunk of a citizen channel (a fresh decoder unless one is given)."""
    return (decoder or ChannelDecoder(channel, locate)).decode(chunk)
