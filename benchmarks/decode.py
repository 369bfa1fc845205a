"""Decode throughput: NDJSON sensor readings -> SensorBatch, records/s and events/s.

Synthetic records like the simulator's (~90 bytes: a sensor id of the generated registry, an
ISO timestamp with +08:00, one or two fields of the sensor's kind), in time order like a live
stream: every sensor reports once per `--step` seconds.  The whole file is cut in chunks as
the file source cuts it, and each chunk goes through the full decoder (parse, timestamps,
registry lookup, kind/field checks, stream-time check, duplicate check, long format).

    .venv/bin/python benchmarks/decode.py [--records 1000000] [--sensors 200000]
        [--chunk-bytes 4000000] [--bad-share 0.1] [--input FILE]
        [--out benchmarks/results/decode.json]

`--bad-share P` plants impossible readings, as a faulty fleet sends them: about a share P of
all values is replaced by one beyond its field's physical range in sensor_kinds.yaml (pm25
-37.9, an occupancy of 12.3), so that those records are refused as bad_value.  That measures
the dead-letter path; without it (the default) every record is good, as before.

With `--input`, an existing NDJSON file of sensor readings is decoded instead, against the
shipped default registry (the simulator's sensors.ndjson, say) or, with `--registry
generated`, the one generated with --sensors/--seed.
Prints one JSON line and writes it to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from flows.city.model import load_city
from flows.city.registry import SensorRegistry, generate_registry, load_default_registry
from flows.decode.fields import field_ranges, sensor_fields
from flows.decode.sensors import SensorDecoder
from flows.sources import iter_file_chunks
from indicators.language import registry as lang_registry


def synthesize(
    registry: SensorRegistry,
    records: int,
    step_s: int,
    seed: int,
    shape: str = "fiware",
    bad_share: float = 0.0,
    planted: list[int] | None = None,
) -> bytes:
    """NDJSON readings in time order: each tick, every sensor (in random order) reports.

    shape "fiware": one or two fields of the sensor's kind by name; "flat": metric + value.
    `bad_share`: the share of all values replaced by one beyond its field's physical range
    (below the least value, else above the greatest), planted only in fields that have a
    range, each with the probability that makes that share; drawn from a generator of their
    own, so the other values are those of a clean run.  `planted` gets [values, planted].
    """
    rng = np.random.default_rng(seed)
    planting = np.random.default_rng(seed + 1)
    kinds = lang_registry.kinds()
    numeric = {
        k: [f for f, spec in kinds[k].fields.items() if spec.type in ("number", "integer")]
        for k in registry.kinds
    }
    # values within each field's physical range (sensor_kinds.yaml min / max): 0-100, or the
    # range itself where it is narrower (a share, pH), so no reading is refused as impossible
    top = {
        f: min(100.0, spec.maximum if spec.maximum is not None else 100.0)
        for k in registry.kinds
        for f, spec in kinds[k].fields.items()
    }
    least, greatest = field_ranges()
    field_index = {name: f for f, name in enumerate(sensor_fields())}
    ranged = {
        n for n, f in field_index.items() if np.isfinite(least[f]) or np.isfinite(greatest[f])
    }

    def chosen_fields(row: int) -> list[str]:
        fields = numeric[registry.kinds[int(registry.kind[row])]]
        return fields[: 1 + (row % 2)] if len(fields) > 1 and shape != "flat" else fields[:1]

    chance = 0.0
    if bad_share:  # every sensor reports once a tick: the share of values that have a range
        per_tick = [chosen_fields(row) for row in range(len(registry.kind))]
        values_n = sum(len(c) for c in per_tick)
        ranged_n = sum(f in ranged for c in per_tick for f in c)
        chance = bad_share * values_n / max(ranged_n, 1)
        if chance > 1:
            raise ValueError(
                f"--bad-share at most {ranged_n / values_n:.3f}: the share of ranged values"
            )
    counts = [0, 0]

    def value(name: str) -> str:
        drawn = rng.uniform(0, top[name])
        counts[0] += 1
        if chance and name in ranged and planting.random() < chance:
            counts[1] += 1
            f = field_index[name]
            if np.isfinite(least[f]):
                return f"{least[f] - planting.uniform(0.1, 100):.1f}"
            return f"{greatest[f] + planting.uniform(0.1, 100):.1f}"
        return f"{drawn:.1f}"

    ids = registry.ids()
    lines: list[str] = []
    start = 1_772_294_400  # 2026-03-01T00:00:00+08:00 as epoch seconds, UTC
    tick = 0
    while len(lines) < records:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(start + 8 * 3600 + tick))
        for row in rng.permutation(len(ids))[: records - len(lines)].tolist():
            chosen = chosen_fields(row)
            if shape == "flat":
                values = f'"metric":"{chosen[0]}","value":{value(chosen[0])}'
            else:
                values = ",".join(f'"{f}":{value(f)}' for f in chosen)
            lines.append(f'{{"sensor_id":"{ids[row]}","ts":"{stamp}",{values}}}')
        tick += step_s
    if planted is not None:
        planted[:] = counts
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--sensors", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--step", type=int, default=60, help="seconds between a sensor's readings")
    ap.add_argument("--shape", choices=("fiware", "flat"), default="fiware")
    ap.add_argument("--chunk-bytes", type=int, default=4_000_000)
    ap.add_argument(
        "--bad-share",
        type=float,
        default=0.0,
        help="share of values planted beyond their field's physical range (dead letters)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="best of N passes")
    ap.add_argument("--input", type=Path, help="decode this NDJSON file instead")
    ap.add_argument("--registry", choices=("generated", "default"), default=None)
    ap.add_argument("--out", type=Path, default=None, help="default benchmarks/results/decode.json")
    args = ap.parse_args(argv)

    which = args.registry or ("default" if args.input else "generated")
    if which == "default":
        registry = load_default_registry()
    else:
        registry = generate_registry(load_city(), args.sensors, args.seed)
    planted = [0, 0]
    if args.input:
        path = args.input
    else:
        tmp = Path(os.environ.get("TMPDIR", "/tmp"))
        path = tmp / f"citysigns-decode-{args.shape}-{args.records}-{os.getpid()}.ndjson"
        data = synthesize(
            registry, args.records, args.step, args.seed, args.shape, args.bad_share, planted
        )
        path.write_bytes(data)
    size = path.stat().st_size
    chunks = list(iter_file_chunks(path, chunk_bytes=args.chunk_bytes))
    best = float("inf")
    records = events = dead = 0
    for _ in range(args.repeat):
        decoder = SensorDecoder(registry)
        t0 = time.perf_counter()
        events = dead = 0
        for chunk in chunks:
            batch, letters = decoder.decode(chunk)
            events += len(batch)
            dead += len(letters)
        best = min(best, time.perf_counter() - t0)
        records = decoder.stats.records
    result = {
        "benchmark": "decode",
        "input": str(args.input) if args.input else f"synthetic {args.shape}",
        "records": records,
        "events": events,
        "dead_letters": dead,
        "bad_share": args.bad_share,
        "values_planted_out_of_range": planted[1],
        "values": planted[0],
        "bytes_per_record": round(size / max(records, 1), 1),
        "chunks": len(chunks),
        "chunk_bytes": args.chunk_bytes,
        "sensors": len(registry),
        "fields": len(sensor_fields()),
        "seconds": round(best, 4),
        "records_per_s": round(records / best),
        "events_per_s": round(events / best),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    line = json.dumps(result)
    print(line)
    out = args.out or Path(__file__).resolve().parent / "results" / "decode.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(line + "\n")
    if not args.input:
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
