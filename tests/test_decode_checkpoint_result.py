"""A checkpoint check may say its result as text (`result: abnormal`) or as a flag
(`abnormal: 1`); both reach the indicators with the same `result`, so a filter on it counts
both (docs/analysts.md, checkpoint fields)."""

from __future__ import annotations

import json

import numpy as np

from flows.city import load_default_venues
from flows.decode import ChannelDecoder, Reason, chunk_of_lines


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


def test_an_empty_result_beside_the_flag_is_no_result() -> None:
    """A CSV export with both columns fills one of them: the flag alone (result empty) was
    refused as `result '' is not one of normal, abnormal`."""
    venue = load_default_venues().ids([0])[0]
    rows = [
        f"CK-1,{venue},2026-03-02T08:00:00+08:00,,1".encode(),
        f"CK-2,{venue},2026-03-02T08:05:00+08:00,normal,".encode(),
        f"CK-3,{venue},2026-03-02T08:10:00+08:00,,".encode(),
    ]
    chunk = chunk_of_lines(
        "c.csv", rows, first_line=2, fmt="csv", header=b"checkpoint_id,venue,ts,result,abnormal"
    )
    batch, letters = ChannelDecoder("checkpoint").decode(chunk)
    assert batch.record_id == ["CK-1", "CK-2"]
    assert batch.extra["result"] == ["abnormal", "normal"]
    assert [(d.position, d.reason, d.detail) for d in letters.letters] == [
        (4, Reason.MISSING_FIELD, "missing result")
    ]


def test_a_result_that_is_not_text_is_a_dead_letter() -> None:
    """`result: {...}` or `result: [...]` stopped the whole flow (TypeError: unhashable
    type) instead of going to the dead letters with its reason."""
    venue = load_default_venues().ids([0])[0]
    results: list[object] = [{"x": 1}, ["abnormal"], 1]
    lines = [
        json.dumps({"checkpoint_id": f"CK-{i}", "venue": venue,
                    "ts": "2026-03-02T08:00:00+08:00", "result": r}).encode()
        for i, r in enumerate(results)
    ]  # fmt: skip
    batch, letters = ChannelDecoder("checkpoint").decode(chunk_of_lines("c.ndjson", lines))
    assert len(batch) == 0
    assert [(d.position, d.reason) for d in letters.letters] == [
        (1, Reason.WRONG_TYPE), (2, Reason.WRONG_TYPE), (3, Reason.WRONG_TYPE)
    ]  # fmt: skip
    assert all("'result' should be text" in d.detail for d in letters.letters)


def test_a_check_at_a_venue_the_registry_does_not_know_is_a_dead_letter() -> None:
    """It was accepted (counted in the run's summary) and then counted by no indicator, since
    nothing placed it; a corrected copy sent again under the same id is taken."""
    venues = load_default_venues()
    known = venues.ids([0])[0]

    def locate_venue(ids: list[str]) -> np.ndarray:
        rows = venues.lookup(ids)
        return np.where(rows >= 0, venues.community[np.maximum(rows, 0)], -1)

    def check(venue: object) -> bytes:
        ts = "2026-03-02T08:00:00+08:00"
        record = {"checkpoint_id": "CK-1", "venue": venue, "ts": ts, "result": "normal"}
        return json.dumps(record).encode()

    decoder = ChannelDecoder("checkpoint", locate_venue=locate_venue)
    batch, letters = decoder.decode(chunk_of_lines("c.ndjson", [check("V-999999-0001"), check(5)]))
    assert len(batch) == 0
    assert [(d.position, d.reason, d.detail) for d in letters.letters] == [
        (1, Reason.BAD_VALUE, "venue 'V-999999-0001' is not in the venue registry"),
        (2, Reason.BAD_VALUE, "venue '5' is not in the venue registry"),
    ]
    batch, letters = decoder.decode(chunk_of_lines("c.ndjson", [check(known)], first_line=3))
    assert batch.record_id == ["CK-1"] and len(letters) == 0 and not letters.counts
    assert batch.community.tolist() == locate_venue([known]).tolist()


def test_a_result_and_a_flag_that_disagree_are_a_dead_letter() -> None:
    """`result: abnormal` beside `abnormal: 0`: the text won without a word, so a check that
    may have been normal counted as abnormal.  Which one is right cannot be told; one that
    agrees is counted."""
    venue = load_default_venues().ids([0])[0]
    checks = [
        {"checkpoint_id": "CK-1", "venue": venue, "ts": "2026-03-02T08:00:00+08:00",
         "result": "abnormal", "abnormal": 0},
        {"checkpoint_id": "CK-2", "venue": venue, "ts": "2026-03-02T08:05:00+08:00",
         "result": "normal", "abnormal": 1},
        {"checkpoint_id": "CK-3", "venue": venue, "ts": "2026-03-02T08:10:00+08:00",
         "result": "abnormal", "abnormal": 1},
    ]  # fmt: skip
    lines = [json.dumps(c).encode() for c in checks]
    batch, letters = ChannelDecoder("checkpoint").decode(chunk_of_lines("c.ndjson", lines))
    assert batch.record_id == ["CK-3"] and batch.value.tolist() == [1.0]
    assert [(d.position, d.reason, d.detail) for d in letters.letters] == [
        (1, Reason.BAD_VALUE, "result 'abnormal' and abnormal 0 disagree: give one of them, "
                              "or both saying the same"),
        (2, Reason.BAD_VALUE, "result 'normal' and abnormal 1 disagree: give one of them, "
                              "or both saying the same"),
    ]  # fmt: skip
