"""Reading a NAB corpus (any subset of its files) and writing results in NAB's own layout."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .nab_scoring import LabelledFile


@dataclass(frozen=True)
class NabFile:
    """One data file: `key` is "<category>/<name>.csv" as in the label files."""

    key: str
    timestamps: list[str]
    t: np.ndarray  # int64 epoch seconds
    values: np.ndarray  # float64
    labels: LabelledFile

    @property
    def category(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def stem(self) -> str:
        return Path(self.key).name


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text("utf-8").splitlines()
    if not lines or lines[0].strip() != "timestamp,value":
        raise ValueError(f"{path}: expected a header 'timestamp,value'")
    stamps: list[str] = []
    values: list[float] = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            stamp, value = line.split(",")
            values.append(float(value))
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: expected 'timestamp,value', got {line!r}") from exc
        stamps.append(stamp.strip())
    return stamps, np.asarray(values, dtype=np.float64)


def _epoch(stamps: list[str]) -> np.ndarray:
    return np.asarray(stamps, dtype="datetime64[s]").astype(np.int64)


def load_corpus(root: Path) -> list[NabFile]:
    """Every CSV under root/data, with its windows from root/labels/combined_windows.json."""
    data_dir = root / "data"
    labels_path = root / "labels" / "combined_windows.json"
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir} is not a directory (expected DIR/data/<category>/)")
    if not labels_path.is_file():
        raise FileNotFoundError(f"{labels_path} not found (expected DIR/labels/)")
    windows = json.loads(labels_path.read_text("utf-8"))
    files: list[NabFile] = []
    for path in sorted(data_dir.glob("*/*.csv")):
        key = f"{path.parent.name}/{path.name}"
        if key not in windows:
            raise ValueError(f"{key} has no entry in {labels_path}")
        stamps, values = _read_csv(path)
        t = _epoch(stamps)
        rows = []
        for start, end in windows[key]:
            lo, hi = _epoch([start, end])
            left = int(np.searchsorted(t, lo))
            right = int(np.searchsorted(t, hi))
            if left >= len(t) or t[left] != lo or right >= len(t) or t[right] != hi:
                raise ValueError(f"{key}: window [{start}, {end}] does not match data rows")
            rows.append((left, right))
        files.append(NabFile(key, stamps, t, values, LabelledFile(key, len(t), tuple(rows))))
    if not files:
        raise FileNotFoundError(f"no CSV files under {data_dir}/<category>/")
    return files


def write_results(out: Path, detector: str, f: NabFile, scores: np.ndarray) -> Path:
    """RESULTS/<detector>/<category>/<detector>_<file>.csv, scores at full precision."""
    target = out / detector / f.category / f"{detector}_{f.stem}"
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = ["timestamp,value,anomaly_score"]
    lines += [
        f"{stamp},{value!r},{float(score)!r}"
        for stamp, value, score in zip(f.timestamps, f.values.tolist(), scores, strict=True)
    ]
    target.write_text("\n".join(lines) + "\n", "utf-8")
    return target
