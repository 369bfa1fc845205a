"""A live stream that goes quiet still closes the windows its events completed: idle partitions
leave the watermark, and the indicators wake up on the wall clock to close what it allows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import run_main

from flows.decode.chunks import RawChunk, chunk_of_lines
from flows.flow import FlowConfig, build_flow

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
QUIET_S = 3.0


class _QuietPartition(StatefulSourcePartition[RawChunk, None]):
    """Its chunks at once, then nothing until the source ends at `ends_at` (monotonic)."""

    def __init__(self, chunks: list[RawChunk], ends_at: float) -> None:
        self.chunks = list(chunks)
        self.ends_at = ends_at

    def next_batch(self) -> list[RawChunk]:
        if self.chunks:
            return [self.chunks.pop(0)]
        if time.monotonic() >= self.ends_at:
            raise StopIteration
        return []

    def next_awake(self) -> datetime | None:
        return None if self.chunks else datetime.now(UTC) + timedelta(seconds=0.05)

    def snapshot(self) -> None:
        return None


class _QuietSource(FixedPartitionedSource[RawChunk, None]):
    def __init__(self, parts: dict[str, list[RawChunk]]) -> None:
        self.parts = parts
        self.ends_at = time.monotonic() + QUIET_S

    def list_parts(self) -> list[str]:
        return list(self.parts)

    def build_part(self, step_id: str, for_part: str, resume: None) -> _QuietPartition:
        return _QuietPartition(self.parts[for_part], self.ends_at)


class _TimedLines(StatelessSinkPartition[Any]):
    def __init__(self, got: list[tuple[float, str]]) -> None:
        self.got = got

    def write_batch(self, items: list[Any]) -> None:
        now = time.monotonic()
        self.got.extend((now, str(line)) for line in items)


class _TimedSink(DynamicSink[Any]):
    def __init__(self) -> None:
        self.got: list[tuple[float, str]] = []

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _TimedLines:
        return _TimedLines(self.got)


def _run(beijing_week: Path, out: Path, idle_after: float | None) -> tuple[int, int]:
    lines = beijing_week.read_bytes().splitlines()
    a = [chunk_of_lines("a.ndjson", lines[i : i + 500], i + 1) for i in range(0, 2000, 500)]
    b = [chunk_of_lines("b.ndjson", lines[:50])]  # one early batch, then silent
    source = _QuietSource({"a": a, "b": b})
    sink = _TimedSink()
    cfg = FlowConfig((), str(out), catalog=(SMALL,), idle_after=idle_after)
    run_main(build_flow(cfg, source, n_partitions=2, windows_sink=sink))
    before_end = sum(1 for t, _ in sink.got if t < source.ends_at - 0.2)
    return before_end, len(sink.got)


def test_quiet_partitions_let_windows_close_before_the_stream_ends(
    beijing_week: Path, tmp_path: Path
) -> None:
    before, total = _run(beijing_week, tmp_path / "idle", idle_after=0.5)
    assert total > 100
    assert before >= 0.9 * total  # only the last open windows wait for the end


def test_replays_wait_for_every_partition(beijing_week: Path, tmp_path: Path) -> None:
    before, total = _run(beijing_week, tmp_path / "replay", idle_after=None)
    assert total > 100
    assert before <= 0.2 * total  # partition b holds the watermark until the end
