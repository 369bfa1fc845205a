"""The recovery directory is either absent or ready: never half made."""

from __future__ import annotations

from pathlib import Path

from citysigns.run import init_recovery_dir


def _partitions(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_made_beside_and_renamed_into_place(tmp_path: Path) -> None:
    target = tmp_path / "recovery"
    (tmp_path / "recovery.init").mkdir()  # a start killed while making it
    (tmp_path / "recovery.init" / "half-made").write_text("")
    init_recovery_dir(target, 2)
    assert len(_partitions(target)) == 2 and "half-made" not in _partitions(target)
    assert not (tmp_path / "recovery.init").exists()


def test_an_empty_directory_is_initialised(tmp_path: Path) -> None:
    target = tmp_path / "recovery"
    target.mkdir()
    init_recovery_dir(target, 1)
    assert len(_partitions(target)) == 1
