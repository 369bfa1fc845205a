"""Analysts' tests with entrance checkpoints and with departments acting: the checkpoint
records reach the flow's own decoder, actions go through the ticket service's own methods,
deadlines pass on the test's clock, and mistakes stay located and readable."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app
from citysigns.paths import CATALOG_DIR
from indicators.testing import spec
from indicators.testing.runner import run_paths

CLI = CliRunner()

HEAD = f"catalog: {CATALOG_DIR}\ntests:\n"

# Ten normal checks every 10 minutes for three hours; `{extra}` adds keys to the test.
CHECKPOINT = (
    HEAD
    + """  - name: two abnormal checks in an hour of sixty-two warn the street blue
    indicator: checkpoint.abnormal_rate
    interval: 10m
    series:
      - venue: V-310101-0001
        checks: 10x17
    checkpoints:
      - {at: 1h5m, venue: V-310101-0001, result: abnormal}
      - {at: 1h15m, venue: V-310101-0001, result: abnormal}
{extra}"""
)


def _case(extra: str) -> str:
    return CHECKPOINT.replace("{extra}", extra)


def _write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text, "utf-8")
    return f


def test_single_checkpoint_records_are_decoded_and_counted(tmp_path: Path) -> None:
    expect = """    expect:
      warnings:
        - {at: 2h, area: "310101", level: blue}
        - {at: 2h, area: "310101001", level: blue}
"""
    report = run_paths([_write(tmp_path, _case(expect))])
    assert report.ok, "\n".join(o.report() for o in report.outcomes)
    (outcome,) = report.outcomes
    assert {e.category for e in outcome.warnings} == {"checkpoint"}
    # 2 abnormal of 62 checks in the hour: the warning carries the rate itself
    assert {round(e.value or 0.0, 4) for e in outcome.warnings} == {round(2 / 62, 4)}


def test_refused_and_unmatched_actions_fail_with_their_line(tmp_path: Path) -> None:
    actions = """    actions:
      - {at: 2h, action: feedback, department: health}
      - {at: 2h10m, action: accept, department: drainage}
"""
    f = _write(tmp_path, _case(actions), "acts.yaml")
    result = CLI.invoke(app, ["test", str(f)])
    assert result.exit_code == 1
    out = result.output
    assert "action (line 13) at 2h: feedback by health: refused: ticket T-" in out
    assert "is dispatched; feedback is possible when it is accepted or handling" in out
    assert "action (line 14) at 2h10m: accept by drainage: no open ticket of department" in out
    # the open tickets are listed in the file's notation, to pick the right one
    assert '- {department: health, level: blue, tier: district, area: "310101"' in out


def test_deadlines_pass_only_until_the_given_time(tmp_path: Path) -> None:
    """Without `until` no deadline passes (as in a backtest); with it, the blue accept
    deadline of a day supervises the ticket at the first tick after it."""
    for until, n in (("20h", 0), ("1d6h", 1)):
        body = _case(f"    until: {until}\n") + (
            f"    expect:\n      tickets: [{{status: dispatched, supervised: {n}}}]\n"
        )
        report = run_paths([_write(tmp_path, body, f"u{n}.yaml")])
        assert report.ok, "\n".join(o.report() for o in report.outcomes)
        (t,) = report.outcomes[0].tickets
        assert t.supervised == bool(n) and t.supervise_count == n


def test_history_is_compared_and_shown_ready_to_paste(tmp_path: Path) -> None:
    extra = """    until: 3h
    actions:
      - {at: 2h10m, action: accept, department: health}
      - {at: 2h20m, action: start, department: health}
    expect:
      tickets:
        - {status: handling, history: [2h dispatched, 2h10m accepted, 2h20m feedback]}
"""
    report = run_paths([_write(tmp_path, _case(extra))])
    text = report.outcomes[0].report()
    assert not report.ok
    assert "missing (line 18):  - {status: handling, history: [2h dispatched" in text
    assert "history: [2h dispatched, 2h10m accepted, 2h20m handling]}" in text


@pytest.mark.parametrize(
    ("series", "line", "col", "message"),
    [
        (
            "venue: V-310101-0001\n        values: 10x3",
            7,
            9,
            'a venue series gives "checks" (verifications per interval) and "abnormal"',
        ),
        (
            "venue: V-310101-0001\n        checks: 10x3\n        abnormal: 0 11 0 0",
            8,
            19,
            "interval 2: 11 abnormal out of 10 checks",
        ),
        (
            "venue: V-310101-0001\n        checks: 10x3\n        abnormal: 0x2",
            8,
            19,
            '"abnormal" has 3 intervals and "checks" 4',
        ),
        (  # at the term, not at the start of `checks`
            "venue: V-310101-0001\n        checks: 10 2.5",
            7,
            20,
            "checks per interval are whole numbers",
        ),
    ],
)
def test_venue_series_mistakes_are_located(
    tmp_path: Path, series: str, line: int, col: int, message: str
) -> None:
    text = (
        "tests:\n  - name: x\n    indicator: checkpoint.abnormal_rate\n    interval: 10m\n"
        f"    series:\n      - {series}\n"
    )
    with pytest.raises(spec.TestFormatError) as e:
        spec.load_test_file(_write(tmp_path, text))
    found = [d for d in e.value.diagnostics if message in d.message]
    assert found, [str(d) for d in e.value.diagnostics]
    assert (found[0].line, found[0].col) == (line, col)


def test_misspelt_action_and_history_keys_suggest_the_right_one(tmp_path: Path) -> None:
    text = (
        HEAD
        + """  - name: typos
    indicator: checkpoint.abnormal_rate
    interval: 10m
    checkpoints:
      - {at: 1h, venue: V-310101-0001, result: abnromal}
    actions:
      - {at: 2h, action: acept, departmnet: health}
    expect:
      tickets: [{status: closed, history: [1h dispatched, 2h supervized]}]
"""
    )
    result = CLI.invoke(app, ["test", str(_write(tmp_path, text, "typos.yaml"))])
    assert result.exit_code == 1
    out = result.output
    assert "typos.yaml:7:48: \"result\" is 'abnromal'; use one of normal, abnormal" in out
    assert "typos.yaml:9:26: \"action\" is 'acept'; use one of accept, start, feedback" in out
    assert 'typos.yaml:9:33: unknown key "departmnet" (did you mean "department"?)' in out
    assert 'missing "department"' not in out  # the suggestion already says it
    assert (
        'typos.yaml:11:59: a step is `AT STEP`, e.g. `35m supervised` (did you mean "supervised"?)'
    ) in out


def test_unknown_venue_is_reported_not_crashed(tmp_path: Path) -> None:
    f = _write(tmp_path, _case("").replace("V-310101-0001\n", "V-999\n"))
    report = run_paths([f])
    assert "venue 'V-999' is not in the venue registry" in report.outcomes[0].report()


def test_the_guide_example_tickets_are_what_the_service_gives(tmp_path: Path) -> None:
    """The format example of docs/analysts.md passes as written, warnings and tickets (a
    closed history, a supervised hotline ticket): an analyst copies it into indicators/tests/
    to start from, so it must not go stale (its warnings once left out the district and city
    that air.pm25 is computed for too)."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "analysts.md").read_text("utf-8")
    blocks = [b.split("```", 1)[0] for b in guide.split("```yaml\n")[1:]]
    (example,) = [b for b in blocks if "tests:\n" in b]  # (the guide's catalog examples aside)
    assert example.startswith("catalog: ../catalog ")  # as it reads from indicators/tests/
    (tmp_path / "catalog").symlink_to(CATALOG_DIR, target_is_directory=True)
    (tmp_path / "tests").mkdir()
    report = run_paths([_write(tmp_path / "tests", example)])  # (literally, comments and all)
    (outcome,) = report.outcomes
    assert outcome.problems == []
