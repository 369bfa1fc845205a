"""`citysigns --help` and every command's help, read on an 80-column terminal: each command's
summary is one sentence on one line, no default or path is cut short, and `rules` (which has
no subcommands) is shown as a command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citysigns.cli import app

CLI = CliRunner()
COMMANDS = [
    ["check"], ["schema"], ["catalog"], ["run"], ["serve"], ["demo"], ["test"], ["backtest"],
    ["dispatch"], ["rules"], ["dashboards"], ["dashboards", "push"], ["registry"],
    ["registry", "export"], ["registry", "check"],
]  # fmt: skip


def help_of(*command: str) -> str:
    done = CLI.invoke(app, [*command, "--help"], terminal_width=80)
    assert done.exit_code == 0, done.output
    return done.output


def test_the_command_summaries_are_sentences_on_one_line() -> None:
    text = help_of()
    listing = text.split("Commands:\n", 1)[1].splitlines()
    rows = [re.fullmatch(r"  (\S+)\s+(.*)", line) for line in listing if line]
    summaries = {row[1]: row[2] for row in rows if row is not None}
    assert len(summaries) == len(rows), listing  # one line per command
    assert set(summaries) == {c[0] for c in COMMANDS}
    for name, summary in summaries.items():
        assert summary.endswith(".") and not summary.endswith("..."), (name, summary)
    assert summaries["dispatch"] == "Turn the flow's warnings and hotline orders into tickets."
    assert summaries["run"] == "Replay files, or a live stream (-i -), through the flow."


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_help_fits_80_columns_without_cutting_anything(command: list[str]) -> None:
    text = help_of(*command)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text and "<list[" not in text.split("Options:")[-1], text


def test_defaults_are_shown_whole() -> None:
    assert "sqlite:///citysigns-tickets.db" in help_of("serve")
    assert "sqlite:///citysigns-tickets.db" in help_of("dispatch")
    assert "http://127.0.0.1:8080/alertmanager/webhook" in help_of("rules")


def test_rules_is_a_command_and_still_writes_its_files(tmp_path: Path) -> None:
    assert "Usage: citysigns rules [OPTIONS]\n" in help_of("rules")
    done = CLI.invoke(app, ["rules", "--out", str(tmp_path / "monitoring")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "monitoring" / "prometheus.yml").is_file()
    assert (tmp_path / "monitoring" / "runbooks.md").is_file()
