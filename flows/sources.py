"""Where raw records come from: file replay, stdin, Kafka -- always as chunks of whole lines.

Decoding is fastest on big chunks (one parse call for thousands of lines), so every source
yields `RawChunk`s of a few MB, never single records, and one Bytewax item is one chunk.

- Files (NDJSON or CSV, by suffix): one partition per file, as `citysigns run` reads them
  (`splits=N` cuts a file into N byte ranges at line boundaries, each its own partition,
  which would also keep each range's repeated sensor readings apart; the flow never asks).
  The resume state is the byte offset and line number of the next unread line; a restart
  re-reads nothing.
  `speed=N` replays N times faster than event time (from the chunks' last timestamps);
  without it, as fast as possible.
- Every partition whose input ends (a file read to its end, stdin closed, a Kafka partition
  read with `tail=False`) sends `RawChunk.end_of` last: without it a short file held every
  window of the flow open until the whole replay ended.  A resumed partition already at its
  end sends it again, which changes nothing.
- stdin: whatever has arrived, at most every `max_wait_s`, as one chunk.
- Kafka (`bytewax[kafka]`, imported only when used): each Kafka partition is an input
  partition, and every poll's messages become one chunk whose positions are the offsets.

The plain generators (`iter_file_chunks`, `iter_stream_chunks`) do not need Bytewax; the
classes at the end wrap them as Bytewax sources.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.decode.chunks import Format, RawChunk
from flows.decode.timestamps import OK, parse_scalar

log = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 4_000_000  # ~45k sensor readings: measured as fast as bigger chunks
PACED_CHUNK_BYTES = 64_000  # smaller when pacing, so that the pace is smooth
_SUFFIX_FORMAT: dict[str, Format] = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".csv": "csv",
}
# (byte offset of the next unread line, its line number[, TAIL_BYTES before that offset: how
# many, their digest]): the tail lets a resume tell that the file is still the one it read
FileState = tuple[int, int] | tuple[int, int, int, str]
TAIL_BYTES = 4096
# A record is a few hundred bytes; a line past this is not one (a JSON array exported on one
# line), and only its head is kept, for its dead letter (`_cut_long_line`).
MAX_LINE_BYTES = 16 << 20
LINE_HEAD_BYTES = 64 << 10


def tail_digest(data: bytes) -> str:
    """The digest a file state keeps of the bytes before its offset (`TAIL_BYTES` at most)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def changed_since(path: str | Path, state: FileState) -> str | None:
    """How the file at `path` differs from the one a recovery snapshot's `state` read (None
    when it may be the same): shorter than where the earlier run stopped reading (cut back,
    or replaced by a smaller file), or other bytes before that point (replaced).  A file
    that grew is the same file, appended to."""
    offset = state[0]
    try:
        size = os.path.getsize(path)
        if size < offset:
            return f"it is {size:,} bytes long, and the earlier run had read {offset:,}"
        if len(state) == 4:
            n, digest = state[2], state[3]
            with open(path, "rb") as fh:
                fh.seek(offset - n)
                if tail_digest(fh.read(n)) != digest:
                    return f"its bytes before byte {offset:,}, where the earlier run stopped " \
                        "reading, are not those it read"  # fmt: skip
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    return None


_TS_RE = re.compile(rb'"(?:ts|requested_datetime)"\s*:\s*"([^"]{10,40})"')


def file_format(path: str | Path) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMAT:
        raise ValueError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; "
            f"name the file *.ndjson, *.jsonl, *.json or *.csv"
        )
    return _SUFFIX_FORMAT[suffix]


@dataclass(frozen=True)
class FileRange:
    """Bytes [start, end) of a file, both at line starts (end may be the file size)."""

    path: str
    start: int
    end: int


def split_file(path: str | Path, parts: int) -> list[FileRange]:
    """Cut a file into up to `parts` ranges of about equal size, at line boundaries."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(max(size * i // parts - 1, cuts[-1]))
            fh.readline()  # to the end of the line the cut falls in
            pos = fh.tell()
            if cuts[-1] < pos < size:
                cuts.append(pos)
    cuts.append(size)
    return [FileRange(str(path), a, b) for a, b in itertools.pairwise(cuts) if b > a]


#: the mark a spreadsheet's "UTF-8" export puts before the first line; it is not data
BOM = b"\xef\xbb\xbf"


def _csv_header(path: str | Path) -> bytes:
    with open(path, "rb") as fh:
        header = fh.readline().rstrip(b"\r\n").removeprefix(BOM)
    if not header:
        raise ValueError(f"{path}: a CSV file needs a header line")
    return header


def iter_file_chunks(
    path: str | Path,
    *,
    start: int = 0,
    end: int | None = None,
    first_line: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    fmt: Format | None = None,
) -> Iterator[RawChunk]:
    """Chunks of whole lines from bytes [start, end) of a file (start at a line start).

    `first_line` is the line number at `start` (counted when not given).  The CSV header
    line is never part of a chunk; it rides along in each chunk's `header`.
    """
    for chunk, _ in _file_chunks(path, start, end, first_line, chunk_bytes, fmt):
        yield chunk


def _file_chunks(
    path: str | Path,
    start: int,
    end: int | None,
    first_line: int | None,
    chunk_bytes: int,
    fmt: Format | None,
) -> Iterator[tuple[RawChunk, FileState]]:
    """Chunks and the resume state after each (offset and line number of the next line)."""
    fmt = fmt or file_format(path)
    size = os.path.getsize(path)
    end = size if end is None else min(end, size)
    header = _csv_header(path) if fmt == "csv" else None
    with open(path, "rb") as fh:
        if first_line is None:
            first_line = 1 + _count_newlines(fh, start)
        fh.seek(start)
        pos, line = start, first_line
        if fmt == "csv" and pos == 0:
            skipped = fh.readline()
            pos += len(skipped)
            line += 1
        tail = b""
        while pos < end:
            data = fh.read(min(chunk_bytes, end - pos))
            if not data:
                log.warning("%s: the file is %s bytes long, and held %s when the run opened "
                            "it: it was cut while being read, and bytes %s to %s were not read",
                            path, f"{os.path.getsize(path):,}", f"{end:,}", f"{pos:,}",
                            f"{end:,}")  # fmt: skip
                break
            cut: _CutLine | None = None
            if pos + len(data) < end and not data.endswith(b"\n"):
                data += fh.readline(MAX_LINE_BYTES)  # finish the last line
                if pos + len(data) < end and not data.endswith(b"\n"):
                    cut = _cut_long_line(fh, data, end - pos - len(data), path, line)
            first = line
            at_start = pos == 0
            if cut is None:
                pos += len(data)
                line += int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))
                tail = (tail + data)[-TAIL_BYTES:]
            else:
                pos += cut.read
                line += data.count(b"\n") + int(cut.tail.endswith(b"\n"))
                tail = cut.tail
                data = cut.data
            if at_start:
                data = data.removeprefix(BOM)
            if not data.isspace():
                yield RawChunk(str(path), first, data, fmt, header), (
                    pos, line, len(tail), tail_digest(tail)
                )  # fmt: skip


@dataclass(frozen=True)
class _CutLine:
    """A chunk whose last line was cut (`_cut_long_line`)."""

    data: bytes  # the chunk to decode: its last line cut to its head, ended by a newline
    read: int  # the bytes of the file it stands for, the whole long line included
    tail: bytes  # the last `TAIL_BYTES` of those bytes, for the resume state


def _cut_long_line(
    fh: IO[bytes], data: bytes, limit: int, path: str | Path, first_line: int
) -> _CutLine:
    """`data` whose last line runs on past `MAX_LINE_BYTES` (a JSON array exported on one
    line), that line cut to its first `LINE_HEAD_BYTES`, the rest read past (up to `limit`
    bytes, the line's newline included) and not held.  A chunk used to be as long as its
    longest line, and decoding held it several times over: a 75 MB line took 1 GB, so a 1 GB
    export would run the worker out of memory, and again at every resume.  The head reaches
    the dead letters as the broken record it is."""
    start = data.rfind(b"\n") + 1
    read, last = len(data), data[-TAIL_BYTES:]
    while read - len(data) < limit:
        block = fh.readline(min(1 << 20, limit - (read - len(data))))
        if not block:
            break
        read += len(block)
        last = (last + block)[-TAIL_BYTES:]
        if block.endswith(b"\n"):
            break
    log.warning("%s:%s: a line of %s bytes, longer than the %s a record may be: its first %s "
                "go to the dead letters, the rest is not read", path,
                first_line + data.count(b"\n", 0, start), f"{read - start:,}",
                f"{MAX_LINE_BYTES:,}", f"{LINE_HEAD_BYTES:,}")  # fmt: skip
    return _CutLine(data[:start] + data[start : start + LINE_HEAD_BYTES] + b"\n", read, last)


def _count_newlines(fh: IO[bytes], upto: int) -> int:
    fh.seek(0)
    count, left = 0, upto
    while left > 0:
        block = fh.read(min(left, 1 << 24))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count


def last_timestamp_ms(chunk: RawChunk) -> int | None:
    """Event time of a chunk's last line that has one (`ts` or `requested_datetime`)."""
    if chunk.fmt == "csv":
        return _csv_last_timestamp(chunk)
    tail = chunk.data[-4096:]
    for found in reversed(_TS_RE.findall(tail)):
        ms, status = parse_scalar(found.decode("utf-8", "replace"))
        if status == OK:
            return ms
    return None


def _csv_last_timestamp(chunk: RawChunk) -> int | None:
    import csv

    assert chunk.header is not None
    header = next(csv.reader([chunk.header.decode("utf-8", "replace")]))
    cols = [i for i, h in enumerate(header) if h.strip() in ("ts", "requested_datetime")]
    if not cols:
        return None
    for raw in reversed(chunk.data[-4096:].splitlines()[1:] or chunk.data.splitlines()[-1:]):
        cells = next(csv.reader([raw.decode("utf-8", "replace")]), [])
        if len(cells) > cols[0]:
            ms, status = parse_scalar(cells[cols[0]])
            if status == OK:
                return ms
    return None


class Pacer:
    """Replays at `speed` times event time: when may a chunk ending at event time t go?"""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive (e.g. 1 for real time, 60 for a minute/s)")
        self.speed = speed
        self.clock = clock
        self._origin: tuple[float, int] | None = None

    def due(self, event_ms: int | None) -> float:
        """Seconds to wait (<= 0: now) before releasing a chunk that ends at `event_ms`."""
        if event_ms is None:
            return 0.0
        now = self.clock()
        if self._origin is None:
            self._origin = (now, event_ms)
            return 0.0
        wall0, event0 = self._origin
        return wall0 + (event_ms - event0) / 1000.0 / self.speed - now


def paced(
    chunks: Iterable[RawChunk], speed: float | None, sleep: Callable[[float], None] = time.sleep
) -> Iterator[RawChunk]:
    """The chunks, released at `speed` times event time (no pacing when speed is None)."""
    if speed is None:
        yield from chunks
        return
    pacer = Pacer(speed)
    for chunk in chunks:
        wait = pacer.due(last_timestamp_ms(chunk))
        if wait > 0:
            sleep(wait)
        yield chunk


def iter_stream_chunks(
    stream: IO[bytes],
    *,
    source: str = "stdin",
    fmt: Format = "ndjson",
    max_bytes: int = DEFAULT_CHUNK_BYTES,
    max_wait_s: float = 0.5,
    stop: threading.Event | None = None,
) -> Iterator[RawChunk]:
    """Chunks from a byte stream (stdin, a pipe): what has arrived, every `max_wait_s` at most.

    For CSV the stream's first line is the header.  Once `stop` is set (`citysigns run -i -`
    sets it on SIGINT or SIGTERM) the stream ends after the whole lines that have arrived, as
    if the writer had closed the pipe there: the flow then ends as at the end of its input,
    its windows closed and written.  A line not finished by then is left unread (logged).
    """
    fd = stream.fileno()
    pending = b""
    line = 1
    header: bytes | None = None
    eof = False
    skipping = False  # past the head of an over-long line, until its newline
    stopped = False
    while not eof:
        stopped = eof = stop is not None and stop.is_set()
        deadline = time.monotonic() + max_wait_s
        # a line longer than `max_bytes` is read on to its end (it stopped reading there and
        # spun: a live stream with a 5 MB line never gave another chunk), up to the
        # `MAX_LINE_BYTES` past which only its head is kept, as for files
        while not eof and (
            len(pending) < max_bytes or (b"\n" not in pending and len(pending) <= MAX_LINE_BYTES)
        ):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            data = os.read(fd, 1 << 20)
            if not data:
                eof = True
                break
            if skipping:
                end = data.find(b"\n")
                if end < 0:
                    continue
                data, skipping = data[end + 1 :], False
            pending += data
        if not eof and b"\n" not in pending and len(pending) > MAX_LINE_BYTES:
            log.warning("%s:%s: a line longer than the %s bytes a record may be: its first %s "
                        "go to the dead letters, the rest is not read", source, line,
                        f"{MAX_LINE_BYTES:,}", f"{LINE_HEAD_BYTES:,}")  # fmt: skip
            pending, skipping = pending[:LINE_HEAD_BYTES] + b"\n", True
        cut = len(pending) if eof and not stopped else pending.rfind(b"\n") + 1
        if stopped and len(pending) > cut:
            log.warning("%s:%s: stopped in the middle of a line: its %s bytes read so far are "
                        "left unread", source, line + pending.count(b"\n", 0, cut),
                        f"{len(pending) - cut:,}")  # fmt: skip
        if cut <= 0:
            continue
        body, pending = pending[:cut], pending[cut:]
        if line == 1:
            body = body.removeprefix(BOM)
        if fmt == "csv" and header is None:
            first, _, body = body.partition(b"\n")
            header = first.rstrip(b"\r")
            line += 1
        if body.strip():
            yield RawChunk(source, line, body, fmt, header)
        line += body.count(b"\n")


# ---------------------------------------------------------------- Bytewax wrappers


class _FilePartition(StatefulSourcePartition[RawChunk, FileState]):
    def __init__(
        self, part: FileRange, state: FileState | None, chunk_bytes: int, speed: float | None
    ) -> None:
        start, line = (state[0], state[1]) if state is not None else (part.start, None)
        self._chunks = _file_chunks(
            part.path,
            start,
            part.end,
            line,
            min(chunk_bytes, PACED_CHUNK_BYTES) if speed else chunk_bytes,
            None,
        )
        self._state: FileState = state if state is not None else (start, 0)
        self._pacer = Pacer(speed) if speed else None
        self._held: tuple[RawChunk, FileState] | None = None
        self._awake: datetime | None = None
        self._path = part.path
        self._ended = False

    def next_batch(self) -> list[RawChunk]:
        try:
            chunk, after = self._held or next(self._chunks)
        except StopIteration:
            if self._ended:
                raise  # ends the partition
            self._ended = True
            return [RawChunk.end_of(self._path)]  # first, the flow learns that it has ended
        self._held = None
        if self._pacer is not None:
            wait = self._pacer.due(last_timestamp_ms(chunk))
            if wait > 0:
                self._held = (chunk, after)
                self._awake = datetime.now(UTC) + timedelta(seconds=wait)
                return []
        self._awake = None
        self._state = after
        return [chunk]

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> FileState:
        return self._state


class FileReplaySource(FixedPartitionedSource[RawChunk, FileState]):
    """Replays files as chunks; each file is split into `splits` partitions."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        splits: int = 1,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        speed: float | None = None,
    ) -> None:
        if not paths:
            raise ValueError("FileReplaySource needs at least one file")
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"no such input file(s): {', '.join(missing)}")
        for p in paths:
            file_format(p)
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive, or None for as fast as possible")
        self._ranges = {
            f"{r.path}@{r.start}": r for p in paths for r in split_file(p, max(1, splits))
        }
        self._chunk_bytes = chunk_bytes
        self._speed = speed

    def list_parts(self) -> list[str]:
        return list(self._ranges)

    def build_part(
        self, step_id: str, for_part: str, resume_state: FileState | None
    ) -> _FilePartition:
        return _FilePartition(self._ranges[for_part], resume_state, self._chunk_bytes, self._speed)


class _StdinPartition(StatefulSourcePartition[RawChunk, None]):
    def __init__(self, chunks: Iterator[RawChunk]) -> None:
        self._chunks = chunks
        self._ended = False

    def next_batch(self) -> list[RawChunk]:
        try:
            return [next(self._chunks)]
        except StopIteration:
            if self._ended:
                raise
            self._ended = True
            return [RawChunk.end_of("stdin")]

    def snapshot(self) -> None:
        return None


class StdinSource(FixedPartitionedSource[RawChunk, None]):
    """Standard input as one partition (a pipe cannot be re-read: no resume state)."""

    def __init__(
        self,
        fmt: Format = "ndjson",
        max_wait_s: float = 0.5,
        stream: IO[bytes] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """`stop`: once set, the input ends after the whole lines that have arrived
        (`iter_stream_chunks`), so the flow ends cleanly, as when the pipe is closed."""
        import sys

        self._stream = stream if stream is not None else sys.stdin.buffer
        self._fmt: Format = fmt
        self._max_wait_s = max_wait_s
        self._stop = stop

    def list_parts(self) -> list[str]:
        return ["stdin"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _StdinPartition:
        return _StdinPartition(
            iter_stream_chunks(
                self._stream, fmt=self._fmt, max_wait_s=self._max_wait_s, stop=self._stop
            )
        )


def messages_to_chunk(
    messages: Sequence[Any], fmt: Format = "ndjson", header: bytes | None = None
) -> RawChunk | None:
    """One chunk from a poll of Kafka messages (values are records; positions are offsets).

    A message whose value holds several lines is split by the decoder like any chunk; its
    lines then share the message's offset.
    """
    lines: list[bytes] = []
    positions: list[int] = []
    topic = partition = None
    for msg in messages:
        value = getattr(msg, "value", None)
        if value is None:  # a KafkaError, or a tombstone
            inner = getattr(msg, "msg", None)
            value = getattr(inner, "value", None) if inner is not None else None
            if value is None:
                continue
        topic, partition = getattr(msg, "topic", topic), getattr(msg, "partition", partition)
        offset = int(getattr(msg, "offset", 0) or 0)
        for piece in bytes(value).rstrip(b"\n").split(b"\n"):
            lines.append(piece)
            positions.append(offset)
    if not lines:
        return None
    data = b"\n".join(lines) + b"\n"
    return RawChunk(
        f"kafka:{topic}/{partition}",
        positions[0],
        data,
        fmt,
        header,
        np.array(positions, dtype=np.int64),
    )


class _KafkaChunkPartition(StatefulSourcePartition[RawChunk, Any]):
    def __init__(self, inner: Any, fmt: Format, header: bytes | None, source: str) -> None:
        self._inner = inner
        self._fmt: Format = fmt
        self._header = header
        self._source = source  # as messages_to_chunk names the chunks
        self._ended = False

    def next_batch(self) -> list[RawChunk]:
        try:
            messages = self._inner.next_batch()
        except StopIteration:  # the end of the partition, with `tail=False`
            if self._ended:
                raise
            self._ended = True
            return [RawChunk.end_of(self._source)]
        chunk = messages_to_chunk(messages, self._fmt, self._header)
        return [chunk] if chunk is not None else []

    def next_awake(self) -> datetime | None:
        awake: datetime | None = self._inner.next_awake()
        return awake

    def snapshot(self) -> Any:
        return self._inner.snapshot()

    def close(self) -> None:
        self._inner.close()


class KafkaChunkSource(FixedPartitionedSource[RawChunk, Any]):
    """Kafka topics as chunks: one Kafka partition = one input partition, offsets as state.

    Needs `bytewax[kafka]` (confluent-kafka), imported here only when this class is built.
    Bad messages go on as raw lines and become dead letters at decode like any other.
    """

    def __init__(
        self,
        brokers: Sequence[str],
        topics: Sequence[str],
        *,
        fmt: Format = "ndjson",
        csv_header: bytes | None = None,
        batch_size: int = 20_000,
        tail: bool = True,
        add_config: dict[str, str] | None = None,
    ) -> None:
        try:
            from bytewax.connectors.kafka import KafkaSource
        except ImportError as err:  # pragma: no cover - depends on the installation
            raise ImportError(
                "the Kafka source needs confluent-kafka: pip install 'bytewax[kafka]'"
            ) from err
        if fmt == "csv" and not csv_header:
            raise ValueError("CSV over Kafka needs csv_header (messages carry no header)")
        self._inner = KafkaSource(
            list(brokers),
            list(topics),
            tail=tail,
            batch_size=batch_size,
            add_config=add_config,
            raise_on_errors=False,
        )
        self._fmt: Format = fmt
        self._header = csv_header

    def list_parts(self) -> list[str]:
        parts: list[str] = self._inner.list_parts()
        return parts

    def build_part(self, step_id: str, for_part: str, resume_state: Any) -> _KafkaChunkPartition:
        inner = self._inner.build_part(step_id, for_part, resume_state)
        index, topic = for_part.split("-", 1)  # Bytewax names Kafka partitions "index-topic"
        return _KafkaChunkPartition(inner, self._fmt, self._header, f"kafka:{topic}/{index}")
