"""The decoder's shortcuts give the same answers as the plain ways they replace.

Each fast path (a table of dense id blocks, duplicate checks limited to sensors met twice,
timestamps parsed once per run of equal stamps, a vocabulary learned from a sample) is checked
here against a slow, obvious model of the same thing, on inputs chosen to hit both the
shortcut and its fallback.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.city.ids import IdIndex
from flows.decode import SensorDecoder, SensorLastSeen, chunk_of_lines
from flows.decode import frames as frames_module
from flows.decode.dedupe import maybe_repeats
from flows.decode.timestamps import parse_iso_ms, parse_scalar

PATTERN = "AA-DDDDDD-DDDDDD"


# ---------------------------------------------------------------- id lookup
def _index_and_dict(ids: list[str]) -> tuple[IdIndex, dict[str, int]]:
    return IdIndex(np.array([i.encode() for i in ids], dtype="S16"), PATTERN), {
        v: r for r, v in enumerate(ids)
    }


def _queries(ids: list[str], rng: np.random.Generator) -> list[str]:
    made = [f"AQ-{310100 + int(rng.integers(0, 8)):06d}-{int(rng.integers(0, 400)):06d}"]
    made += [f"WS-{int(rng.integers(0, 10**6)):06d}-{int(rng.integers(0, 10**6)):06d}"]
    odd = ["", "AQ-310101-00000", "AQ-310101-0000011", "aq-310101-000001", "AQ-31010X-000001"]
    return ids + made * 20 + odd + ["AQ-310101-00000é"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["dense", "gaps", "sparse"]))
def test_id_lookup_matches_a_dict(seed: int, layout: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    if layout == "dense":  # serials numbered from 1 in a few areas
        areas = rng.choice(np.arange(310100, 310108), size=n)
        ids = [f"AQ-{a:06d}-{s:06d}" for s, a in enumerate(areas.tolist(), start=1)]
    elif layout == "gaps":  # every other serial missing
        ids = [f"AQ-310101-{2 * s:06d}" for s in range(n)]
    else:  # random numbers: no dense blocks, the binary search answers
        keys = {
            (int(rng.integers(0, 26)), int(rng.integers(0, 10**6)), int(rng.integers(0, 10**6)))
            for _ in range(n)
        }
        ids = [f"W{chr(65 + a)}-{b:06d}-{c:06d}" for a, b, c in keys]
    rng.shuffle(ids)
    index, rows = _index_and_dict(ids)
    if layout != "sparse":
        assert index.uses_table
    queries = _queries(ids, rng)
    want = [rows.get(q, -1) for q in queries]
    assert index.lookup(queries).tolist() == want
    assert index.lookup(np.array(queries)).tolist() == want
    ascii_queries = [q for q in queries if q.isascii()]
    as_bytes = np.array([q.encode() for q in ascii_queries])  # S17: the long one stays long
    assert index.lookup(as_bytes).tolist() == [rows.get(q, -1) for q in ascii_queries]


def test_sparse_ids_keep_the_search() -> None:
    rng = np.random.default_rng(11)
    numbers = rng.choice(10**12, size=3000, replace=False)
    ids = [f"ZZ-{n // 10**6:06d}-{n % 10**6:06d}" for n in numbers.tolist()]
    index, rows = _index_and_dict(ids)
    assert index.searches_integers and not index.uses_table  # a table would be mostly holes
    queries = ids[:50] + [f"ZZ-{n // 10**6:06d}-{n % 10**6 + 1:06d}" for n in numbers[:50]]
    assert index.lookup(queries).tolist() == [rows.get(q, -1) for q in queries]


# ---------------------------------------------------------------- sensor duplicates
def _model_batch(
    state: dict[int, tuple[int, set[int]]], events: list[tuple[int, int, int]]
) -> list[bool]:
    """The duplicate rule, slowly: a repeat inside the batch, or of the sensor's last reading
    as it stood before the batch; the fresh events then move each sensor on."""
    fresh, met = [], set()
    for e in events:
        s, f, t = e
        last, fields = state.get(s, (None, set()))
        fresh.append(e not in met and not (t == last and f in fields))
        met.add(e)
    for (s, f, t), ok in zip(events, fresh, strict=True):
        if not ok:
            continue
        last, fields = state.get(s, (None, set()))
        if last is None or t > last:
            state[s] = (t, {f})
        elif t == last:
            fields.add(f)
    return fresh


events_strategy = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 3), st.integers(0, 3)), max_size=50
)


@settings(max_examples=150, deadline=None)
@given(st.lists(events_strategy, min_size=1, max_size=5))
def test_last_seen_matches_the_model(batches: list[list[tuple[int, int, int]]]) -> None:
    seen = SensorLastSeen()
    state: dict[int, tuple[int, set[int]]] = {}
    for events in batches:
        arr = np.array(events, dtype=np.int64).reshape(-1, 3)
        got = seen.first_seen(arr[:, 0], arr[:, 1].astype(np.int16), arr[:, 2])
        assert got.tolist() == _model_batch(state, events)
    for s, (last, fields) in state.items():
        assert int(seen.last_ts[s]) == last
        assert int(seen.fields_at_last[s]) == sum(1 << f for f in fields)


def test_last_seen_big_batch_of_mostly_distinct_sensors() -> None:
    rng = np.random.default_rng(5)
    sensor = rng.integers(0, 100_000, 20_000)
    ts = np.sort(rng.integers(0, 50, 20_000))
    field_id = rng.integers(0, 2, 20_000).astype(np.int16)
    seen = SensorLastSeen()
    state: dict[int, tuple[int, set[int]]] = {}
    events = list(zip(sensor.tolist(), field_id.tolist(), ts.tolist(), strict=True))
    for lo in range(0, 20_000, 5_000):
        got = seen.first_seen(
            sensor[lo : lo + 5_000], field_id[lo : lo + 5_000], ts[lo : lo + 5_000]
        )
        assert got.tolist() == _model_batch(state, events[lo : lo + 5_000])
    # the last batch delivered twice: only readings older than their sensor's latest get in
    again = seen.first_seen(sensor[-5_000:], field_id[-5_000:], ts[-5_000:])
    assert again.tolist() == _model_batch(state, events[-5_000:])
    assert 0 < int(again.sum()) < 500


# ---------------------------------------------------------------- timestamps in runs
STAMPS = [
    "2026-03-01T14:05:00+08:00",
    "2026-03-01T14:05:01+08:00",
    "2026-02-30T14:05:01+08:00",  # no such day
    "2026-03-01T14:05:02+00:00",
    "2026-03-01T14:05:02+0X:00",  # same width, not a timestamp
    "2026-03-01T14:05:03-05:30",
]


def _scalar(values: list[str]) -> tuple[list[int], list[int]]:
    pairs = [parse_scalar(v) for v in values]
    return [ms for ms, _ in pairs], [status for _, status in pairs]


@pytest.mark.parametrize("run", [1, 3, 500])
def test_runs_of_equal_stamps_parse_like_each_stamp(run: int) -> None:
    rng = np.random.default_rng(run)
    values = [STAMPS[int(i)] for i in np.repeat(rng.integers(0, len(STAMPS), 40), run)]
    ms, status = parse_iso_ms(values)
    want_ms, want_status = _scalar(values)
    assert status.tolist() == want_status
    assert [m if s == 0 else 0 for m, s in zip(want_ms, want_status, strict=True)] == ms.tolist()


def test_runs_in_a_polars_column() -> None:
    values = ["2026-03-01T14:05:00Z"] * 300 + ["2026-03-01T14:05:00.250Z"] * 300
    ms, status = parse_iso_ms(pl.Series(values))
    start = int(datetime.fromisoformat("2026-03-01T14:05:00+00:00").timestamp() * 1000)
    assert not status.any()
    assert ms.tolist() == [start] * 300 + [start + 250] * 300


# ---------------------------------------------------------------- first chunk read once
def test_a_new_stream_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Registry:
        kinds = ("air_quality",)
        kind = np.zeros(2, dtype=np.int8)

        def lookup(self, ids: np.ndarray) -> np.ndarray:
            table = {"AQ-310106-000001": 0, "AQ-310106-000002": 1}
            return np.array(
                [table.get(v.decode() if isinstance(v, bytes) else str(v), -1) for v in ids]
            )

    calls: list[int] = []
    real = pl.read_ndjson

    def counting(*args: object, **kwargs: object) -> pl.DataFrame:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(frames_module.pl, "read_ndjson", counting)
    lines = [
        json.dumps({"sensor_id": f"AQ-310106-00000{1 + i % 2}", "ts": "2026-03-01T14:05:00Z",
                    "pm25": float(i), "pm10": 2.0}).encode()
        for i in range(2)
    ]  # fmt: skip
    batch, letters = SensorDecoder(Registry()).decode(chunk_of_lines("in", lines))
    assert len(calls) == 1
    assert len(batch) == 4 and len(letters) == 0


@settings(max_examples=100, deadline=None)
@given(events_strategy)
def test_the_hash_prefilter_never_misses_a_repeat(events: list[tuple[int, int, int]]) -> None:
    arr = np.array(events, dtype=np.int64).reshape(-1, 3)
    covered = maybe_repeats(arr[:, 0], arr[:, 1].astype(np.int16), arr[:, 2])
    counts = Counter(events)
    assert all(covered[i] for i, e in enumerate(events) if counts[e] > 1)
