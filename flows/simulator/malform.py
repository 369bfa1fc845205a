"""Deliberately broken records, so that the dead-letter path is exercised on every run.

A configurable fraction of each file's lines is damaged in one of four ways that real feeds
produce: cut-off JSON, a required field missing, a NaN where a number or time should be, and a
timestamp without its zone.  The count is exact (cumulative rounding across chunks) and every
damaged line is recorded with its line number and kind of damage."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MALFORMATIONS: tuple[str, ...] = ("bad_json", "missing_field", "nan", "naive_ts")


@dataclass(frozen=True)
class RecordFamily:
    name: str
    time_field: str
    required: tuple[str, ...]  # a record without any of these cannot be used
    number_field: str | None  # where a NaN goes; None: the record's first measurement


FAMILIES: dict[str, RecordFamily] = {
    "sensors": RecordFamily("sensors", "ts", ("sensor_id", "ts"), None),
    "hotline": RecordFamily(
        "hotline", "requested_datetime", ("service_request_id", "requested_datetime"), "lat"
    ),
    "photo_reports": RecordFamily("photo_reports", "ts", ("report_id", "ts"), "lat"),
    "checkpoints": RecordFamily("checkpoints", "ts", ("venue", "ts"), "ts"),
}


@dataclass
class Corrupter:
    """Damages `fraction` of the lines passed through `apply`, chunk after chunk."""

    family: RecordFamily
    fraction: float
    rng: np.random.Generator
    seen: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    line_numbers: list[int] = field(default_factory=list)  # 1-based, in file order
    types: list[str] = field(default_factory=list)

    @property
    def injected(self) -> int:
        return len(self.line_numbers)

    def apply(self, lines: list[str]) -> list[str]:
        n = len(lines)
        target = math.floor(self.fraction * (self.seen + n) + 0.5)
        k = min(max(target - self.injected, 0), n)
        chosen: list[int] = np.sort(self.rng.choice(n, size=k, replace=False)).tolist() if k else []
        for i in chosen:
            kind = MALFORMATIONS[self.injected % len(MALFORMATIONS)]
            lines[i] = self.damage(lines[i], kind)
            self.by_type[kind] += 1
            self.line_numbers.append(self.seen + i + 1)
            self.types.append(kind)
        self.seen += n
        return lines

    def damage(self, line: str, kind: str) -> str:
        if kind == "bad_json":
            return line[: max(1, len(line) // 2)]
        record = json.loads(line)
        fam = self.family
        if kind == "missing_field":
            record.pop(fam.required[int(self.rng.integers(0, len(fam.required)))], None)
        elif kind == "nan":
            target = fam.number_field or next(
                (k for k in record if k not in ("sensor_id", "ts", "metric")), fam.time_field
            )
            record[target] = float("nan")
        else:  # naive_ts: "2026-03-02T14:05:00+08:00" -> "2026-03-02T14:05:00"
            record[fam.time_field] = str(record[fam.time_field])[:19]
        return json.dumps(record, ensure_ascii=False)  # NaN is written as the bare token NaN
