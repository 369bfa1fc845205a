"""Raw chunk -> polars DataFrame, whole chunk at once, with a per-line fallback.

`polars.read_ndjson` with an explicit schema was the fastest reader measured on our records
(about 3M records/s on 2 cores, against msgspec 1.8M, orjson 1.1M and pyarrow 0.8M when the
result has to end up in columns).  Its weakness: one bad line fails the whole chunk, without
saying which line.  So a failed chunk is cut in halves, recursively, until the pieces that
fail are small; in those, each line is checked on its own (with the standard `json` module,
which also reports NaN and Infinity as such), the bad ones become dead letters with their
own reason, and the rest is read again in one call.  One bad line costs a few extra parse
calls, never the chunk.

CSV is read with every column as text (it never fails on a value) and the values are cast
afterwards; a row with the wrong number of cells is a dead letter.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from flows.decode.chunks import RawChunk
from flows.decode.reasons import Reason
from flows.jsontext import SUSPECT_ESCAPE_RE, not_text

LEAF_LINES = 256  # below this many lines, check a failing piece line by line
SAMPLE_LINES = 512  # lines searched for new keys before searching all mismatching ones


@dataclass
class Rejected:
    """A line refused while reading, before any column exists."""

    line: int  # 0-based index of the line in its chunk
    reason: Reason
    detail: str


@dataclass
class Frame:
    """The parsed rows, the chunk line each row came from, and the lines refused."""

    df: pl.DataFrame
    line: np.ndarray  # int64, 0-based line index in the chunk of each row
    rejected: list[Rejected]
    wrong_type: np.ndarray | None = None  # rows with a cell that did not convert (CSV)
    text: bytes | None = None  # the bytes read in one call (bad lines blanked), if so
    # per column, the rows whose cell did not convert (CSV; only columns with such a row):
    # a flat record's `value` of "abc" is a value of the wrong type, not a missing one
    wrong_cells: dict[str, np.ndarray] = field(default_factory=dict)


def split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _count_lines(data: bytes) -> int:
    newlines = int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))  # faster than count
    return newlines + (1 if data and not data.endswith(b"\n") else 0)


def _has_finite_problem(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_finite_problem(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_finite_problem(v) for v in value)
    return False


def _python_type_ok(value: Any, dtype: pl.DataType) -> bool:
    if value is None:
        return True
    if dtype == pl.Float64:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if dtype == pl.Boolean:
        return isinstance(value, bool)
    return True  # the reader turns any value into text for a String column, and so do we


def check_json_line(line: bytes, schema: Mapping[str, pl.DataType]) -> Rejected | None:
    """Why one NDJSON line cannot be read with `schema`, or None if it can."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return Rejected(0, Reason.BAD_JSON, f"not UTF-8 ({err.reason} at byte {err.start})")
    try:
        record = json.loads(text)
    except ValueError as err:
        return Rejected(0, Reason.BAD_JSON, f"invalid JSON: {err}")
    except RecursionError:
        return Rejected(0, Reason.BAD_JSON, "invalid JSON: nested too deeply")
    if not isinstance(record, dict):
        return Rejected(0, Reason.BAD_JSON, f"a JSON {type(record).__name__}, not an object")
    why_not = not_text(record) if "\\u" in text else None
    if why_not:
        return Rejected(0, Reason.BAD_JSON, why_not)
    for key, value in record.items():
        try:
            problem = _has_finite_problem(value)
        except RecursionError:  # json.loads took it, walking it would exhaust the stack
            return Rejected(0, Reason.BAD_JSON, f"invalid JSON: {key!r} is nested too deeply")
        if problem:
            return Rejected(0, Reason.NOT_FINITE, f"{key!r} is not a finite number")
    for key, dtype in schema.items():
        value = record.get(key)
        if not _python_type_ok(value, dtype):
            want = "a number" if dtype == pl.Float64 else "true or false"
            return Rejected(
                0, Reason.WRONG_TYPE, f"{key!r} should be {want}, not {type(value).__name__}"
            )
    return None


def _nonblank(lines: list[bytes], lo: int, hi: int) -> np.ndarray:
    return np.array([i for i in range(lo, hi) if lines[i].strip()], dtype=np.int64)


Reader = Callable[[bytes], pl.DataFrame]


def _read_pieces(
    lines: list[bytes],
    lo: int,
    hi: int,
    read: Reader,
    check: Callable[[bytes], Rejected | None],
    leaf: int,
) -> tuple[list[pl.DataFrame], list[np.ndarray], list[Rejected]]:
    """Read lines[lo:hi]; on failure halve, and check line by line in small pieces."""
    try:
        df = read(b"\n".join(lines[lo:hi]) + b"\n")
    except Exception:  # polars raises several error types for bad input
        pass
    else:
        nonblank = _nonblank(lines, lo, hi)
        if df.height == len(nonblank):
            return [df], [nonblank], []
    if hi - lo > leaf:
        mid = (lo + hi) // 2
        a = _read_pieces(lines, lo, mid, read, check, leaf)
        b = _read_pieces(lines, mid, hi, read, check, leaf)
        return a[0] + b[0], a[1] + b[1], a[2] + b[2]
    rejected: list[Rejected] = []
    good: list[int] = []
    for i in range(lo, hi):
        if not lines[i].strip():
            continue
        problem = check(lines[i])
        if problem is None:
            good.append(i)
        else:
            rejected.append(Rejected(i, problem.reason, problem.detail))
    if not good:
        return [], [], rejected
    try:
        df = read(b"\n".join(lines[i] for i in good) + b"\n")
        if df.height == len(good):
            return [df], [np.array(good, dtype=np.int64)], rejected
    except Exception:
        pass
    # the line checks and the reader disagree: ask the reader about each line alone
    dfs: list[pl.DataFrame] = []
    rows: list[np.ndarray] = []
    for i in good:
        try:
            one = read(lines[i] + b"\n")
        except Exception as err:
            rejected.append(Rejected(i, Reason.BAD_JSON, str(err).splitlines()[0][:200]))
            continue
        dfs.append(one)
        rows.append(np.array([i], dtype=np.int64))
    return dfs, rows, rejected


def key_count(data: bytes) -> int:
    """Number of `":` pairs (a key's closing quote and its colon) in the text.

    Two uint16 views (even and odd offsets) count them in about 1 ms per 4 MB.
    """
    n = len(data)
    even = np.frombuffer(data, np.uint16, count=n // 2)
    odd = np.frombuffer(data, np.uint16, count=(n - 1) // 2, offset=1) if n > 1 else even[:0]
    return int(np.count_nonzero(even == _PAIR)) + int(np.count_nonzero(odd == _PAIR))


def _cells(df: pl.DataFrame) -> int:
    return sum(df.height - df[c].null_count() for c in df.columns)


def _row_cells(df: pl.DataFrame) -> np.ndarray:
    counts = np.zeros(df.height, dtype=np.int64)
    for c in df.columns:
        counts += df[c].is_not_null().to_numpy()
    return counts


_PAIR = np.frombuffer(b'":', np.uint16)[0]
_KEY_RE = re.compile(rb'"((?:[^"\\\n]|\\.){1,200})"\s*:')


def _pair_positions(data: bytes) -> np.ndarray:
    n = len(data)
    even = np.frombuffer(data, np.uint16, count=n // 2)
    odd = np.frombuffer(data, np.uint16, count=(n - 1) // 2, offset=1) if n > 1 else even[:0]
    return np.concatenate((np.flatnonzero(even == _PAIR) * 2, np.flatnonzero(odd == _PAIR) * 2 + 1))


def _line_key_counts(data: bytes) -> np.ndarray:
    """Keys (`":` pairs) on each line of the text, vectorised."""
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    n_lines = _count_lines(data)
    line_of = np.searchsorted(ends, _pair_positions(data))
    return np.bincount(line_of, minlength=n_lines)[:n_lines]


class KeyVocabulary:
    """The columns to read: the ones always read, plus the keys seen lately.

    The reader costs time for every column of its schema, present or not (measured: 36
    columns of which 15 absent read at half the speed of the 21 present ones), so only keys
    seen in recent chunks are read.  A key the schema lacks is noticed by counting keys in
    the text against cells in the result; then it is learned and the chunk read again.
    Keys not met for `forget_after` chunks are dropped again.
    """

    def __init__(
        self, known: Mapping[str, pl.DataType], always: list[str], forget_after: int = 64
    ) -> None:
        self.known = dict(known)
        self.always = list(always)
        self.forget_after = forget_after
        self._last_seen: dict[str, int] = {}
        self._tick = 0

    def schema(self) -> dict[str, pl.DataType]:
        """Always-read columns, then the seen keys in vocabulary order (the order producers
        write them in: the reader is faster when the schema follows the records)."""
        seen = [k for k in self.known if k in self._last_seen and k not in self.always]
        unknown = sorted(k for k in self._last_seen if k not in self.known)
        return {k: self.known.get(k, pl.String()) for k in self.always + seen + unknown}

    @property
    def empty(self) -> bool:
        """Nothing learned yet (a new stream)."""
        return not self._last_seen and self._tick == 0

    def learn(self, keys: set[str]) -> bool:
        new = {k for k in keys if k not in self._last_seen and k not in self.always}
        for k in new:
            self._last_seen[k] = self._tick
        return bool(new)

    def saw(self, df: pl.DataFrame) -> None:
        self._tick += 1
        for c in df.columns:
            if c in self._last_seen and df[c].null_count() < df.height:
                self._last_seen[c] = self._tick
        stale = [k for k, t in self._last_seen.items() if self._tick - t > self.forget_after]
        for k in stale:
            del self._last_seen[k]


_NON_FINITE_RE = re.compile(rb"\bNaN\b|\bInfinity\b")


def _line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before the newline) of every line."""
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    return starts, ends.astype(np.int64)


def _suspects(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines that look broken at a glance: not `{...}`, or with a NaN / Infinity literal.

    The usual faults -- a line cut short, a NaN written by a careless producer -- are found
    this way in one vectorised pass, so a chunk with a few bad lines costs one extra read
    instead of a bisection.  What the glance misses is still caught by the bisection.
    """
    buf = np.frombuffer(data, np.uint8)
    if len(buf) == 0:
        return np.zeros(len(starts), dtype=bool)
    nonempty = ends > starts
    last_at = np.maximum(ends - 1, 0)
    last_at = np.where((buf[last_at] == 13) & (ends - 1 > starts), last_at - 1, last_at)
    first = buf[np.minimum(starts, len(buf) - 1)]
    suspect = nonempty & ((first != 123) | (buf[last_at] != 125))
    if b"NaN" in data or b"Infinity" in data:
        hits = np.array([m.start() for m in _NON_FINITE_RE.finditer(data)], dtype=np.int64)
        suspect[np.searchsorted(ends, hits)] = True
    return suspect


def _read_with(chunk: RawChunk, schema: dict[str, pl.DataType], leaf: int) -> Frame:
    def read(data: bytes) -> pl.DataFrame:
        return pl.read_ndjson(data, schema=schema)

    def check(line: bytes) -> Rejected | None:
        return check_json_line(line, schema)

    data = chunk.data
    # escapes that polars decodes to no text or to NUL (which numpy strings then drop):
    # those lines are checked one by one
    escapes = b"\\u" in data and SUSPECT_ESCAPE_RE.search(data) is not None
    if data and not escapes:
        try:
            df = read(data)
        except Exception:
            df = None
        if df is not None and df.height == _count_lines(data):
            return Frame(df, np.arange(df.height, dtype=np.int64), [], text=data)
    # first try: check the suspicious lines alone, blank the bad ones, read the rest at once
    starts, ends = _line_bounds(data)
    present = ends > starts
    rejected: list[Rejected] = []
    blanked = bytearray(data)
    suspects = _suspects(data, starts, ends)
    if escapes:
        hits = np.array([m.start() for m in SUSPECT_ESCAPE_RE.finditer(data)], dtype=np.int64)
        suspects[np.searchsorted(ends, hits)] = True
    for i in np.flatnonzero(suspects).tolist():
        line = data[starts[i] : ends[i]]
        if not line.strip():
            present[i] = False  # a blank line: not a record
            continue
        problem = check(line)
        if problem is not None:
            rejected.append(Rejected(i, problem.reason, problem.detail))
            blanked[starts[i] : ends[i]] = b" " * len(line)
            present[i] = False
    rows = np.flatnonzero(present)
    text = bytes(blanked)
    try:
        df = read(text)
        if df.height == len(rows):
            return Frame(df, rows, rejected, text=text)
    except Exception:
        pass
    # what the glance missed (a wrong type, a broken line inside braces): bisect
    lines = split_lines(data)
    bad = {r.line for r in rejected}
    keep = [i for i in range(len(lines)) if i not in bad]
    kept_lines = [lines[i] for i in keep]
    dfs, pieces, more = _read_pieces(kept_lines, 0, len(kept_lines), read, check, leaf)
    index = np.array(keep, dtype=np.int64)
    rejected += [Rejected(int(index[r.line]), r.reason, r.detail) for r in more]
    df = pl.concat(dfs, how="vertical") if dfs else pl.DataFrame(schema=schema)
    row_lines = index[np.concatenate(pieces)] if pieces else np.zeros(0, dtype=np.int64)
    rejected.sort(key=lambda r: r.line)
    return Frame(df, row_lines, rejected)


def _short_rows(chunk: RawChunk, frame: Frame) -> np.ndarray:
    """Rows whose line holds more keys than the row has read cells (a key not read, or a
    null value).  The usual case costs two counts over the text, no per-line work."""
    text = frame.text
    if text is not None and b"\\" not in text and key_count(text) == _cells(frame.df):
        return np.zeros(0, dtype=np.int64)
    per_line = _line_key_counts(chunk.data)
    return np.flatnonzero(per_line[frame.line] != _row_cells(frame.df))


def _unread_keys(chunk: RawChunk, frame: Frame) -> set[str] | None:
    """Keys present in the text but not read, or None when every key was read."""
    rows = _short_rows(chunk, frame)
    if len(rows) == 0:
        return None
    mismatch = frame.line[rows]
    lines = split_lines(chunk.data)
    columns = set(frame.df.columns)
    # a sample first: on a new stream every line mismatches, and a few show all its keys
    sample, rest = mismatch[:SAMPLE_LINES].tolist(), mismatch[SAMPLE_LINES:].tolist()
    for part in (sample, rest):
        text = b"\n".join(lines[i] for i in part)
        found = _keys_in(text) - columns
        if found:
            return found
    return set()


def _sample_keys(data: bytes, lines: int = SAMPLE_LINES) -> set[str]:
    """Keys written in the first `lines` lines of the text."""
    end = -1
    for _ in range(lines):
        end = data.find(b"\n", end + 1)
        if end < 0:
            end = len(data)
            break
    return _keys_in(data[:end])


def _keys_in(text: bytes) -> set[str]:
    """Every key written in NDJSON text."""
    return {m.decode("utf-8", "replace") for m in _KEY_RE.findall(text)}


def read_ndjson(chunk: RawChunk, vocabulary: KeyVocabulary, leaf: int = LEAF_LINES) -> Frame:
    """All lines of an NDJSON chunk as rows (one column per key seen); the others Rejected."""
    if vocabulary.empty:
        # a new stream: learn its keys from a sample first, or its first chunk is read twice
        vocabulary.learn(_sample_keys(chunk.data))
    frame = _read_with(chunk, vocabulary.schema(), leaf)
    for _ in range(8):  # each round learns keys from a sample; usually one round is enough
        unread = _unread_keys(chunk, frame)
        if not unread or not vocabulary.learn(unread):
            break
        frame = _read_with(chunk, vocabulary.schema(), leaf)
    if unread is not None:  # some line has more keys than read cells (None: every key read)
        frame = _refuse_unread_keys(chunk, frame)
    vocabulary.saw(frame.df)
    return frame


def _refuse_unread_keys(chunk: RawChunk, frame: Frame) -> Frame:
    """Rows whose line has a key no column holds, refused by that key's name.

    The reader makes no column of an empty key ("") and the key finder reads an escaped one
    (`"a\\"b"`) in its escaped form, so such a line was read without that key and passed for
    a clean reading.  Looked for where a line has more keys than read cells (two counts) and
    an empty string or an escaped quote, so clean chunks cost nothing here."""
    rows = _short_rows(chunk, frame)
    if len(rows) == 0:
        return frame
    lines = split_lines(chunk.data)
    columns = set(frame.df.columns)
    refused: list[Rejected] = []
    drop = np.zeros(frame.df.height, dtype=bool)
    for r in rows.tolist():
        line = lines[int(frame.line[r])]
        if b'""' not in line and b'\\"' not in line:  # (nulls, the usual mismatch, have neither)
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        unread = [k for k in record if k not in columns] if isinstance(record, dict) else []
        if unread:
            drop[r] = True
            names = ", ".join(repr(k) for k in unread)
            refused.append(
                Rejected(int(frame.line[r]), Reason.UNKNOWN_FIELD, f"key(s) {names} not readable")
            )
    if not refused:
        return frame
    keep = ~drop
    return Frame(
        frame.df.filter(pl.Series(keep)),
        frame.line[keep],
        sorted(frame.rejected + refused, key=lambda x: x.line),
        None if frame.wrong_type is None else frame.wrong_type[keep],
        wrong_cells={name: rows[keep] for name, rows in frame.wrong_cells.items()},
    )


def _rows_have_width(data: bytes, width: int) -> bool:
    """Does every line have `width` cells?  Vectorised when no cell is quoted; a quoted
    chunk is left to the csv module (the reader pads short rows with nulls silently)."""
    if b'"' in data:
        return False
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    commas = np.bincount(np.searchsorted(ends, np.flatnonzero(buf == 44)), minlength=len(ends))
    starts = np.concatenate(([0], ends[:-1] + 1))
    blank = ends - starts == 0
    return bool(np.all((commas[: len(ends)] == width - 1) | blank))


UNCLOSED_QUOTE = "a quoted cell is not closed on its line (a line break inside a cell?)"


def repeated_columns(header: list[str]) -> str:
    """The names a CSV header repeats ('' if none): the reader kept one of the two columns
    and dropped the other without a word."""
    return ", ".join(repr(h) for h, n in Counter(header).items() if n > 1)


def read_csv(chunk: RawChunk, columns: list[str]) -> tuple[Frame, list[str]]:
    """All well-shaped rows of a CSV chunk as text columns, and the header's column names.

    A reading is one line: a quoted cell with a line break in it is refused in its pieces
    (the first had been read as a reading cut at the line's end, `"1` as 1).

    Columns of `columns` missing from the header come back as nulls.
    """
    assert chunk.header is not None
    header = next(csv.reader([chunk.header.decode("utf-8", "replace").strip("\r\n")]))
    header = [h.strip() for h in header]
    lines = split_lines(chunk.data)
    rejected: list[Rejected] = []
    keep: list[int] = []
    width = len(header)
    twice = repeated_columns(header)
    if twice:  # which of the two is the reading cannot be told: no row is read
        why = f"the header names {twice} more than once"
        rejected = [Rejected(i, Reason.BAD_JSON, why) for i, ln in enumerate(lines) if ln.strip()]
        empty = pl.DataFrame(schema={name: pl.String for name in dict.fromkeys(header + columns)})
        return Frame(empty, np.zeros(0, dtype=np.int64), rejected), list(dict.fromkeys(header))
    text = chunk.data.decode("utf-8", "replace")
    try:
        if not _rows_have_width(chunk.data, width):
            raise ValueError("a row has the wrong number of cells")
        df = pl.read_csv(
            io.StringIO(text),
            has_header=False,
            new_columns=header,
            infer_schema=False,
            quote_char='"',
        )
        if df.height != _count_lines(chunk.data) or df.width != width:
            raise ValueError("row count differs")
        keep = list(range(df.height))
    except Exception:
        # check rows one by one with the csv module
        for i, raw in enumerate(lines):
            try:  # strict: an unclosed quote is an error, not a cell cut at the line's end
                cells = next(csv.reader([raw.decode("utf-8")], strict=True), [])
            except (csv.Error, UnicodeDecodeError) as err:
                why = UNCLOSED_QUOTE if "end of data" in str(err) else str(err)
                rejected.append(Rejected(i, Reason.BAD_JSON, f"unreadable CSV row: {why}"))
                continue
            if not cells:
                continue
            if len(cells) != width:
                rejected.append(
                    Rejected(i, Reason.BAD_JSON, f"{len(cells)} cells, the header has {width}")
                )
                continue
            keep.append(i)
        rows = [next(csv.reader([lines[i].decode("utf-8")])) for i in keep]
        df = pl.DataFrame(
            {h: [r[j] for r in rows] for j, h in enumerate(header)},
            schema={h: pl.String for h in header},
        )
    for name in columns:
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    # empty cells are absent values, as in JSON
    df = df.with_columns(pl.col(pl.String).str.strip_chars().replace("", None))
    return Frame(df, np.array(keep, dtype=np.int64), rejected), header
