"""`citysigns rules --out DIR`: compile the catalog into Prometheus rules, their promtool tests,
an example prometheus.yml and Alertmanager configuration, and the runbooks.

The `citysigns` command mounts the function `rules` as its command `rules` (it has no
subcommands); `app` holds it as a Typer app of its own, for embedding."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from citysigns.errors import fail, make_dir
from flows.metrics import MetricsConfig
from indicators.language.validate import load_catalog

from .alertmanager_config import API_PORT, WEBHOOK_PATH, AlertmanagerOptions
from .options import RulesOptions
from .write import RULES_DIR, TESTS_DIR, write_rules

app = typer.Typer(
    help="Compile the catalog into Prometheus and Alertmanager files.",
    add_completion=False,
    rich_markup_mode=None,  # as the citysigns command (citysigns/cli.py)
    pretty_exceptions_enable=False,
)


def default_catalog() -> list[Path]:
    from citysigns.paths import CATALOG_DIR

    return [CATALOG_DIR]


@app.callback(invoke_without_command=True)
def rules(
    out: Annotated[Path, typer.Option("--out", help="directory to write into")],
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="catalog files or directories (default: packaged)",
            metavar="PATH",
        ),
    ] = None,
    grafana_url: Annotated[str, typer.Option(help="base URL of dashboard links")] = (
        "http://localhost:3000"
    ),
    runbook_base: Annotated[
        str, typer.Option(help="where runbooks.md is published (runbook links)")
    ] = "runbooks.md",
    job: Annotated[str, typer.Option(help="the Prometheus job that scrapes the flow")] = (
        "citysigns"
    ),
    max_area_level: Annotated[
        str, typer.Option(help="finest area level the exporter exports")
    ] = "street",
    max_series: Annotated[int, typer.Option(help="the exporter's series budget")] = 200_000,
    webhook_url: Annotated[
        str, typer.Option(help="the ticket API's Alertmanager webhook (citysigns serve)")
    ] = f"http://127.0.0.1:{API_PORT}{WEBHOOK_PATH}",
    webhook_token_file: Annotated[
        str | None,
        typer.Option(
            help="file holding a dispatcher's bearer token, as Alertmanager will find it "
            "(the API refuses the webhook without one)"
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="then run promtool check rules and test rules")
    ] = False,
) -> None:
    """Compile the catalog into Prometheus and Alertmanager files.

    Writes rules/, their promtool tests/, an example prometheus.yml, alertmanager/ routes and
    runbooks.md under --out."""
    cat, diags = load_catalog(catalog or default_catalog())
    if diags:
        for d in diags:
            typer.echo(str(d), err=True)
        typer.echo("fix the catalog first (`citysigns check`)", err=True)
        raise typer.Exit(1)
    try:
        options = RulesOptions(
            grafana_url=grafana_url,
            runbook_base=runbook_base,
            job=job,
            metrics=MetricsConfig(max_area_level=max_area_level, max_series=max_series),
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if not webhook_url.startswith(("http://", "https://")):  # Alertmanager refuses the file
        fail(f"--webhook-url {webhook_url!r} is not an http:// or https:// URL")
    make_dir(out, "--out")
    try:
        rule_set, files = write_rules(
            cat,
            out,
            options,
            AlertmanagerOptions(webhook_url=webhook_url, token_file=webhook_token_file),
        )
    except OSError as e:  # a file of that name, a read-only folder, a full disk
        fail(f"--out {out}: cannot write {e.filename or out}: {e.strerror or e}")
    typer.echo(
        f"wrote {len(files)} files to {out}: {len(rule_set.indicator_alerts)} indicator alerts, "
        f"{len(rule_set.pipeline_alerts)} pipeline alerts, {len(rule_set.tests)} test files"
    )
    for ind_id, why in rule_set.skipped:
        typer.echo(f"no alert for {ind_id}: {why}")
    if check:
        raise typer.Exit(run_promtool(out))


def run_promtool(out: Path) -> int:
    """`promtool check rules` then `promtool test rules` on a written directory; exit status."""
    promtool = shutil.which("promtool")
    if promtool is None:
        typer.echo("promtool is not installed (scripts/ensure-prometheus.sh installs it)", err=True)
        return 2
    rules = sorted(str(p) for p in (out / RULES_DIR).glob("*.rules.yml"))
    tests = sorted(str(p) for p in (out / TESTS_DIR).glob("*.test.yml"))
    for cmd in ([promtool, "check", "rules", *rules], [promtool, "test", "rules", *tests]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            typer.echo(done.stdout + done.stderr, err=True)
            return 1
    typer.echo(f"promtool: {len(rules)} rule files checked, {len(tests)} test files passed")
    return 0
