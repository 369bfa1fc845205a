"""`distinct` of a citizen channel's text field counts its different values: how many venues
reported checks, through how many channels of intake orders came.  The flow read every such
field as the record's 0/1 flag, so "distinct venues" was 2 a day in a city of 1,675 venues,
and a hotline order (which has no flag) counted for nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from citysigns.run import run
from flows.city import load_default_venues
from flows.flow import FlowConfig
from flows.plan import text_codes

INDICATOR = """
  - id: {id}
    title: {{zh: 测试, en: Test}}
    category: {category}
    unit: things
    owner: operations_centre
    source: {{kind: {kind}}}
    value:
      field: {field}
      aggregate: distinct
      window: {{type: tumbling, length: 1d, lateness: 15m}}
      levels: [city]
    detection:
      detectors: [{{type: threshold, upper: 1000}}]
      warnings: {{on: value, levels: {{blue: {{threshold: 1000, for: 0s}}}}}}
    dispatch: none
"""


def _catalog(path: Path) -> Path:
    specs = [
        ("t.venues", "checkpoint", "checkpoint", "venue"),
        ("t.results", "checkpoint", "checkpoint", "result"),
        ("t.channels", "hotline", "hotline", "channel"),
        ("t.codes", "hotline", "hotline", "service_code"),
    ]
    body = "".join(INDICATOR.format(id=i, category=c, kind=k, field=f) for i, c, k, f in specs)
    path.write_text("version: 1\nindicators:\n" + body, "utf-8")
    return path


def _ndjson(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _city_values(out: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in (out / "windows.ndjson").read_text("utf-8").splitlines()]
    return {r["indicator"]: r["value"] for r in rows if r["area_level"] == "city"}


def test_distinct_of_a_text_field_counts_its_different_values(tmp_path: Path) -> None:
    venues = load_default_venues().ids([0, 1, 2, 500])
    visits = [venues[0], venues[1], venues[0], venues[2], venues[3], venues[1], venues[0]]
    checks: list[dict[str, object]] = [
        {"checkpoint_id": f"CK-{k:08d}", "venue": v, "ts": f"2026-03-02T{8 + k:02d}:00:00+08:00",
         "result": "abnormal" if k == 3 else "normal"}
        for k, v in enumerate(visits)
    ]  # fmt: skip
    checks.append(  # the flag alone, no `result`: still a normal check
        {"checkpoint_id": "CK-00000099", "venue": venues[0], "ts": "2026-03-02T20:00:00+08:00",
         "abnormal": 0}
    )  # fmt: skip
    channels = ["wechat", "phone", "wechat", "app", "", "phone"]
    orders = [
        {"service_request_id": f"12345-2026-{k:06d}", "description": "停水了",
         "service_code": "water_outage" if k % 2 else "noise_complaint",
         "requested_datetime": f"2026-03-02T{8 + k:02d}:30:00+08:00",
         "lat": 31.22, "long": 121.45, **({"channel": c} if c else {})}
        for k, c in enumerate(channels)
    ]  # fmt: skip
    inputs = (
        _ndjson(tmp_path / "checkpoints.ndjson", checks),
        _ndjson(tmp_path / "hotline.ndjson", orders),
    )
    out = tmp_path / "out"
    cfg = FlowConfig(
        tuple(str(p) for p in inputs), str(out), catalog=(str(_catalog(tmp_path / "c.yaml")),)
    )
    summary = run(cfg)
    assert not summary.dead_letters, (out / "dead_letters.ndjson").read_text("utf-8")
    assert _city_values(out) == {
        "t.venues": 4.0,  # of 8 checks
        "t.results": 2.0,  # normal and abnormal
        "t.channels": 3.0,  # wechat, phone, app; the order without one is not counted
        "t.codes": 2.0,
    }


def test_a_text_has_one_code_in_every_batch_and_none_when_empty() -> None:
    first = text_codes(["V-310101-0001", "", "V-310101-0002", "V-310101-0001"])
    second = text_codes(["V-310101-0002", "V-310101-0001"])
    assert first[0] == first[3] == second[1]
    assert first[2] == second[0] != first[0]
    assert np.isnan(first[1])
    assert text_codes([]).shape == (0,)
    assert float(first[0]).is_integer() and abs(first[0]) < 2**53
