"""What a run leaves in its output folder and what its summary counts: a rerun into a folder an
earlier run wrote holds this run's lines only, and a resumed run's summary counts the whole
run, as its files do (or says that its read counts start at the resume)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app
from citysigns.run import RunSummary, run
from flows import flow as flow_module
from flows.flow import FlowConfig
from tests.flows.summary import summary_rows
from tests.reliability.fuzz_inputs import good_reading, hotline_warm_up

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
ORDERS = hotline_warm_up(40)


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _readings(path: Path, n: int) -> Path:
    return _write(path, [json.dumps(good_reading(k)).encode() for k in range(n)])


def _run(out: Path, *inputs: Path, recovery: Path | None = None) -> RunSummary:
    cfg = FlowConfig(tuple(str(p) for p in inputs), str(out), catalog=(SMALL,))
    return run(cfg, recovery_dir=recovery, snapshot_every=0.5)


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def test_a_rerun_into_a_used_folder_holds_only_its_own_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator's case: a run with malformed lines, then one good reading into the same
    -o.  Bytewax's sinks empty a file only when they first write to it, so the second run
    kept the first's dead letters and orders, and its summary counted them."""
    good = [json.dumps(good_reading(k)).encode() for k in range(20)]
    sensors = _write(tmp_path / "sensors.ndjson", [*good, b"{bad", b'{"sensor_id": 5}', b"no"])
    hotline = _write(tmp_path / "hotline.ndjson", [*ORDERS[:7], b"{bad"])
    out = tmp_path / "out"
    first = _run(out, sensors, hotline)
    assert sum(first.dead_letters.values()) == 4 and _lines(out / "orders.ndjson") == 7

    one = _readings(tmp_path / "one.ndjson", 1)
    with caplog.at_level(logging.INFO, logger="citysigns.run"):
        second = _run(out, one)
    fresh = _run(tmp_path / "fresh", one)
    assert not second.dead_letters and _lines(out / "dead_letters.ndjson") == 0
    assert _lines(out / "orders.ndjson") == 0
    for name in ("windows", "warnings", "dead_letters", "orders"):
        path = f"{name}.ndjson"
        assert (out / path).read_bytes() == (tmp_path / "fresh" / path).read_bytes(), name
    assert second.windows == fresh.windows > 0
    said = [r.getMessage() for r in caplog.records if "earlier run" in r.getMessage()]
    assert said == [
        f"replacing the outputs of an earlier run in {out} "
        "(dead_letters.ndjson, orders.ndjson, windows.ndjson start empty)"
    ]


def test_a_resume_keeps_its_outputs_and_counts_the_whole_run(tmp_path: Path) -> None:
    """A run resumed from its recovery snapshots (here: after it had read everything) keeps
    the lines its snapshots hold, and its summary counts them with what was read before the
    resume; an input added since is counted on top.  The summary counted only what the
    resumed process read: nothing here, while the files held the whole run."""
    sensors = _readings(tmp_path / "sensors.ndjson", 30)
    hotline = _write(tmp_path / "hotline.ndjson", [*ORDERS[:30], b"{bad"])
    out, recovery = tmp_path / "out", tmp_path / "recovery"
    first = _run(out, sensors, hotline, recovery=recovery)
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert first.decoded["hotline"] == {"accepted": 30, "dead_letter": 1}

    again = _run(out, sensors, hotline, recovery=recovery)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert again.decoded == first.decoded
    assert again.resumed and not again.decoded_since_resume and not first.resumed
    assert (again.windows, again.dead_letters) == (first.windows, first.dead_letters)

    later = _write(tmp_path / "later.ndjson", ORDERS[25:])  # 5 repeats, 10 new orders
    added = _run(out, sensors, hotline, later, recovery=recovery)
    assert added.decoded["hotline"] == {"accepted": 40, "dead_letter": 1, "duplicate": 5}
    assert added.decoded["sensor"] == first.decoded["sensor"]
    assert _lines(out / "orders.ndjson") == 40


def test_a_resume_from_snapshots_without_counts_labels_itssummary_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots written before the counts were kept in them: the read rows count what was
    read since the resume, and say so, beside the outputs' whole-run counts."""
    hotline = _write(tmp_path / "hotline.ndjson", ORDERS[:30])
    out, recovery = tmp_path / "out", tmp_path / "recovery"
    with monkeypatch.context() as m:  # the earlier version: no "tally" in the snapshots
        for logic in (flow_module.DecodeLogic, flow_module.ChannelRepeatsLogic):
            plain = logic.snapshot
            m.setattr(logic, "snapshot", lambda self, plain=plain: {
                k: v for k, v in plain(self).items() if k != "tally"})  # fmt: skip
        _run(out, hotline, recovery=recovery)

    later = _write(tmp_path / "later.ndjson", ORDERS[25:])
    args = ["run", "-i", str(hotline), "-i", str(later), "-o", str(out), "-c", SMALL,
            "--recovery", str(recovery)]  # fmt: skip
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert summary_rows(result.output) == {
        "read since the resume: hotline": "10 records accepted, 5 repeated records dropped"
    }
    said = " ".join(result.output.split())  # the caption is wrapped to the table's width
    assert "the read rows count what was read since the resume" in said
    assert "windows and dead letters are the whole run's" in said
    assert _lines(out / "orders.ndjson") == 40


def test_the_summary_counts_the_windows_too_few_to_judge_per_indicator(tmp_path: Path) -> None:
    """A window with fewer records than its indicator's `min_count` is written with
    `"judged": false`; the summary counted it with the others only, so a checkpoint rate
    whose communities never reach 10 checks an hour (3,178 of 3,178 windows in the demo
    city) ran without warnings and without a word why."""
    from citysigns.cli import window_rows
    from citysigns.run import summarise

    head = '{"indicator": "%s", "area_level": "street", "start": "s", "end": "e", "area": "1", '
    lines = [
        head % "c.rate" + '"value": 1.0, "count": 2, "judged": false}',
        head % "c.rate" + '"value": 0.0, "count": 3, "judged": false}',
        head % "c.rate" + '"value": 0.1, "count": 30}',
        head % "h.count" + '"value": 4.0, "count": 4}',
        head % "h.count" + '"value": null, "count": 0, "no_signal": true}',
    ]
    _write(tmp_path / "windows.ndjson", [line.encode() for line in lines])
    (tmp_path / "dead_letters.ndjson").write_bytes(b"")
    summary = summarise(tmp_path)
    assert summary.unjudged == {"c.rate": 2}
    assert window_rows(summary) == [
        ("windows", "5"),
        ("  of which no-signal", "1"),
        ("  of which too few records to judge (min_count)", "2"),
        ("    c.rate", "2 of its 3"),
    ]
