"""A reading later than its indicator's lateness, through the real flow: a `late` dead letter
however the replay is chunked, that says where the reading was and when, as it was written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from citysigns.run import run
from flows.deadletters import read_dead_letters
from flows.flow import FlowConfig
from tests.reliability.fuzz_inputs import air_sensors

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
CITY = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, tzinfo=CITY)


def _readings(path: Path) -> tuple[int, str]:
    """36 hours of readings of five sensors every 10 minutes, then one of the first hour
    (the line number and time of that one)."""
    sensors = air_sensors(5)
    lines = [
        json.dumps({"sensor_id": s, "ts": (T0 + timedelta(minutes=m)).isoformat(), "pm25": 20.0})
        for m in range(0, 36 * 60, 10)
        for s in sensors
    ]
    stamp = (T0 + timedelta(minutes=30, seconds=1)).isoformat()  # (not a repeat of one)
    lines.append(json.dumps({"sensor_id": sensors[0], "ts": stamp, "pm25": 500.0}))
    path.write_text("\n".join(lines) + "\n")
    return len(lines), stamp


def _outputs(out: Path) -> dict[str, list[str]]:
    names = ("windows", "warnings", "dead_letters")
    return {n: sorted((out / f"{n}.ndjson").read_text().splitlines()) for n in names}


def test_a_reading_36_hours_late_is_a_late_letter_whatever_the_chunks(tmp_path: Path) -> None:
    """In one 4 MB chunk with the readings that moved the watermark on, it was counted in
    its long-closed hour; in 4 kB chunks it was a late letter, at position 0, its time
    rewritten in UTC."""
    path = tmp_path / "sensors.ndjson"
    line, stamp = _readings(path)
    runs = {}
    for chunk in (4 << 20, 4096):
        out = tmp_path / f"out{chunk}"
        run(FlowConfig((str(path),), str(out), catalog=(SMALL,), chunk_bytes=chunk))
        runs[chunk] = _outputs(out)
    assert runs[4 << 20] == runs[4096]
    late = read_dead_letters(tmp_path / "out4096" / "dead_letters.ndjson")
    (letter,) = [d for d in late if json.loads(d["record"])["indicator"] == "test.pm25"]
    assert (letter["reason"], letter["source"], letter["position"]) == ("late", str(path), line)
    record = json.loads(letter["record"])
    assert record["ts"] == stamp and record["value"] == 500.0
    windows = [json.loads(w) for w in runs[4096]["windows"]]
    first = [w for w in windows if w["indicator"] == "test.pm25" and w["area_level"] == "city"]
    assert min(first, key=lambda w: w["start"])["value"] == 20.0  # its hour without it
