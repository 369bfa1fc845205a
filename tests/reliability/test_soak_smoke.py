"""The soak harness, 20 seconds: the flow runs on a live paced stream, warnings become
tickets, RSS is sampled and the JSON is written.  No timing is asserted here (the machine is
shared); the 10-minute soak is `python -m benchmarks.reliability.soak --minutes 10`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.reliability.soak import main

pytestmark = pytest.mark.slow


def test_twenty_second_soak_writes_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "soak.json"
    res = main(["--seconds", "20", "--rate", "50000", "--rss-every", "1", "--out", str(out)])
    data = json.loads(out.read_text("utf-8"))
    assert data["rate"] == 50_000 and data["events_sent"] == 50_000 * 20
    # every event sent reached the windows: the city-level counts add up to all of them
    assert data["events_counted_by_flow"] == data["events_sent"]
    assert data["warnings"] > 0 and data["ticket_changes"] > 0 and data["tickets"] > 0
    for key in ("latency_warning_s", "latency_ticket_s"):
        assert set(data[key]) == {"n", "p50", "p99", "max"}, key
        assert data[key]["n"] > 0
    # a ticket is committed after its warning is read
    assert data["latency_ticket_s"]["p50"] >= data["latency_warning_s"]["p50"]
    assert len(data["rss_samples"]) >= 10
    assert data["rss_flow_mb"]["min"] > 0 and "growth_pct" in data["rss_driver_mb"]
    assert res.flow_exit_s is not None  # the flow ended on end of input
    assert "latency event -> committed ticket" in capsys.readouterr().out
