"""End-to-end throughput of the columnar path, against the per-event Bytewax way.

    python -m benchmarks.throughput [--sensors N] [--events N] [--runs N]

Measures, on synthetic FIWARE-style NDJSON air-quality readings (about 90 bytes a line) from
N distinct sensors:
- events_per_s: decode (NDJSON -> columnar batch, dead letters, masking), routing, 1-hour
  windows per sensor with rollups to district and city, window closing; one process, whose
  NDJSON parsing runs one chunk ahead in a thread as in the dataflow (and, alternating with
  it, events_per_s_parsing_in_turn: the same with each chunk parsed in turn);
- windows_only_events_per_s: the same without decoding (batches already columnar);
- naive_events_per_s: the same windows computed per event with Bytewax's key_on +
  TumblingWindower + fold_window, and the ratio of the two;
- state_bytes_per_series: window state per series at 10^7 series;
- scaling: aggregate events/s of 2 processes, each owning half of the sensors, against 1.
Prints one JSON object as its last line and writes benchmarks/results/throughput.json.
Figures are medians of `--runs` runs."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
T0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())
LINES_PER_CHUNK = 200_000


def make_lines(ids: list[str], n_events: int, seed: int) -> list[bytes]:
    """n_events readings spread over 2 hours (so windows close), sensors in random order."""
    rng = np.random.default_rng(seed)
    sensor = rng.integers(0, len(ids), n_events)
    offs = np.sort(rng.integers(0, 7200, n_events))
    pm = np.round(rng.gamma(4.0, 10.0, n_events), 1)
    stamps = [
        (datetime.fromtimestamp(T0 + int(o), UTC) + timedelta(hours=8)).strftime(
            "%Y-%m-%dT%H:%M:%S+08:00"
        )
        for o in range(7200)
    ]
    return [
        f'{{"sensor_id":"{ids[s]}","ts":"{stamps[o]}","pm25":{v}}}\n'.encode()
        for s, o, v in zip(sensor.tolist(), offs.tolist(), pm.tolist(), strict=True)
    ]


def setup(n_sensors: int) -> tuple[Any, Any, Any]:
    from flows.city import generate_registry, load_city
    from flows.plan import compile_plan
    from indicators.language.model import Indicator

    city = load_city()
    registry = generate_registry(city, n_sensors, seed=7, kinds=["air_quality"])
    indicator = Indicator.model_validate(
        {
            "id": "bench.pm25", "title": {"zh": "PM2.5", "en": "PM2.5"}, "category": "air",
            "unit": "ug/m3", "owner": "env", "source": {"kind": "air_quality"},
            "value": {"field": "pm25", "aggregate": "mean",
                      "window": {"length": "1h", "lateness": "5m"},
                      "levels": ["sensor", "district", "city"]},
            "detection": {"detectors": [{"type": "threshold", "upper": 75}],
                          "warnings": {"on": "value", "levels": {"blue": {"threshold": 75}}}},
        }
    )  # fmt: skip
    plan = compile_plan([indicator], city, registry).plans[0]
    return city, registry, plan


def run_columnar(
    registry: Any, plan: Any, chunks: list[bytes], ahead: bool = True
) -> tuple[float, int, int]:
    """Seconds for decode + route + windows + close over all chunks; events; windows.

    With `ahead` (what the dataflow does) each chunk's NDJSON is parsed in a background
    thread while the previous chunk is decoded and windowed; without it, in turn."""
    from flows.decode.ahead import decode_ahead
    from flows.decode.chunks import RawChunk
    from flows.decode.sensors import SensorDecoder
    from flows.runtime import IndicatorRuntime

    decoder = SensorDecoder(registry)
    runtime = IndicatorRuntime(plan, n_partitions=1)
    kind = np.asarray(registry.kind, dtype=np.int64)
    events = windows = 0

    def raw_chunks() -> Iterator[RawChunk]:
        line = 1
        for data in chunks:
            yield RawChunk("bench", line, data)
            line += data.count(b"\n")

    t = time.perf_counter()
    decoded = (
        decode_ahead(decoder, raw_chunks())
        if ahead
        else ((c, *decoder.decode(c)) for c in raw_chunks())
    )
    for _chunk, batch, _dead in decoded:
        routed = plan.route_sensors(batch, kind)
        events += len(routed)
        hi = int(batch.ts.max()) if len(batch) else None
        step = runtime.on_batch(routed, "bench", hi, finished=False)
        windows += sum(len(c) for c in step.closed)
    windows += sum(len(c) for c in runtime.on_eof().closed)
    return time.perf_counter() - t, events, windows


def run_windows_only(registry: Any, plan: Any, n_events: int) -> float:
    """Events/s of routing + windows + rollups + closing on already decoded batches."""
    from flows.decode.batches import SensorBatch
    from flows.decode.fields import field_id, sensor_fields
    from flows.runtime import IndicatorRuntime

    rng = np.random.default_rng(2)
    sensor = rng.integers(0, len(registry), n_events)
    ts = (T0 + np.sort(rng.integers(0, 7200, n_events))) * 1000
    value = rng.gamma(4.0, 10.0, n_events)
    fid = np.full(n_events, field_id("pm25"))
    step = LINES_PER_CHUNK
    batches = [
        SensorBatch.build(sensor[i : i + step], ts[i : i + step], fid[i : i + step],
                          value[i : i + step], len(sensor_fields()), grouped=True)
        for i in range(0, n_events, step)
    ]  # fmt: skip
    kind = np.asarray(registry.kind, dtype=np.int64)
    runtime = IndicatorRuntime(plan, n_partitions=1)
    t = time.perf_counter()
    for b in batches:
        runtime.on_batch(plan.route_sensors(b, kind), "bench", int(b.ts.max()), False)
    runtime.on_eof()
    return n_events / (time.perf_counter() - t)


def run_naive(lines: list[bytes]) -> float:
    """Events/s of the per-event Bytewax flow computing the same 1-hour means per sensor."""
    import bytewax.operators as op
    import bytewax.operators.windowing as win
    from bytewax.dataflow import Dataflow
    from bytewax.testing import TestingSink, TestingSource, run_main

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    flow = Dataflow("naive")
    src = op.input("in", flow, TestingSource(lines, batch_size=10_000))
    parsed = op.map("parse", src, json.loads)
    keyed = op.key_on("key", parsed, lambda r: r["sensor_id"])
    clock: Any = win.EventClock(
        lambda r: datetime.fromisoformat(r["ts"]),
        wait_for_system_duration=timedelta(minutes=5),
        now_getter=lambda: epoch,
        to_system_utc=lambda _t: None,
    )
    wo = win.fold_window(
        "mean", keyed, clock, win.TumblingWindower(timedelta(hours=1), epoch),
        lambda: (0, 0.0), lambda a, r: (a[0] + 1, a[1] + r["pm25"]),
        lambda a, b: (a[0] + b[0], a[1] + b[1]),
    )  # fmt: skip
    out: list[Any] = []
    op.output("out", wo.down, TestingSink(out))
    t = time.perf_counter()
    run_main(flow)
    return len(lines) / (time.perf_counter() - t)


def state_bytes_per_series(n_series: int) -> float:
    from flows.windows import IndicatorWindows, WindowSpec

    w = IndicatorWindows(
        "s", "mean", WindowSpec(3600, 3600, 300), ["sensor"], {"sensor": n_series}, {}, None
    )
    area = np.arange(n_series, dtype=np.int64)
    w.add(area, np.full(n_series, T0 * 1000), np.ones(n_series))
    snap = w.snapshot()
    total = 0
    for pane in snap["panes"].values():  # type: ignore[union-attr]
        total += sum(a.nbytes for a in pane.values() if isinstance(a, np.ndarray))
    total += sum(a.nbytes for a in w.seen.values()) + sum(a.nbytes for a in w.silent.values())
    return total / n_series


def _worker(args: tuple[int, int, int, int]) -> tuple[float, int]:
    n_sensors, n_events, part, parts = args
    _city, registry, plan = setup(n_sensors)
    ids = registry.ids()[part::parts]
    lines = make_lines(ids, n_events // parts, seed=part)
    chunks = [
        b"".join(lines[i : i + LINES_PER_CHUNK]) for i in range(0, len(lines), LINES_PER_CHUNK)
    ]
    secs, events, _ = run_columnar(registry, plan, chunks)
    return secs, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=4_000_000)
    ap.add_argument("--naive-events", type=int, default=200_000)
    ap.add_argument("--state-series", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "throughput.json")
    args = ap.parse_args()

    _city, registry, plan = setup(args.sensors)
    ids = registry.ids()
    lines = make_lines(ids, args.events, seed=1)
    chunks = [
        b"".join(lines[i : i + LINES_PER_CHUNK]) for i in range(0, len(lines), LINES_PER_CHUNK)
    ]
    rates, serial, windows = [], [], 0
    for _ in range(args.runs):  # alternating, so both see the same machine
        secs, events, windows = run_columnar(registry, plan, chunks)
        rates.append(events / secs)
        print(f"columnar: {events:,} events in {secs:.2f} s = {events / secs:,.0f}/s", flush=True)
        secs, events, _ = run_columnar(registry, plan, chunks, ahead=False)
        serial.append(events / secs)
        print(f"  parsing in turn: {events / secs:,.0f}/s", flush=True)
    windows_only = [run_windows_only(registry, plan, args.events) for _ in range(args.runs)]
    print(f"windows only: {statistics.median(windows_only):,.0f}/s", flush=True)
    naive = [run_naive(lines[: args.naive_events]) for _ in range(args.runs)]
    print(f"naive per-event bytewax: {statistics.median(naive):,.0f}/s", flush=True)
    with mp.get_context("spawn").Pool(2) as pool:
        two = []
        for _ in range(args.runs):
            t = time.perf_counter()
            res = pool.map(_worker, [(args.sensors, args.events, p, 2) for p in range(2)])
            wall = time.perf_counter() - t
            busy = max(s for s, _ in res)
            two.append(sum(e for _, e in res) / busy)
            print(f"2 processes: {sum(e for _, e in res):,} events, slowest {busy:.2f} s "
                  f"(wall {wall:.1f} s incl. set-up)", flush=True)  # fmt: skip
    result = {
        "sensors": args.sensors,
        "events": args.events,
        "windows_per_run": windows,
        "events_per_s": round(statistics.median(rates)),
        "events_per_s_parsing_in_turn": round(statistics.median(serial)),
        "windows_only_events_per_s": round(statistics.median(windows_only)),
        "naive_events_per_s": round(statistics.median(naive)),
        "ratio": round(statistics.median(rates) / statistics.median(naive), 1),
        "state_bytes_per_series": round(state_bytes_per_series(args.state_series), 1),
        "state_series": args.state_series,
        "events_per_s_2_processes": round(statistics.median(two)),
        "scaling_2_vs_1": round(statistics.median(two) / statistics.median(rates), 2),
        "runs": args.runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
