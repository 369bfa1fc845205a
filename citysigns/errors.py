"""How a command ends on an operator's mistake: one line on stderr and an exit status, never a
traceback.  Status 2 is a bad argument, or a file, port or service an argument names that
cannot be used (as click reports a bad option); status 1 is content that is wrong (a catalog
with errors, a failed test)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` as it is (no rich markup: paths and URLs may hold brackets) and exit."""
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def require_catalog(paths: Sequence[Path] | None, option: str = "") -> None:
    """Exit 2 naming the --catalog paths that do not exist, as `run` does for its inputs (the
    catalog loader would report them as an error *in* a file, status 1).  `option` names the
    option that gave them ("--beside"), where the paths are not the command's own catalog."""
    missing = [str(p) for p in paths or () if not p.exists()]
    if missing:
        given = f" (given with {option})" if option else ""
        fail(f"no such catalog file or directory{given}: {', '.join(missing)}")


def require_file(path: Path | None, what: str) -> None:
    """Exit 2 when an optional file argument (`what`: "routing file") is given but absent."""
    if path is not None and not path.is_file():
        fail(f"no such {what}: {path}")


def make_dir(path: Path, option: str) -> None:
    """Make a directory option's directory now, or exit 2 saying why it cannot be: a regular
    file of that name, or a place where none can be made, would otherwise end the command
    with an OSError traceback once it has done its work."""
    if path.exists() and not path.is_dir():
        fail(f"{option} {path} is a file, not a directory: give a directory (made if absent)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"{option} {path}: cannot make this directory: {e.strerror or e}")
