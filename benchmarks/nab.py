"""Run a detector causally over a NAB corpus and score it with NAB's three profiles.

    python -m benchmarks.nab --data ../shared/data/nab-dev --out OUTDIR

Every file is one series; all files are replayed together as one many-series stream (row k
of every file, then row k+1, ...), which is how the dataflow feeds the detectors.  One
configuration serves every file, labels are read only by the scorer, and each row's score
uses only earlier rows of its file.  The last line printed is a JSON object with the three
normalised scores."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from indicators.detectors import DEFAULT_DETECTOR, build
from indicators.detectors.base import Detector

from .nab_data import NabFile, load_corpus, write_results
from .nab_scoring import PROFILES, ProfileResult, normalise, score_corpus

DETECTOR_NAME = "citysigns"
RESULTS = Path(__file__).resolve().parent / "results"


def interleave(files: list[NabFile]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One stream of (series, t, value) ordered by row position, and each row's offset."""
    series = np.concatenate([np.full(len(f.t), i, dtype=np.int64) for i, f in enumerate(files)])
    pos = np.concatenate([np.arange(len(f.t)) for f in files])
    t = np.concatenate([f.t for f in files])
    v = np.concatenate([f.values for f in files])
    order = np.lexsort((series, pos))
    return series[order], t[order], v[order], order


def run_detector(
    detector: Detector, files: list[NabFile], batch_rows: int = 0
) -> tuple[list[np.ndarray], float]:
    """Scores per file (in file row order) and the wall time; `batch_rows` > 0 feeds the
    stream in batches of that many rows (the scores must not depend on it)."""
    series, t, v, order = interleave(files)
    n = len(series)
    step = batch_rows if batch_rows > 0 else n
    out = np.empty(n)
    start = time.perf_counter()
    for lo in range(0, n, step):
        out[lo : lo + step] = detector.learn_score(
            series[lo : lo + step], t[lo : lo + step], v[lo : lo + step]
        ).score
    elapsed = time.perf_counter() - start
    flat = np.empty(n)
    flat[order] = out
    bounds = np.cumsum([len(f.t) for f in files])[:-1]
    return np.split(flat, bounds), elapsed


def category_table(files: list[NabFile], results: list[ProfileResult]) -> list[dict[str, object]]:
    """Per-category raw and normalised scores at each profile's corpus-wide threshold."""
    rows: list[dict[str, object]] = []
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(files):
        by_cat[f.category].append(i)
    for cat, idx in sorted(by_cat.items()):
        n_windows = sum(len(files[i].labels.windows) for i in idx)
        row: dict[str, object] = {"category": cat, "files": len(idx), "windows": n_windows}
        for res in results:
            raw = sum(res.files[i].score for i in idx)
            fp = sum(res.files[i].fp for i in idx)
            hit = sum(res.files[i].detected_windows for i in idx)
            norm = normalise(raw, n_windows, res.profile) if n_windows else None
            row[res.profile.name] = {
                "raw": round(raw, 4),
                "normalised": norm,
                "detected_windows": hit,
                "fp_rows": fp,
            }
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="NAB root with data/ and labels/")
    ap.add_argument("--out", type=Path, required=True, help="results directory to write")
    ap.add_argument("--batch-rows", type=int, default=0, help="feed the stream in batches")
    ap.add_argument(
        "--results",
        type=Path,
        default=RESULTS / "nab.json",
        help="summary JSON to write (scores, thresholds, per-category table, configuration)",
    )
    args = ap.parse_args(argv)
    try:
        files = load_corpus(args.data)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    detector = build(DEFAULT_DETECTOR)
    scores, elapsed = run_detector(detector, files, args.batch_rows)
    for f, s in zip(files, scores, strict=True):
        write_results(args.out, DETECTOR_NAME, f, s)
    labelled = [f.labels for f in files]
    results = [score_corpus(labelled, scores, p) for p in PROFILES]
    n_rows = sum(len(f.t) for f in files)
    report: dict[str, object] = {
        "detector": DETECTOR_NAME,
        "files": len(files),
        "rows": n_rows,
        "windows": sum(len(f.labels.windows) for f in files),
        "seconds": round(elapsed, 3),
        "rows_per_second": round(n_rows / elapsed) if elapsed > 0 else None,
        "thresholds": {r.profile.name: r.threshold for r in results},
        "raw": {r.profile.name: r.raw for r in results},
    }
    categories = category_table(files, results)
    report["categories"] = categories
    summary = {r.profile.name: round(r.normalised, 2) for r in results}
    (args.out / DETECTOR_NAME).mkdir(parents=True, exist_ok=True)
    (args.out / DETECTOR_NAME / "nab_scores.json").write_text(
        json.dumps({**report, "normalised": summary}, indent=2) + "\n", "utf-8"
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "corpus": args.data.name,
                **report,
                "normalised": summary,
                "detector_config": DEFAULT_DETECTOR.model_dump(mode="json"),
            },
            indent=2,
        )
        + "\n",
        "utf-8",
    )
    for cat in categories:
        std: Any = cat["standard"]
        norm = std["normalised"]
        shown = "   n/a" if norm is None else f"{norm:6.1f}"
        print(
            f"{cat['category']:24s} files {cat['files']:2d} windows {cat['windows']:3d} "
            f"standard {shown}  detected {std['detected_windows']:3d}  fp rows {std['fp_rows']}"
        )
    print(f"{n_rows} rows in {elapsed:.2f} s; thresholds {report['thresholds']}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
