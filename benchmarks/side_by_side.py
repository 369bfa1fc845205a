"""Our detectors against river's and pysad's, on one synthetic many-series stream and on NAB.

    python -m benchmarks.side_by_side --nab ../shared/data/nab-dev

* synthetic: hourly windows, a daily cycle, noise, and injected spikes, level shifts and
  variance changes (fixed seed).  F1 is event-level at each detector's best threshold: an
  event counts as found when a row in its first RESPONSE rows alarms; a false alarm is a run
  of consecutive alarm rows outside every event (a spike's event is its first RESPONSE rows;
  a level shift or variance change lasts to the end), so precision = found / (found + false
  runs).  Counting episodes on both sides keeps a detector that alarms once per event from
  looking worse than one that alarms on every row of it.  Points/s is wall time over all
  rows.
* NAB: the normalised standard-profile score on the given corpus, same scorer as
  benchmarks.nab.
* speed: the default ensemble over 10,000 series at once (one row per series per batch).

river and pysad are optional (`pip install citysigns[bench]`); a missing one is reported and
skipped.  Results go to benchmarks/results/side_by_side.json and a Markdown table is printed."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indicators.detectors import DEFAULT_DETECTOR, build
from indicators.language.detection import (
    DetectorConfig,
    EwmaDetector,
    SeasonalDetector,
    SpotDetector,
)

from .nab_data import NabFile, load_corpus
from .nab_scoring import PROFILES, score_corpus

RESPONSE = 24  # rows after an onset within which a detection counts
HOUR = 3600
RESULTS = Path(__file__).resolve().parent / "results"

OURS: dict[str, DetectorConfig] = {
    "citysigns default ensemble": DEFAULT_DETECTOR,
    "citysigns ewma": EwmaDetector(type="ewma", halflife=64, warmup=50),
    "citysigns seasonal (day)": SeasonalDetector(type="seasonal", period="day", slot=3600),
    "citysigns dspot": SpotDetector(type="spot", depth=24, direction="both"),
}


@dataclass(frozen=True)
class Synthetic:
    values: np.ndarray  # (n_series, n_rows)
    t: np.ndarray  # (n_rows,)
    events: list[tuple[int, int, int]]  # (series, onset row, rows it lasts)


def synthetic(n_series: int, n_rows: int, seed: int) -> Synthetic:
    """Daily cycle + noise; each series gets one anomaly of a random kind after row 60%."""
    rng = np.random.default_rng(seed)
    i = np.arange(n_rows)
    level = rng.uniform(20, 200, n_series)[:, None]
    amp = rng.uniform(0.05, 0.3, n_series)[:, None] * level
    sd = rng.uniform(0.01, 0.05, n_series)[:, None] * level
    phase = rng.uniform(0, 2 * np.pi, n_series)[:, None]
    values = (
        level + amp * np.sin(2 * np.pi * i / 24 + phase) + rng.normal(0, 1, (n_series, n_rows)) * sd
    )
    events: list[tuple[int, int, int]] = []
    for s in range(n_series):
        onset = int(rng.integers(int(0.6 * n_rows), n_rows - 2 * RESPONSE))
        kind = rng.integers(3)
        if kind == 0:  # spike
            values[s, onset] += rng.choice([-1, 1]) * rng.uniform(5, 10) * sd[s, 0]
            events.append((s, onset, 1))
        elif kind == 1:  # level shift
            values[s, onset:] += rng.choice([-1, 1]) * rng.uniform(3, 6) * sd[s, 0]
            events.append((s, onset, n_rows - onset))  # it lasts to the end
        else:  # variance change
            extra = rng.normal(0, 1, n_rows - onset) * sd[s, 0] * rng.uniform(3, 5)
            values[s, onset:] += extra
            events.append((s, onset, n_rows - onset))
    return Synthetic(values, 1_700_000_000 + i * HOUR, events)


def best_f1(scores: np.ndarray, data: Synthetic) -> tuple[float, float]:
    """Event-level F1 at the best threshold (thresholds at score quantiles), and that threshold."""
    _n_series, n_rows = scores.shape
    inside = np.zeros_like(scores, dtype=bool)
    for s, onset, span in data.events:
        inside[s, onset : onset + max(span, RESPONSE)] = True
    warm = np.zeros_like(inside)
    warm[:, int(0.15 * n_rows) :] = True  # like NAB's probation: warm-up rows do not count
    candidates = np.unique(np.quantile(scores[warm], np.linspace(0.9, 1.0, 201)))
    best = (0.0, 1.0)
    for thr in candidates:
        alarm = (scores >= thr) & warm
        if not alarm.any():
            continue
        found = sum(alarm[s, o : o + RESPONSE].any() for s, o, _ in data.events)
        recall = found / len(data.events)
        false = alarm & ~inside
        false_runs = false[:, 0].sum() + (false[:, 1:] & ~false[:, :-1]).sum()
        precision = found / (found + false_runs) if found + false_runs else 0.0
        f1 = 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)
        if f1 > best[0]:
            best = (float(f1), float(thr))
    return best


# -- per-event peers ------------------------------------------------------------------------
PeerFactory = Callable[[], Callable[[float], float]]


def _river_hst() -> Callable[[float], float]:
    from river import anomaly, preprocessing

    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42)

    def step(x: float) -> float:
        s = float(model.score_one({"x": x}))
        model.learn_one({"x": x})
        return s

    return step


def _river_gaussian() -> Callable[[float], float]:
    from river import anomaly

    model = anomaly.GaussianScorer(window_size=250, grace_period=50)

    def step(x: float) -> float:
        try:
            s = float(model.score_one(None, x))
        except TypeError:  # river's running variance goes slightly negative on flat data
            s = 0.0
        model.learn_one(None, x)
        return s

    return step


def _pysad(name: str) -> PeerFactory:
    def factory() -> Callable[[float], float]:
        from pysad import models

        model = getattr(models, name)()

        def step(x: float) -> float:
            s = float(model.fit_score_partial(np.array([x])))
            s = 0.0 if not np.isfinite(s) else abs(s)
            return s / (1.0 + s)  # NAB wants [0, 1]; any monotone map keeps the ranking

        return step

    return factory


PEERS: dict[str, PeerFactory] = {
    "river HalfSpaceTrees": _river_hst,
    "river GaussianScorer": _river_gaussian,
    "pysad StandardAbsoluteDeviation": _pysad("StandardAbsoluteDeviation"),
    "pysad MedianAbsoluteDeviation": _pysad("MedianAbsoluteDeviation"),
}


def run_peer(factory: PeerFactory, rows: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """One peer object per series, fed value by value."""
    out: list[np.ndarray] = []
    start = time.perf_counter()
    for values in rows:
        step = factory()
        out.append(np.array([step(float(v)) for v in values]))
    return out, time.perf_counter() - start


def run_ours(config: DetectorConfig, data: Synthetic) -> tuple[np.ndarray, float]:
    n_series, n_rows = data.values.shape
    series = np.tile(np.arange(n_series), n_rows)
    t = np.repeat(data.t, n_series)
    det = build(config)
    start = time.perf_counter()
    score = det.learn_score(series, t, data.values.T.ravel()).score
    return score.reshape(n_rows, n_series).T, time.perf_counter() - start


def nab_score(files: list[NabFile], scores: list[np.ndarray]) -> float:
    return round(score_corpus([f.labels for f in files], scores, PROFILES[0]).normalised, 2)


def speed(n_series: int, n_rows: int, seed: int) -> dict[str, float]:
    """Points/s of the default ensemble with many series at once, one row each per batch.

    Timed twice on the same detector: the first `n_rows` rows from fresh (every series is
    young, so every tail is Student's t, the dearest part), then `n_rows` more once the series
    are past that warm-up (a city's series run for months: the steady state)."""
    data = synthetic(n_series, 2 * n_rows, seed)
    det = build(DEFAULT_DETECTOR)
    series = np.arange(n_series)

    def timed(rows: range) -> float:
        start = time.perf_counter()
        for r in rows:
            det.learn_score(series, np.full(n_series, data.t[r]), data.values[:, r])
        return time.perf_counter() - start

    fresh = timed(range(n_rows))
    steady = timed(range(n_rows, 2 * n_rows))
    return {
        "series": n_series,
        "rows_per_series": n_rows,
        "seconds": round(fresh, 3),
        "points_per_second": round(n_series * n_rows / fresh),
        "steady_seconds": round(steady, 3),
        "steady_points_per_second": round(n_series * n_rows / steady),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab", type=Path, help="NAB root (data/, labels/) to score on, optional")
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--speed-series", type=int, default=10_000)
    ap.add_argument("--speed-rows", type=int, default=200)
    ap.add_argument("--out", type=Path, default=RESULTS / "side_by_side.json")
    args = ap.parse_args(argv)
    data = synthetic(args.series, args.rows, args.seed)
    files = load_corpus(args.nab) if args.nab else []
    rows: list[dict[str, object]] = []
    n_points = args.series * args.rows
    for name, config in OURS.items():
        scores, elapsed = run_ours(config, data)
        f1, _ = best_f1(scores, data)
        row: dict[str, object] = {
            "detector": name,
            "synthetic_f1": round(f1, 3),
            "synthetic_points_per_second": round(n_points / elapsed),
        }
        if files:
            from .nab import run_detector

            nab_scores, _ = run_detector(build(config), files)
            row["nab_standard"] = nab_score(files, nab_scores)
        rows.append(row)
        print(row, flush=True)
    for name, factory in PEERS.items():
        try:
            factory()
        except ImportError as exc:
            rows.append({"detector": name, "skipped": f"not installed ({exc.name})"})
            continue
        peer_scores, elapsed = run_peer(factory, list(data.values))
        f1, _thr = best_f1(np.vstack(peer_scores), data)
        row = {
            "detector": name,
            "synthetic_f1": round(f1, 3),
            "synthetic_points_per_second": round(n_points / elapsed),
        }
        if files:
            nab_scores, _ = run_peer(factory, [f.values for f in files])
            row["nab_standard"] = nab_score(files, nab_scores)
        rows.append(row)
        print(row, flush=True)
    fast = speed(args.speed_series, args.speed_rows, args.seed)
    print(
        f"default ensemble, {fast['series']} series at once: "
        f"{fast['points_per_second']:,.0f} points/s from fresh, "
        f"{fast['steady_points_per_second']:,.0f} points/s past the warm-up",
        flush=True,
    )
    report = {
        "synthetic": {
            "series": args.series,
            "rows": args.rows,
            "seed": args.seed,
            "events": len(data.events),
        },
        "nab_files": len(files),
        "detectors": rows,
        "speed": fast,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print()
    print("| detector | synthetic F1 | points/s | NAB standard |")
    print("|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['detector']} | {r['skipped']} | | |")
            continue
        pps = r["synthetic_points_per_second"]
        print(f"| {r['detector']} | {r['synthetic_f1']} | {pps:,} | {r.get('nab_standard', '-')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
