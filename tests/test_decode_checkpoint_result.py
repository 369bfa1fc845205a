"""A checkpoint check may say its result as text (`result: abnormal`) or as a flag
(`abnormal: 1`); both reach the indicators with the same `result`, so a filter on it counts
both (docs/analysts.md, checkpoint fields)."""

from __future__ import annotations

import json

from flows.city import load_default_venues
from flows.decode import ChannelDecoder, chunk_of_lines


def test_a_check_sent_as_a_flag_has_its_result_as_text() -> None:
    venue = load_default_venues().ids([0])[0]
    checks = [
        {"checkpoint_id": "CK-1", "venue": venue, "ts": "2026-03-02T08:00:00+08:00",
         "result": "abnormal"},
        {"checkpoint_id": "CK-2", "venue": venue, "ts": "2026-03-02T08:05:00+08:00",
         "abnormal": 1},
        {"checkpoint_id": "CK-3", "venue": venue, "ts": "2026-03-02T08:10:00+08:00",
         "abnormal": 0},
        {"checkpoint_id": "CK-4", "venue": venue, "ts": "2026-03-02T08:15:00+08:00",
         "result": "normal"},
    ]  # fmt: skip
    lines = [json.dumps(c).encode() for c in checks]
    batch, letters = ChannelDecoder("checkpoint").decode(chunk_of_lines("c.ndjson", lines))
    assert len(letters) == 0
    assert batch.extra["result"] == ["abnormal", "abnormal", "normal", "normal"]
    assert batch.value.tolist() == [1.0, 1.0, 0.0, 0.0]
