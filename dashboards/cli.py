"""`citysigns dashboards --out DIR` writes the dashboards and provisioning files;
`citysigns dashboards push --url URL --token TOKEN` uploads them to a running Grafana.

Exposed as a Typer app (`app`) that the `citysigns` command mounts as `dashboards`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from indicators.language.model import Indicator
from indicators.language.validate import load_catalog

if TYPE_CHECKING:
    from alerts.rules.options import RulesOptions

app = typer.Typer(
    help="Write the Grafana dashboards, or push them to Grafana.\n\nThe dashboards are "
    "generated from the catalog; without a command, --out DIR is required.",
    add_completion=False,
    rich_markup_mode=None,  # as the citysigns command (citysigns/cli.py)
    pretty_exceptions_enable=False,
)

CatalogOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog", help="catalog files or directories (default: packaged)", metavar="PATH"
    ),
]


def _catalog(paths: list[Path] | None) -> list[Indicator]:
    if not paths:
        from citysigns.paths import CATALOG_DIR

        paths = [CATALOG_DIR]
    cat, diags = load_catalog(paths)
    if diags:
        for d in diags:
            typer.echo(str(d), err=True)
        typer.echo("fix the catalog first (`citysigns check`)", err=True)
        raise typer.Exit(1)
    return list(cat)


@app.callback(invoke_without_command=True)
def dashboards(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="directory to write dashboards/ and provisioning/")
    ] = None,
    catalog: CatalogOption = None,
    prometheus_url: Annotated[
        str, typer.Option(help="Prometheus URL written into the datasource provisioning")
    ] = "http://127.0.0.1:9090",
    dashboards_path: Annotated[
        str, typer.Option(help="where Grafana reads the dashboard JSON (file provider path)")
    ] = "/var/lib/grafana/dashboards/citysigns",
    job: Annotated[str, typer.Option(help="the Prometheus job that scrapes the flow")] = (
        "citysigns"
    ),
    max_area_level: Annotated[
        str, typer.Option(help="finest area level the exporter exports (as for `rules`)")
    ] = "street",
) -> None:
    """Write OUT/dashboards/*.json and OUT/provisioning/{datasources,dashboards}/."""
    if ctx.invoked_subcommand is not None:
        # `push` builds the same dashboards: the catalog, scrape job and area level given here
        # (`citysigns dashboards --job J push ...`) hold there, unless it is given its own
        ctx.obj = {"catalog": catalog, "job": job, "max_area_level": max_area_level}
        return
    if out is None:
        typer.echo("give --out DIR (or use `push`)", err=True)
        raise typer.Exit(2)
    from .build import exported_by_category, write_dashboards

    options = _options(job, max_area_level)
    cat = _catalog(catalog)
    from citysigns.errors import fail, make_dir

    make_dir(out, "--out")
    try:
        files = write_dashboards(
            cat,
            out,
            prometheus_url=prometheus_url,
            dashboards_path=dashboards_path,
            options=options,
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    except OSError as e:  # a file of that name, a read-only folder, a full disk
        fail(f"--out {out}: cannot write {e.filename or out}: {e.strerror or e}")
    n = sum(1 for f in files if f.suffix == ".json")
    typer.echo(f"wrote {n} dashboards and {len(files) - n} provisioning files to {out}")
    for ind in exported_by_category(cat, options)[1]:
        typer.echo(
            f"no panel for {ind.id}: levels {', '.join(ind.value.levels)} are all finer than "
            f"the exported max_area_level {max_area_level}"
        )


def _options(job: str, max_area_level: str) -> RulesOptions:
    """The options the dashboards are built with, as `citysigns rules` is given them; a bad
    value is a message and exit 2."""
    from alerts.rules.options import RulesOptions
    from flows.metrics import MetricsConfig

    try:
        return RulesOptions(job=job, metrics=MetricsConfig(max_area_level=max_area_level))
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@app.command()
def push(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="Grafana's base URL")],
    token: Annotated[
        str, typer.Option("--token", envvar="GRAFANA_TOKEN", help="a service-account token")
    ],
    catalog: CatalogOption = None,
    job: Annotated[
        str | None,
        typer.Option(help="the Prometheus job that scrapes the flow  [default: citysigns]"),
    ] = None,
    max_area_level: Annotated[
        str | None,
        typer.Option(
            help="finest area level the exporter exports (as for `rules`)  [default: street]"
        ),
    ] = None,
) -> None:
    """Upload the dashboards to a running Grafana.

    Every dashboard goes into the `citysigns` folder (created when missing) and replaces its
    previous version there.  Give the same --catalog, --job and --max-area-level as to
    `citysigns rules` (here or before `push`)."""
    from .build import build_dashboards
    from .push import PushError, push_dashboards

    given = ctx.obj or {}
    options = _options(
        job or given.get("job", "citysigns"),
        max_area_level or given.get("max_area_level", "street"),
    )
    if not url.startswith(("http://", "https://")):  # the client would build a nonsense URL
        typer.echo(f"error: --url {url!r} is not an http:// or https:// URL", err=True)
        raise typer.Exit(2)
    try:
        cat = _catalog(catalog or given.get("catalog"))
        result = push_dashboards(build_dashboards(cat, options=options), url, token)
    except (PushError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    except OSError as e:
        typer.echo(f"error: cannot reach Grafana at {url}: {e}", err=True)
        raise typer.Exit(1) from None
    created = " (folder created)" if result.folder_created else ""
    typer.echo(f"pushed {len(result.dashboards)} dashboards to {url}{created}")
