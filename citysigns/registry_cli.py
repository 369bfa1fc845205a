"""`citysigns registry`: the sensor registry a deployment runs the flow with.  Export the
shipped one as a CSV to start from, check a file, and see before a restart what switching to
it does to the flow's recovery state (which indicators are renumbered, which lose sensors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.city import SensorRegistry, load_city, load_default_registry, load_registry
from flows.city.registry import RegistryError
from indicators.language.validate import load_catalog

from .paths import CATALOG_DIR

app = typer.Typer(
    help="Export or check a sensor registry.\n\nExport the shipped one as CSV to start a "
    "deployment's own from; check a deployment's file before a restart.",
    no_args_is_help=True,
    rich_markup_mode=None,  # as the citysigns command (cli.py)
)
console = Console(width=200)
err = Console(stderr=True, soft_wrap=True)


def load_or_report(path: Path | None, to: Console) -> SensorRegistry | None:
    """The registry at `path` (None: the shipped one), or None after printing to `to` what is
    wrong in it: every error as file:line (up to a cap), then one summary line."""
    try:
        return load_registry(path, load_city())
    except RegistryError as e:
        for line in e.errors:
            to.print(line, highlight=False, markup=False, soft_wrap=True)
        to.print(f"sensor registry {e.summary}", highlight=False, markup=False, soft_wrap=True)
    except (OSError, ValueError) as e:
        to.print(f"sensor registry: {e}", highlight=False, markup=False, soft_wrap=True)
    return None


def load_or_exit(path: Path | None, code: int = 1) -> SensorRegistry:
    """The registry at `path` (None: the shipped one), or exit `code` after printing what is
    wrong in it on stderr (see `load_or_report`): before a flow or a replay starts."""
    registry = load_or_report(path, err)
    if registry is None:
        raise typer.Exit(code)
    return registry


def changes_by_kind(old: SensorRegistry, new: SensorRegistry) -> dict[str, tuple[int, int, int]]:
    """kind -> (sensors in `new`, added since `old`, removed since `old`)."""
    out: dict[str, tuple[int, int, int]] = {}
    for kind in sorted(set(old.kinds) | set(new.kinds)):
        before = set(old.ids(old.kind_rows(kind))) if kind in old.kinds else set()
        after = set(new.ids(new.kind_rows(kind))) if kind in new.kinds else set()
        if before or after:
            out[kind] = (len(after), len(after - before), len(before - after))
    return out


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="the CSV file to write")],
) -> None:
    """Write the registry shipped with the package as CSV.

    The columns are sensor_id,kind,community,lat,lon: the format --registry reads, to start
    a deployment's own from."""
    registry = load_default_registry()
    out.write_text(registry.to_csv_text(load_city()), "utf-8")
    console.print(f"{out}: {len(registry):,} sensors", highlight=False)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="the registry to check (CSV, .csv.gz or .npz)")],
    against: Annotated[
        Path | None,
        typer.Option(help="the registry the flow runs with now (default: the shipped one)"),
    ] = None,
    catalog: Annotated[
        list[Path] | None,
        typer.Option("--catalog", "-c", help="catalog dir or file (repeat)", metavar="PATH"),
    ] = None,
) -> None:
    """Check a registry file and compare it with the one in use.

    Errors are listed as file:line, all of them up to a cap, then how many (exit 1).  The
    comparison shows sensors per kind, added and removed, and what a restart from recovery
    under it does to each sensor-level indicator."""
    # On stdout, in the order found: the errors are this command's report, not a failure of
    # it, and a log that keeps stdout and stderr apart would show them after everything else.
    new = load_or_report(file, console)
    old = load_or_report(against, console)  # None: the shipped one
    if new is None or old is None:
        raise typer.Exit(1)
    changes = changes_by_kind(old, new)
    table = Table(
        title=f"{file}: {len(new):,} sensors (against {against or 'the shipped registry'})"
    )
    for col in ("kind", "sensors", "added", "removed"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, (n, added, removed) in changes.items():
        table.add_row(kind, f"{n:,}", f"{added:,}", f"{removed:,}")
    console.print(table)
    cat, diags = load_catalog(list(catalog or [CATALOG_DIR]))
    if diags:
        err.print(f"the catalog has {len(diags)} error(s): run `citysigns check`", highlight=False)
        raise typer.Exit(1)
    for ind in sorted(cat, key=lambda i: i.id):
        if "sensor" not in ind.value.levels or ind.source.kind not in changes:
            continue
        _, added, removed = changes[ind.source.kind]
        if removed:
            what = (
                f"the open windows and baselines of {removed:,} removed sensor(s) are dropped, "
                "their firing warnings withdrawn"
            )
        elif added:
            what = f"nothing dropped ({added:,} new sensor(s) start fresh)"
        else:
            continue
        console.print(f"{ind.id}: renumbered on restart; {what}", highlight=False)
