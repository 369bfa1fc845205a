"""Crash recovery, short version: the flow killed with SIGKILL at four random points and
restarted from its recovery snapshots gives the same windows, warnings and tickets as an
uninterrupted run, with a consumer that reads the warnings while the flow runs and receives
many of them twice.  The long version (20+ kills):
`python -m benchmarks.reliability.crash_recovery --kills 20`."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability.common import TicketDiff, write_beijing
from benchmarks.reliability.crash_recovery import crash_recovery

pytestmark = pytest.mark.slow


def test_four_kills_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    data = tmp_path / "beijing.ndjson"
    write_beijing(data, 12 * 24 * 20)  # 20 days of 12 stations
    res = crash_recovery([data], tmp_path, kills=4, speed=400_000, seed=3)
    assert res.kills == 4, "the run ended before every kill point: make it longer"
    assert all(0.0 < p < 1.0 for p in res.kill_points)
    assert res.windows and res.warnings and res.tickets
    assert res.windows.reference > 10_000 and res.warnings.reference > 500
    assert res.tickets.reference >= 5  # enough incidents for the comparison to mean something
    assert res.windows.equal, res.windows
    assert res.warnings.equal, res.warnings
    assert res.tickets.equal, res.tickets
    # many warnings reached the store twice, and each was applied once
    assert res.warnings_reread_after_restart > 100
    assert res.already_applied == res.warnings_reread_after_restart


def test_the_comparison_sees_a_lost_a_duplicated_and_a_changed_ticket() -> None:
    ref = [("T-1", "air:1:0", "blue", 3), ("T-2", "air:2:0", "red", 5)]
    assert TicketDiff.of(ref, list(ref)).equal
    lost = TicketDiff.of(ref, ref[:1])
    assert (lost.lost, lost.duplicated, lost.changed) == (1, 0, 0)
    dup = TicketDiff.of(ref, [*ref, ("T-3", "air:2:0", "red", 1)])
    assert (dup.lost, dup.duplicated, dup.changed) == (0, 1, 0)
    changed = TicketDiff.of(ref, [ref[0], ("T-2", "air:2:0", "red", 6)])
    assert (changed.lost, changed.duplicated, changed.changed) == (0, 0, 1)
