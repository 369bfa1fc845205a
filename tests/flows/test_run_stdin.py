"""`citysigns run -i -`: a live stream on standard input, stopped as an operator stops it.

SIGINT or SIGTERM while the writer still holds the pipe open ends the input there: the run
writes the windows the lines read make, exactly those of a run over a file of the same lines,
and ends with a line saying so, exit status 0.  A replay of files stopped the same way says
what its outputs hold and how to go on (exit 130 / 143), with no Python traceback: SIGINT
used to end in Bytewax's traceback, SIGTERM in silence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
CITYSIGNS = [sys.executable, "-c", "from citysigns.cli import app; app()"]


def wait_for_lines(path: Path, timeout: float = 60.0) -> None:
    """Until the flow has written windows: it is live, past its start-up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size:
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing written to {path} in {timeout} s")


def sorted_lines(path: Path) -> list[str]:
    return sorted(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_a_live_run_with_every_line_read_written(
    beijing_week: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    lines = beijing_week.read_bytes().splitlines(keepends=True)
    sent = [*lines[: len(lines) // 2], b"not a record\n"]
    out = tmp_path / "live"
    run = subprocess.Popen(
        [*CITYSIGNS, "run", "-c", SMALL, "-i", "-", "-o", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stdin is not None
    run.stdin.buffer.write(b"".join(sent))  # type: ignore[attr-defined]
    run.stdin.flush()
    wait_for_lines(out / "windows.ndjson")  # windows close while the stream is live
    time.sleep(1.0)  # the last lines decoded: the source waits at most 0.5 s
    run.send_signal(sig)  # the writer still holds the pipe open
    stdout, stderr = run.communicate(timeout=60)
    run.stdin.close()
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr and "panicked" not in stderr, stderr
    assert stdout.strip().splitlines()[-1].startswith(f"stopped by {sig.name}"), stdout
    # what was written is complete: as a run over a file of the same lines
    (tmp_path / "sent.ndjson").write_bytes(b"".join(sent))
    ref = tmp_path / "ref"
    done = subprocess.run(
        [*CITYSIGNS, "run", "-c", SMALL, "-i", str(tmp_path / "sent.ndjson"), "-o", str(ref)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ("windows.ndjson", "warnings.ndjson"):
        assert sorted_lines(out / name) == sorted_lines(ref / name), name
    letters = sorted_lines(out / "dead_letters.ndjson")
    assert len(letters) == 1 and f'"position": {len(sent)}' in letters[0]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_replay_with_one_line(
    beijing_week: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    run = subprocess.Popen(
        [*CITYSIGNS, "run", "-c", SMALL, "-i", str(beijing_week), "-o", str(out),
         "--speed", "20000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )  # fmt: skip
    wait_for_lines(out / "windows.ndjson")
    run.send_signal(sig)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + sig.value, stderr
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"the run stopped ({sig.name}) before the end of its inputs"), stderr
    assert f"the outputs in {out}" in last


def test_standard_input_is_read_alone_and_not_resumed(beijing_week: Path, tmp_path: Path) -> None:
    for extra, words in (
        (["-i", str(beijing_week)], "is read alone"),
        (["--recovery", str(tmp_path / "rec")], "--recovery cannot resume standard input"),
    ):
        done = subprocess.run(
            [*CITYSIGNS, "run", "-c", SMALL, "-i", "-", "-o", str(tmp_path / "o"), *extra],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
