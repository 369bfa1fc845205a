"""Sources: file replay in chunks and partitions, resume, pacing, stdin, Kafka messages."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from bytewax import operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, run_main

from flows.decode.chunks import RawChunk
from flows.sources import (
    FileReplaySource,
    Pacer,
    StdinSource,
    file_format,
    iter_file_chunks,
    iter_stream_chunks,
    last_timestamp_ms,
    messages_to_chunk,
    paced,
    split_file,
)


def write_lines(path: Path, n: int, header: str | None = None) -> list[bytes]:
    lines = [
        f'{{"sensor_id":"AQ-310106-{i:06d}","ts":"2026-03-01T14:{i % 60:02d}:00+08:00",'
        f'"pm25":{i}.5}}'.encode()
        for i in range(n)
    ]
    body = b"\n".join(lines) + b"\n"
    path.write_bytes((header.encode() + b"\n" if header else b"") + body)
    return lines


def lines_of(chunks: list[RawChunk]) -> list[tuple[int, bytes]]:
    """(line number, line) of every line of the chunks (an input's end mark has none)."""
    out = []
    for chunk in chunks:
        if chunk.last:
            continue
        for i, line in enumerate(chunk.data.rstrip(b"\n").split(b"\n")):
            out.append((chunk.first_line + i, line))
    return out


def test_chunks_hold_whole_lines_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson"
    lines = write_lines(path, 500)
    chunks = list(iter_file_chunks(path, chunk_bytes=1000))
    assert len(chunks) > 10
    assert all(c.data.endswith(b"\n") for c in chunks)
    assert lines_of(chunks) == list(enumerate(lines, start=1))


def test_a_file_split_in_parts_is_read_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson"
    lines = write_lines(path, 997)
    parts = split_file(path, 3)
    assert len(parts) == 3
    assert parts[0].start == 0 and parts[-1].end == path.stat().st_size
    data = path.read_bytes()
    assert all(data[p.start - 1 : p.start] == b"\n" for p in parts[1:])
    got = []
    for part in parts:
        got += lines_of(
            list(iter_file_chunks(path, start=part.start, end=part.end, chunk_bytes=777))
        )
    assert got == list(enumerate(lines, start=1))


def test_more_parts_than_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson"
    write_lines(path, 2)
    parts = split_file(path, 8)
    assert 1 <= len(parts) <= 2
    assert (
        sum(len(lines_of(list(iter_file_chunks(path, start=p.start, end=p.end)))) for p in parts)
        == 2
    )


def test_csv_chunks_carry_the_header(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sensor_id,ts,pm25\n" + "".join(f"A{i},t,{i}\n" for i in range(50)))
    chunks = list(iter_file_chunks(path, chunk_bytes=64))
    assert all(c.header == b"sensor_id,ts,pm25" and c.fmt == "csv" for c in chunks)
    assert lines_of(chunks)[0] == (2, b"A0,t,0")
    assert len(lines_of(chunks)) == 50


def test_unknown_suffix_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\*\.ndjson"):
        file_format(tmp_path / "data.txt")


def test_bytewax_replay_with_two_partitions(tmp_path: Path) -> None:
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    la, lb = write_lines(a, 300), write_lines(b, 40)
    out: list[RawChunk] = []
    flow = Dataflow("replay")
    stream = op.input("in", flow, FileReplaySource([a, b], splits=2, chunk_bytes=2000))
    op.output("out", stream, TestingSink(out))
    run_main(flow)
    by_source: dict[str, list[tuple[int, bytes]]] = {}
    for chunk in out:
        by_source.setdefault(chunk.source, []).extend(lines_of([chunk]))
    assert sorted(by_source[str(a)]) == list(enumerate(la, start=1))
    assert sorted(by_source[str(b)]) == list(enumerate(lb, start=1))


def test_replay_resumes_from_its_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sensor_id,ts,pm25\n" + "".join(f"A{i},t,{i}\n" for i in range(100)))
    source = FileReplaySource([path], chunk_bytes=100)
    (part_name,) = source.list_parts()
    part = source.build_part("in", part_name, None)
    first = part.next_batch() + part.next_batch()
    state = part.snapshot()
    rest_after_resume = []
    resumed = source.build_part("in", part_name, state)
    while True:
        try:
            rest_after_resume += resumed.next_batch()
        except StopIteration:
            break
    got = lines_of(first) + lines_of(rest_after_resume)
    assert got == [(i + 2, f"A{i},t,{i}".encode()) for i in range(100)]


def test_a_replayed_file_says_when_it_has_ended(tmp_path: Path) -> None:
    """After its last chunk, each partition sends one end mark (then stops), so the flow
    knows it will send nothing more; so does a partition resumed at its end, and one of an
    empty file, which has no chunk at all."""
    path, empty = tmp_path / "s.ndjson", tmp_path / "empty.ndjson"
    write_lines(path, 100)
    empty.write_bytes(b"\n \n")
    source = FileReplaySource([path, empty], chunk_bytes=2000)

    def read(part_name: str, state: object = None) -> list[RawChunk]:
        part = source.build_part("in", part_name, state)  # type: ignore[arg-type]
        chunks: list[RawChunk] = []
        with pytest.raises(StopIteration):
            while True:
                chunks += part.next_batch()
        return chunks

    name, empty_name = source.list_parts()
    chunks = read(name)
    assert len(chunks) > 2 and [c.last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    end = chunks[-1]
    assert (end.source, end.data) == (str(path), b"")
    finished = source.build_part("in", name, None)
    while not finished.next_batch()[-1].last:
        pass
    assert [c.last for c in read(name, finished.snapshot())] == [True]
    assert [(c.source, c.last) for c in read(empty_name)] == [(str(empty), True)]


def test_stdin_says_when_it_has_ended() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"a": 1}\n')
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        part = StdinSource(stream=stream, max_wait_s=0.05).build_part("in", "stdin", None)
        chunks = part.next_batch() + part.next_batch()
        with pytest.raises(StopIteration):
            part.next_batch()
    assert [(c.source, c.last) for c in chunks] == [("stdin", False), ("stdin", True)]


def test_pacer_follows_event_time() -> None:
    now = [100.0]
    pacer = Pacer(speed=60, clock=lambda: now[0])
    assert pacer.due(0) == 0.0  # the first chunk sets the origin
    assert pacer.due(60_000) == pytest.approx(1.0)  # a minute of events = 1 s at 60x
    now[0] = 100.5
    assert pacer.due(60_000) == pytest.approx(0.5)
    assert pacer.due(None) == 0.0
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)


def test_paced_sleeps_between_chunks(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson"
    path.write_text(
        '{"sensor_id":"A","ts":"2026-03-01T00:00:00Z","pm25":1}\n'
        '{"sensor_id":"A","ts":"2026-03-01T00:10:00Z","pm25":1}\n'
    )
    chunks = list(iter_file_chunks(path, chunk_bytes=10))
    assert [last_timestamp_ms(c) for c in chunks] == [1772323200000, 1772323800000]
    slept: list[float] = []
    assert len(list(paced(chunks, speed=600, sleep=slept.append))) == 2
    assert len(slept) == 1 and 0.9 < slept[0] <= 1.0  # ten minutes at 600x: one second
    assert list(paced(chunks, None)) == chunks


def test_stream_chunks_from_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    lines = [f'{{"n":{i}}}'.encode() for i in range(1000)]

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as fh:
            for i in range(0, 1000, 100):
                fh.write(b"\n".join(lines[i : i + 100]) + b"\n")
                fh.flush()

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb") as stream:
        chunks = list(iter_stream_chunks(stream, max_wait_s=0.05))
    thread.join()
    assert lines_of(chunks) == list(enumerate(lines, start=1))


def test_a_stream_reads_on_past_a_line_longer_than_its_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a live stream (stdin kept open), a line longer than `max_bytes` stopped the reading
    for good: the reader spun without reading, and no later line ever came.  It now reads on
    to the line's end, and cuts a line past `MAX_LINE_BYTES` to its head, as for files."""
    from flows import sources

    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(sources, "LINE_HEAD_BYTES", 256)
    read_fd, write_fd = os.pipe()
    longer = b'{"n":2,"pad":"' + b"x" * 2000 + b'"}'  # past max_bytes, within MAX_LINE_BYTES
    longest = b'{"n":3,"pad":"' + b"y" * 20000 + b'"}'
    parts = [b'{"n":1}\n' + longer[:1500], longer[1500:] + b"\n" + longest[:5000],
             longest[5000:] + b'\n{"n":4}\n']  # fmt: skip
    release = threading.Event()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as fh:
            for part in parts:
                fh.write(part)
                fh.flush()
                time.sleep(0.2)
            release.wait(10)  # open until the reader has had every line

    got: list[RawChunk] = []

    def reader() -> None:
        with os.fdopen(read_fd, "rb") as stream:
            for chunk in iter_stream_chunks(stream, max_bytes=1024, max_wait_s=0.05):
                got.append(chunk)
                if b'{"n":4}' in chunk.data:
                    release.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader, daemon=True)]
    for thread in threads:
        thread.start()
    threads[1].join(15)
    release.set()
    threads[0].join()
    assert not threads[1].is_alive(), "the reader is stuck"
    assert lines_of(got) == [(1, b'{"n":1}'), (2, longer), (3, longest[:256]), (4, b'{"n":4}')]


def test_kafka_messages_become_one_chunk_with_offsets() -> None:
    msgs = [
        SimpleNamespace(value=f'{{"n":{i}}}'.encode(), topic="sensors", partition=3, offset=40 + i)
        for i in range(5)
    ]
    msgs.insert(2, SimpleNamespace(value=None, topic="sensors", partition=3, offset=42))
    chunk = messages_to_chunk(msgs)
    assert chunk is not None
    assert chunk.source == "kafka:sensors/3"
    assert chunk.positions is not None and chunk.positions.tolist() == [40, 41, 42, 43, 44]
    assert chunk.position(4) == 44
    assert messages_to_chunk([]) is None


@pytest.mark.skipif(
    not os.environ.get("CITYSIGNS_KAFKA_BROKERS"),
    reason="set CITYSIGNS_KAFKA_BROKERS=host:port to test against a Kafka broker",
)
def test_kafka_source_against_a_broker() -> None:  # pragma: no cover - needs a broker
    import uuid

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from flows.sources import KafkaChunkSource

    brokers = os.environ["CITYSIGNS_KAFKA_BROKERS"].split(",")
    topic = f"citysigns-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": ",".join(brokers)})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result()
    producer = Producer({"bootstrap.servers": ",".join(brokers)})
    for i in range(200):
        producer.produce(topic, f'{{"n":{i}}}'.encode(), partition=i % 2)
    producer.flush()
    out: list[RawChunk] = []
    flow = Dataflow("kafka")
    stream = op.input("in", flow, KafkaChunkSource(brokers, [topic], tail=False))
    op.output("out", stream, TestingSink(out))
    run_main(flow)
    values = sorted(int(line[5:-1]) for chunk in out for _, line in lines_of([chunk]))
    assert values == list(range(200))
    assert all(c.positions is not None and np.all(np.diff(c.positions) >= 0) for c in out)


def test_a_file_cut_while_being_read_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file cut back while the run reads it (rotated, overwritten) ended its input at the
    cut without a word; the run's summary simply counted fewer records."""
    path = tmp_path / "s.ndjson"
    write_lines(path, 200)
    size = path.stat().st_size
    chunks = iter_file_chunks(path, chunk_bytes=1000)
    first = next(chunks)
    os.truncate(path, len(first.data) + 10)
    rest = list(chunks)
    assert sum(len(c.data) for c in [first, *rest]) < size
    assert f"held {size:,} when the run opened it: it was cut while being read" in caplog.text


def test_a_line_longer_than_any_record_is_cut_to_its_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A JSON array exported on one line: a chunk was as long as its longest line, so a
    75 MB line took 1 GB to decode (a 1 GB export would run the worker out of memory, and
    again at every resume).  Past `MAX_LINE_BYTES` a line is cut to its head, the rest read
    past; the lines around it keep their numbers, and the resume state its offset."""
    from flows import sources

    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(sources, "LINE_HEAD_BYTES", 256)
    lines = write_lines(tmp_path / "x.ndjson", 40)
    long_line = b'[{"sensor_id":"AQ-310106-000001","pm25":1.5},' + b" " * 100_000 + b"]"
    path = tmp_path / "s.ndjson"
    for last in (b"\n", b""):  # the long line ends the file, with or without its newline
        body = [*lines[:20], long_line, *lines[20:]]
        path.write_bytes(b"\n".join(body) + b"\n" + long_line + last)
        with caplog.at_level("WARNING", logger="flows.sources"):
            got = list(sources._file_chunks(path, 0, None, None, 1000, None))
        numbered = lines_of([c for c, _ in got])
        assert numbered[:20] == list(enumerate(lines[:20], start=1))
        assert numbered[20] == (21, long_line[:256])
        assert numbered[21:-1] == list(enumerate(lines[20:], start=22))
        assert numbered[-1] == (42, long_line[:256])
        assert max(len(c.data) for c, _ in got) < 4096 + 1000
        offset, next_line, tail_len, digest = got[-1][1]
        assert (offset, next_line) == (path.stat().st_size, 43 if last else 42)
        assert digest == sources.tail_digest(path.read_bytes()[-tail_len:])
        assert f"s.ndjson:21: a line of {len(long_line) + 1:,} bytes" in caplog.text
        caplog.clear()


def test_a_stop_ends_stdin_after_its_whole_lines() -> None:
    """SIGINT / SIGTERM on a live run (`citysigns run -i -`) ends standard input after the
    whole lines that have arrived, with its end mark, so the flow ends as when the pipe
    closes; a line the writer had not finished is left unread, not a broken record."""
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"a": 1}\n{"a": 2}\n{"a": ')
    stop = threading.Event()
    with os.fdopen(read_end, "rb") as stream:
        part = StdinSource(stream=stream, max_wait_s=0.05, stop=stop).build_part(
            "in", "stdin", None
        )
        chunks = part.next_batch()  # the pipe stays open: a live writer
        stop.set()
        chunks += part.next_batch()
        with pytest.raises(StopIteration):
            part.next_batch()
    os.close(write_end)
    assert [(c.source, c.last) for c in chunks] == [("stdin", False), ("stdin", True)]
    assert chunks[0].data == b'{"a": 1}\n{"a": 2}\n'
