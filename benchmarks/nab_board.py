"""The published NAB scoreboard, restricted to the files of a corpus subset.

    python -m benchmarks.nab_board --data ../shared/data/nab-dev

The board's figures are over NAB's 58 files; the development data here holds 41 of them, and
the 17 missing ones (realTraffic, realTweets) are easier for 13 of the 14 published
detectors kept here (all but Bayes changepoint, standard profile).  Our
detector's nab-dev score is therefore not comparable with the board as it stands.  NAB
publishes, for every detector and profile, a table of each file's raw score at the detector's
corpus-wide threshold (`results/<detector>/<detector>_<profile>_scores.csv`); those tables
are kept under `benchmarks/published/nab/` (NAB, MIT licence).  Summing a subset's rows and
normalising with the subset's windows gives each published detector's score on the same
files as ours.

It is a lower bound of what each detector would score on the subset alone: its threshold was
chosen over all 58 files, and a threshold chosen over the subset can only do better there.
Over all 58 files the same arithmetic gives back the published board (ARTime 74.85, Numenta
HTM 70.10, CAD OSE 69.90 ...), which `tests/detectors/test_nab_board.py` checks."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .nab_data import load_corpus
from .nab_scoring import PROFILES, Profile, normalise

TABLES = Path(__file__).resolve().parent / "published" / "nab"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class FileScore:
    """One row of a published table: a file's raw score at the detector's threshold."""

    file: str  # category/name.csv, as NAB writes it
    score: float


def read_table(path: Path) -> list[FileScore]:
    """The per-file rows of a published `<detector>_<profile>_scores.csv` (not its Totals)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = [FileScore(r["File"], float(r["Score"])) for r in rows if r.get("File")]
    if not out:
        raise ValueError(f"{path}: no per-file rows (is it a NAB *_scores.csv table?)")
    return out


def subset_score(rows: list[FileScore], files: set[str], windows: int, profile: Profile) -> float:
    """The detector's normalised score over `files` (category/name.csv), `windows` windows."""
    missing = files - {r.file for r in rows}
    if missing:
        raise ValueError(f"the table has no row for {', '.join(sorted(missing))}")
    raw = sum(r.score for r in rows if r.file in files)
    return normalise(raw, windows, profile)


def board(tables: Path, files: set[str], windows: int) -> dict[str, dict[str, float]]:
    """Every detector whose three tables are under `tables`, scored over `files`."""
    out: dict[str, dict[str, float]] = {}
    for std in sorted(tables.glob("*_standard_scores.csv")):
        detector = std.name.removesuffix("_standard_scores.csv")
        # (NAB names its tables by the same profile names as ours)
        paths = {p.name: tables / f"{detector}_{p.name}_scores.csv" for p in PROFILES}
        if not all(path.exists() for path in paths.values()):
            continue
        out[detector] = {
            p.name: round(subset_score(read_table(paths[p.name]), files, windows, p), 2)
            for p in PROFILES
        }
    return out


def corpus_files(data: Path) -> tuple[set[str], int]:
    """The files of a corpus (category/name.csv under data/) and their number of windows,
    read as the NAB benchmark reads the corpus."""
    corpus = load_corpus(data)
    return {f.key for f in corpus}, sum(len(f.labels.windows) for f in corpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="corpus with data/ and labels/")
    ap.add_argument("--tables", type=Path, default=TABLES, help="published per-file tables")
    ap.add_argument("--ours", type=Path, default=RESULTS / "nab.json",
                    help="our scores on the same corpus (benchmarks.nab's summary)")  # fmt: skip
    ap.add_argument("--results", type=Path, default=RESULTS / "nab_board.json")
    args = ap.parse_args(argv)
    files, windows = corpus_files(args.data)
    scores = board(args.tables, files, windows)
    if args.ours.exists():  # only when measured on the same files
        ours = json.loads(args.ours.read_text(encoding="utf-8"))
        if ours.get("files") == len(files) and ours.get("windows") == windows:
            scores["citysigns (ours)"] = {p.name: ours["normalised"][p.name] for p in PROFILES}
    print(f"{len(files)} files, {windows} windows; published detectors at their 58-file "
          "thresholds")  # fmt: skip
    print(f"{'detector':24s} " + " ".join(f"{p.name:>20s}" for p in PROFILES))
    for name, s in sorted(scores.items(), key=lambda kv: -kv[1]["standard"]):
        print(f"{name:24s} " + " ".join(f"{s[p.name]:20.2f}" for p in PROFILES))
    summary = {"files": len(files), "windows": windows, "scores": scores}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary["scores"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
