"""Benchmark of the sensor registry: generation, batch lookup, save/load, locate.

    python -m flows.city.benchmark [--sizes 1000000 10000000] [--out results.json]

Prints one line per figure and, with --out, writes them as JSON.  Timings are the best of
--repeat runs; memory is the peak traced by tracemalloc during generation (numpy reports its
buffers to it)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .model import load_city
from .registry import SensorRegistry, generate_registry

LOOKUPS = 1_000_000


def best_of(repeat: int, fn: Callable[..., Any], *args: Any) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def run(sizes: list[int], repeat: int) -> dict[str, Any]:
    city = load_city()
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "numpy": np.__version__},
        "communities": len(city),
        "registry": [],
    }  # fmt: skip
    for n in sizes:
        tracemalloc.start()
        t0 = time.perf_counter()
        reg = generate_registry(city, n, seed=1)
        gen_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        build_s = best_of(1, reg.lookup, reg.sensor_id[:1])  # the first lookup builds the index
        rows = rng.integers(0, n, LOOKUPS)
        as_bytes = reg.sensor_id[rows]
        as_str = as_bytes.astype(str)
        as_list = as_str.tolist()
        assert np.array_equal(reg.lookup(as_str), rows)
        unknown = np.char.add(as_bytes, b"9")
        entry = {
            "sensors": n,
            "generate_s": round(gen_s, 3),
            "generate_peak_mb": round(peak / 1e6, 1),
            "index_build_s": round(build_s, 3),
            "lookup_1e6_bytes_s": round(best_of(repeat, reg.lookup, as_bytes), 3),
            "lookup_1e6_str_s": round(best_of(repeat, reg.lookup, as_str), 3),
            "lookup_1e6_list_s": round(best_of(repeat, reg.lookup, as_list), 3),
            "lookup_1e6_unknown_s": round(best_of(repeat, reg.lookup, unknown), 3),
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "registry.npz"
            entry["save_s"] = round(best_of(1, reg.save, path), 3)
            entry["file_mb"] = round(path.stat().st_size / 1e6, 1)
            entry["load_s"] = round(best_of(repeat, SensorRegistry.load, path), 3)
        results["registry"].append(entry)
        print(json.dumps(entry))
        del reg, as_bytes, as_str, as_list, unknown
    lat = rng.uniform(30.7, 31.9, LOOKUPS)
    lon = rng.uniform(120.9, 122.0, LOOKUPS)
    city.locate(lat[:10], lon[:10])  # builds the tree
    results["locate_1e6_s"] = round(best_of(repeat, city.locate, lat, lon), 3)
    print(json.dumps({"locate_1e6_s": results["locate_1e6_s"]}))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    results = run(args.sizes, args.repeat)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1), "utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
