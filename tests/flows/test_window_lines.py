"""windows.ndjson says which windows were judged: a window with fewer records than the
indicator's `min_count` keeps its raw value there, marked, where scored.ndjson has null."""

from __future__ import annotations

import json

import numpy as np

from flows.output import window_lines
from flows.windows import ClosedWindows

END = 1772539200  # 2026-03-03 20:00 +08:00


def _closed() -> ClosedWindows:
    return ClosedWindows(
        "checkpoint.abnormal_rate", "district", END - 3600, END,
        area=np.array([0, 1, 2], dtype=np.int64),
        value=np.array([0.0, 0.04, np.nan]), count=np.array([17, 25, 0], dtype=np.int64),
    )  # fmt: skip


def test_a_window_below_min_count_is_marked_not_judged() -> None:
    """ "value": 0.0, "count": 17 read as a calm window, while the detectors and warnings saw
    none (scored.ndjson: null) and the warning cleared on it as too thin to judge."""
    codes = np.array(["310115", "310104", "310106"])
    thin, judged, silent = (json.loads(x) for x in window_lines(_closed(), codes, 20))
    assert thin["value"] == 0.0 and thin["count"] == 17 and thin["judged"] is False
    assert judged["value"] == 0.04 and "judged" not in judged
    assert silent["value"] is None and silent["no_signal"] is True and "judged" not in silent


def test_without_min_count_every_window_with_a_value_is_judged() -> None:
    codes = np.array(["310115", "310104", "310106"])
    assert not any("judged" in json.loads(x) for x in window_lines(_closed(), codes))
