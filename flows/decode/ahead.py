"""Parsing one chunk ahead: polars reads chunk k+1 while chunk k is decoded and windowed.

Decoding is the wall of the end-to-end path, and its larger half is polars' NDJSON reader,
which runs in Rust without holding the GIL.  Parsing is the stateless half of decoding
(`SensorDecoder.parse`: bytes -> columns); the stateful half (stream clock, duplicates,
registry lookups, masking) must see the chunks in order, in the dataflow's thread.  So one
background thread parses the chunks in the order they were submitted, and the caller decodes
a chunk once its parse is done, while the next parse is already running.  The output is the
same, in the same order, as decoding each chunk in turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from flows.decode.batches import SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.reasons import DeadLetters
from flows.decode.sensors import Parsed, SensorDecoder


class ParseAhead:
    """Chunks submitted for parsing, oldest first, each with its parse in flight or done."""

    def __init__(self, decoder: SensorDecoder) -> None:
        self.decoder = decoder
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[RawChunk, Future[Parsed]]] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def submit(self, chunk: RawChunk) -> None:
        """Start parsing `chunk` after the chunks submitted before it."""
        if self._pool is None:  # one worker: parses run one at a time, in submission order
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-ahead")
        self._pending.append((chunk, self._pool.submit(self.decoder.parse, chunk)))

    def pop(self) -> tuple[RawChunk, Parsed]:
        """The oldest chunk and its parse (waiting for it if needed)."""
        chunk, future = self._pending.popleft()
        return chunk, future.result()

    def drain(self) -> Iterator[tuple[RawChunk, Parsed]]:
        while self._pending:
            yield self.pop()

    def chunks(self) -> list[RawChunk]:
        """The chunks not yet popped, oldest first (what a snapshot must keep)."""
        return [chunk for chunk, _ in self._pending]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def decode_ahead(
    decoder: SensorDecoder, chunks: Iterable[RawChunk]
) -> Iterator[tuple[RawChunk, SensorBatch, DeadLetters]]:
    """Decode `chunks` in order, parsing each next one while the caller works on the last."""
    ahead = ParseAhead(decoder)
    try:
        for chunk in chunks:
            ahead.submit(chunk)
            if len(ahead) > 1:
                first, parsed = ahead.pop()
                yield (first, *decoder.decode(first, parsed))
        for first, parsed in ahead.drain():
            yield (first, *decoder.decode(first, parsed))
    finally:
        ahead.close()
