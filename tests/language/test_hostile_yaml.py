"""Hostile files are refused with a positioned message, quickly: never a hang, a traceback or
a memory blow-up.  The timeout marks are guards against a hang, not performance targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from indicators.language.validate import load_catalog


def one_error(path: Path) -> str:
    _, diags = load_catalog([path])
    assert len(diags) == 1, [str(d) for d in diags]
    return str(diags[0])


@pytest.mark.timeout(20)
def test_fifty_megabyte_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.write(b"indicators:\n")
        f.truncate(50 * 1024 * 1024)
    msg = one_error(big)
    assert msg.startswith(f"{big}:1:1: the file is 52.4 MB, over the 1 MiB limit")


@pytest.mark.timeout(20)
def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert "expands to more than 200,000 values" in one_error(bomb)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "rec.yaml"
    f.write_text("indicators: &x [*x]\n")
    assert "recursive alias" in one_error(f)


@pytest.mark.timeout(20)
def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text("indicators: " + "[" * 100_000 + "]" * 100_000 + "\n")
    msg = one_error(f)
    assert f"{f}:1:" in msg and "nested more than 40 levels" in msg


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes("indicators:\n  - id: caf\xe9\n".encode("latin-1"))
    msg = one_error(f)
    assert msg.startswith(f"{f}:2:12: byte 0xe9 is not UTF-8")


def test_nul_bytes_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"indicators: []\n\x00\x01")
    assert "NUL bytes" in one_error(f)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "tag.yaml"
    f.write_text("indicators: !!python/object/apply:os.system ['true']\n")
    assert "only plain YAML values are allowed" in one_error(f)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("indicators: []\nindicators: []\n")
    assert one_error(f).startswith(f'{f}:2:1: key "indicators" appears twice')


def test_empty_and_scalar_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert "the file is empty" in one_error(empty)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    assert "a catalog file is a mapping" in one_error(scalar)


def test_missing_path_is_an_error_not_a_crash(tmp_path: Path) -> None:
    assert "no such file" in one_error(tmp_path / "nope.yaml")
