"""`citysigns run` on an operator's mistakes: one line saying what is wrong and what to do, exit
status 2, and no traceback, before the flow starts (a taken metrics port, a speed of 0, an
output "directory" that is a file) or before Bytewax stops on it (a recovery directory made
for other files)."""

from __future__ import annotations

import errno
import itertools
import os
from pathlib import Path

import pytest
from bytewax.connectors import files
from typer.testing import CliRunner, Result

from citysigns.cli import app
from flows import instrument
from flows.city import load_default_registry
from flows.realdata import beijing_records, write_ndjson

SMALL = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
CLI = CliRunner()


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small files of real Beijing readings: a day each."""
    folder = tmp_path_factory.mktemp("inputs")
    records = beijing_records(load_default_registry())
    a, b = folder / "a.ndjson", folder / "b.ndjson"
    write_ndjson(itertools.islice(records, 12 * 24), a)
    write_ndjson(itertools.islice(records, 12 * 24), b)
    return a, b


def run(*args: str | Path) -> Result:
    return CLI.invoke(app, ["run", "-c", SMALL, *map(str, args)])


def assert_refused(result: Result, *words: str) -> None:
    """Exit 2 from a message, not from an exception that escaped."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output


def test_a_taken_metrics_port_is_named_with_what_to_do(
    two_inputs: tuple[Path, Path], tmp_path: Path, taken_port: int
) -> None:
    done = run("-i", two_inputs[0], "-o", tmp_path / "out", "--metrics-port", str(taken_port))
    assert_refused(done, f"metrics port {taken_port}", "already in use", "--metrics-port")
    assert not (tmp_path / "out" / "windows.ndjson").exists()  # the flow never started
    # and no exporter is left for a later run in this process to report to (with another
    # catalog, that run stopped on "... is not in the catalog the exporter knows")
    assert instrument.installed() is None


@pytest.mark.parametrize("speed", ["0", "-5", "nan"])
def test_a_speed_that_is_not_above_zero_is_a_usage_error(
    two_inputs: tuple[Path, Path], tmp_path: Path, speed: str
) -> None:
    done = run("-i", two_inputs[0], "-o", tmp_path / "out", "--speed", speed)
    assert_refused(done, "--speed", "above 0")


def test_a_metrics_port_out_of_range_is_a_usage_error(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    done = run("-i", two_inputs[0], "-o", tmp_path / "out", "--metrics-port", "99999")
    assert_refused(done, "--metrics-port", "65535")


def test_an_output_directory_that_is_a_file_or_cannot_be_made(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("keep me", encoding="utf-8")
    assert_refused(run("-i", two_inputs[0], "-o", a_file), f"--out {a_file} is a file")
    assert a_file.read_text(encoding="utf-8") == "keep me"
    under_file = a_file / "out"
    assert_refused(run("-i", two_inputs[0], "-o", under_file), f"--out {under_file}: cannot")
    recovery_file = run("-i", two_inputs[0], "-o", tmp_path / "o", "--recovery", a_file)
    assert_refused(recovery_file, f"--recovery {a_file} is a file")


def test_a_missing_catalog_is_named_like_a_missing_input(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    done = CLI.invoke(app, ["run", "-i", str(two_inputs[0]), "-o", str(tmp_path / "o"),
                            "-c", str(tmp_path / "nodir")])  # fmt: skip
    assert_refused(done, "no such catalog file or directory", "nodir")


def test_a_recovery_directory_of_other_files_is_refused_before_bytewax(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_inputs
    out, recovery = tmp_path / "out", tmp_path / "recovery"
    first = run("-i", a, "-o", out, "--recovery", recovery)
    assert first.exit_code == 0, first.output
    other_input = run("-i", b, "-o", out, "--recovery", recovery)
    assert_refused(other_input, f"recovery directory {recovery}", str(a), "new --recovery")
    other_out = run("-i", a, "-o", tmp_path / "out2", "--recovery", recovery)
    assert_refused(other_out, f"wrote into {out},", "-o directory")
    # an input added since is no mismatch: Bytewax starts it afresh, and it is then expected
    added = run("-i", a, "-i", b, "-o", out, "--recovery", recovery)
    assert added.exit_code == 0, added.output
    assert_refused(run("-i", a, "-o", out, "--recovery", recovery), str(b))
    again = run("-i", a, "-i", b, "-o", out, "--recovery", recovery)
    assert again.exit_code == 0, again.output


def test_bytewax_refusing_an_unreadable_recovery_directory_is_explained(
    two_inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the snapshots cannot be read ahead, Bytewax's routing-map error is explained."""
    import citysigns.run

    a, b = two_inputs
    out, recovery = tmp_path / "out", tmp_path / "recovery"
    assert run("-i", a, "-o", out, "--recovery", recovery).exit_code == 0
    monkeypatch.setattr(citysigns.run, "recovered_keys", lambda _dir: {})
    done = run("-i", b, "-o", out, "--recovery", recovery)
    assert_refused(done, "made for other inputs or another output directory", "new --recovery")


def test_a_broken_registry_is_refused_with_every_error_before_the_flow_starts(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """`run --registry` reads the file as `citysigns registry check` does: every error with
    its line, then the count, and the flow does not start."""
    from flows.city import load_city

    lines = load_default_registry().to_csv_text(load_city()).splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[1], "unicorn", 1)
    lines.append(lines[1])  # line 6002 repeats line 2's sensor
    bad = tmp_path / "sensors.csv"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    done = run("-i", two_inputs[0], "-o", tmp_path / "out", "--registry", bad)
    assert_refused(
        done,
        f"{bad}:3: unknown sensor kind 'unicorn'; write one of",
        f"{bad}:6002: sensor id '{lines[1].split(',')[0]}' is already on line 2",
        f"sensor registry {bad}: 2 errors; the registry was not loaded",
    )
    assert not (tmp_path / "out" / "windows.ndjson").exists()


def test_a_registry_of_no_sensors_is_refused_before_the_flow_starts(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A header alone (an export cut short, a filter that kept nothing) is refused as `registry
    check` refuses it; it used to pass and stop the decoder with a Rust panic and a traceback."""
    header = tmp_path / "sensors.csv"
    header.write_text("sensor_id,kind,community,lat,lon\n", "utf-8")
    done = run("-i", two_inputs[0], "-o", tmp_path / "out", "--registry", header)
    assert_refused(
        done,
        f"{header}: no sensors; write one line per sensor after the header",
        f"sensor registry {header}: 1 error; the registry was not loaded",
    )
    assert not (tmp_path / "out" / "windows.ndjson").exists()


def test_an_input_whose_suffix_names_no_format_is_refused(tmp_path: Path) -> None:
    """A *.txt input stopped the run with a traceback (ValueError from the replay source)."""
    data = tmp_path / "readings.txt"
    data.write_text('{"sensor_id": "AQ-1"}\n', encoding="utf-8")
    done = run("-i", data, "-o", tmp_path / "out")
    assert_refused(done, "readings.txt", "'.txt'", "*.ndjson, *.jsonl, *.json or *.csv")
    assert not (tmp_path / "out").exists()  # refused before the flow made its outputs


def test_a_full_disk_stops_the_run_with_what_to_do(
    two_inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filling up while the flow writes its outputs (Bytewax's file sink writing, as
    on a full disk, with ENOSPC) stopped the run with Bytewax's panic and a Python traceback;
    now one line says what stopped it and what to do, exit 1."""

    def full(self: object, values: list[str]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files._FileSinkPartition, "write_batch", full)
    out = tmp_path / "out"
    done = run("-i", two_inputs[0], "-o", out)
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit), done.exception
    # the last words are the command's (Bytewax may print its panic, and the sink's
    # exception, before them: not the command's own traceback)
    last = done.output.strip().splitlines()[-1]
    assert last.startswith(f"the run stopped: cannot write the outputs in {out}: No space left")
    assert "free some space and start the same command again: it starts over" in done.output
    resumable = run("-i", two_inputs[0], "-o", out, "--recovery", tmp_path / "rec")
    assert resumable.exit_code == 1, resumable.output
    assert f"resumes from the last snapshot in {tmp_path / 'rec'}" in resumable.output


def test_an_output_file_that_cannot_be_written_is_named(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A folder made read-only stopped the run with an OSError traceback (root writes past
    the permission bits, so a directory in the file's place stands for it here)."""
    out = tmp_path / "out"
    (out / "orders.ndjson").mkdir(parents=True)
    done = run("-i", two_inputs[0], "-o", out)
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit), done.exception
    assert f"the run stopped: cannot write {out / 'orders.ndjson'}: Is a directory" in done.output
    assert "make it writable and start the same command again" in done.output


def test_a_resume_refuses_an_input_cut_or_replaced_since_its_snapshots(
    two_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """Resumed over an input file cut back since the snapshots (shorter than where they
    stopped reading), Bytewax read nothing more of it; over one replaced (another export at
    the same path), it read from the middle of a line of the new file: both without a word,
    the outputs then neither the old file's nor the new one's.  Now the resume is refused,
    naming the file and what to do; a file appended to resumes (its new lines are read)."""
    data = two_inputs[0].read_bytes()
    a = tmp_path / "a.ndjson"
    a.write_bytes(data)
    args = ("-i", a, "-o", tmp_path / "out", "--recovery", tmp_path / "rec")
    assert run(*args).exit_code == 0
    a.write_bytes(data[: len(data) // 2])
    assert_refused(run(*args), f"{a} changed since the last snapshot", f"it is {len(data) // 2:,}",
                   "use a new --recovery directory")  # fmt: skip
    other = list(itertools.islice(beijing_records(load_default_registry()), 12 * 24 * 3))
    write_ndjson(other[12 * 24 :], a)  # the next days' export, where the first one was
    assert a.stat().st_size >= len(data)
    assert_refused(run(*args), f"{a} changed since the last snapshot",
                   "are not those it read")  # fmt: skip
    a.write_bytes(data + b"".join(a.read_bytes().splitlines(keepends=True)[:5]))
    appended = run(*args)
    assert appended.exit_code == 0, appended.output
