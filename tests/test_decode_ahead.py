"""Parsing one chunk ahead gives the same batches and dead letters, in the same order, as
decoding each chunk in turn; the dataflow's decode step emits every chunk exactly once, also
across a snapshot taken while a chunk waits."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from flows.decode import SensorDecoder, chunk_of_lines
from flows.decode.ahead import decode_ahead
from flows.decode.batches import SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.reasons import DeadLetters
from flows.flow import Context, Decoded, DecodeLogic
from tests.test_decode import TinyRegistry

START = datetime(2026, 3, 1, 14, 5, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def registry() -> TinyRegistry:
    return TinyRegistry(
        ["AQ-310106-000001", "AQ-310106-000002", "TF-310106-000001"],
        ["air_quality", "air_quality", "traffic_flow"],
    )


def stream(n_chunks: int, seed: int) -> list[RawChunk]:
    """Chunks with good readings, duplicates, unknown sensors, broken JSON, and a key that
    first appears in a later chunk (the parse's vocabulary must learn it in order)."""
    rng = np.random.default_rng(seed)
    ids = ["AQ-310106-000001", "AQ-310106-000002", "TF-310106-000001", "XX-000000-000000"]
    chunks, line, second = [], 1, 0
    for k in range(n_chunks):
        lines: list[bytes] = []
        for _ in range(int(rng.integers(20, 60))):
            sensor = ids[int(rng.integers(0, len(ids)))]
            second += int(rng.integers(1, 30))
            ts = (START + timedelta(seconds=second)).isoformat()
            rec: dict[str, object] = {"sensor_id": sensor, "ts": ts}
            if sensor.startswith("TF"):
                rec["vehicle_count"] = int(rng.integers(0, 90))
            else:
                rec["pm25"] = round(float(rng.gamma(4.0, 10.0)), 1)
                if k >= n_chunks // 2:
                    rec["pm10"] = round(float(rng.gamma(5.0, 10.0)), 1)  # a key seen late
            lines.append(json.dumps(rec).encode())
        lines.insert(int(rng.integers(0, len(lines))), b'{"sensor_id": "AQ-310106-000001", ')
        lines.append(lines[0])  # a duplicate
        chunks.append(chunk_of_lines("in.ndjson", lines, first_line=line))
        line += len(lines)
    return chunks


def same(a: tuple[SensorBatch, DeadLetters], b: tuple[SensorBatch, DeadLetters]) -> None:
    for name in ("sensor", "ts", "field", "value"):
        np.testing.assert_array_equal(getattr(a[0], name), getattr(b[0], name))
    assert [(d.position, d.reason, d.detail, d.record) for d in a[1].letters] == [
        (d.position, d.reason, d.detail, d.record) for d in b[1].letters
    ]


def test_parsing_ahead_decodes_exactly_as_in_turn(registry: TinyRegistry) -> None:
    chunks = stream(12, seed=3)
    in_turn = SensorDecoder(registry)
    expected = [in_turn.decode(c) for c in chunks]
    got = list(decode_ahead(SensorDecoder(registry), chunks))
    assert [c for c, _, _ in got] == chunks
    for (_, batch, dead), want in zip(got, expected, strict=True):
        same((batch, dead), want)
    assert sum(len(b) for b, _ in expected) > 300
    assert sum(len(d.letters) for _, d in expected) >= 12  # the broken lines, at least


def emitted(out: object) -> list[Decoded]:
    items, _retain = cast(tuple[list[Decoded], bool], out)
    return list(items)


def decoded_in_turn(registry: TinyRegistry, chunks: list[RawChunk]) -> list[Decoded]:
    """What the decode step must emit: each chunk decoded in turn by one decoder."""
    dec = SensorDecoder(registry)
    return [Decoded(c.source, *dec.decode(c), None) for c in chunks]


def assert_same(got: list[Decoded], expected: list[Decoded]) -> None:
    assert len(got) == len(expected)
    for g, want in zip(got, expected, strict=True):
        assert isinstance(g.batch, SensorBatch) and isinstance(want.batch, SensorBatch)
        same((g.batch, g.dead), (want.batch, want.dead))


def test_decode_step_emits_each_chunk_once_across_a_snapshot(registry: TinyRegistry) -> None:
    """An activation emits all chunks but the last; a wake-up or the end emits it; a snapshot
    taken while it waits carries it into the restarted step."""
    ctx = cast(Context, SimpleNamespace(registry=registry))
    chunks = stream(6, seed=8)

    logic = DecodeLogic(ctx, None, parse_ahead=True)
    got = emitted(logic.on_batch(chunks[:3]))
    assert len(got) == 2 and logic.notify_at() is not None
    got += emitted(logic.on_notify())
    assert len(got) == 3 and logic.notify_at() is None
    got += emitted(logic.on_batch(chunks[3:5]))
    assert len(got) == 4
    state = pickle.loads(pickle.dumps(logic.snapshot()))  # as the recovery store keeps it
    assert [c.first_line for c in state["pending"]] == [chunks[4].first_line]  # type: ignore[attr-defined]

    restarted = DecodeLogic(ctx, state, parse_ahead=True)
    got += emitted(restarted.on_batch(chunks[5:]))
    got += emitted(restarted.on_eof())
    assert_same(got, decoded_in_turn(registry, chunks))


def test_live_sources_decode_each_chunk_as_it_comes(registry: TinyRegistry) -> None:
    """Without parse-ahead nothing waits; chunks a snapshot kept (taken by a replay) still
    come out first, in order."""
    ctx = cast(Context, SimpleNamespace(registry=registry))
    chunks = stream(4, seed=5)

    replay = DecodeLogic(ctx, None, parse_ahead=True)
    got = emitted(replay.on_batch(chunks[:2]))
    live = DecodeLogic(ctx, replay.snapshot())
    got += emitted(live.on_batch(chunks[2:3]))
    assert len(got) == 3 and live.notify_at() is None
    got += emitted(live.on_batch(chunks[3:]))
    assert_same(got, decoded_in_turn(registry, chunks))
