"""The `citysigns` command.  Each subcommand is a thin shell over library code; a user's
mistake ends with a message and exit status 1 or 2, never with a traceback."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from alerts.rules.cli import rules as rules_command
from dashboards.cli import app as dashboards_app
from flows.flow import FlowConfig
from flows.metrics import MetricsConfig
from indicators.language.diagnostics import Diagnostic
from indicators.language.durations import format_duration
from indicators.language.registry import AREA_LEVELS
from indicators.language.schema import SCHEMA_PATH, schema_text
from indicators.language.validate import Catalog, catalog_files, id_clashes, load_catalog

from .dispatch_cli import dispatch as dispatch_command
from .errors import fail, make_dir, require_catalog, require_file
from .paths import CATALOG_DIR
from .registry_cli import app as registry_app
from .registry_cli import load_or_exit

if TYPE_CHECKING:
    from flows.city import SensorRegistry

    from .run import RunSummary

# Help as click formats it (rich_markup_mode=None): it rewraps each paragraph to the terminal
# and never cuts a default or a path short, where rich's option tables did at 80 columns.
# A command's summary in `citysigns --help` is the first sentence of its docstring, so each
# docstring opens with one short sentence.
app = typer.Typer(
    name="citysigns",
    rich_markup_mode=None,
    help="Real-time city-sign monitoring: sensor and citizen streams -> indicator windows -> "
    "anomaly scores -> early warnings -> dispatch tickets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Tables stay readable when piped into a file or a pager (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

app.add_typer(dashboards_app, name="dashboards")
app.add_typer(registry_app, name="registry")
app.command(name="dispatch")(dispatch_command)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ZonedFormatter(logging.Formatter):
    """Log lines stamped in ISO 8601 with the machine's UTC offset
    (2026-03-02T10:15:00.123+08:00): tickets and warnings carry their offset, and a log line
    read beside them must say which clock it is on."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return (
            datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        )


@app.callback()
def _options(
    log_level: Annotated[
        str, typer.Option(help="log messages at this level and above: debug, info, warning, error")
    ] = "info",
) -> None:
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"{log_level!r} is not one of debug, info, warning, error")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ZonedFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


CatalogPaths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="catalog files or directories (default: the packaged catalog)", metavar="PATH"
    ),
]


def _paths(paths: list[Path] | None) -> list[Path]:
    if paths:
        return list(paths)
    try:  # shorter messages when run from inside the repository
        return [CATALOG_DIR.relative_to(Path.cwd())]
    except ValueError:
        return [CATALOG_DIR]


def _clashes(catalog: Catalog, files: list[Path], beside: list[Path] | None) -> list[Diagnostic]:
    """The ids of the checked files that the catalog they run with defines in its other
    files (the checked files among them are the same definitions, not clashes)."""
    checked = {f.resolve() for f in files}
    others = [f for f in catalog_files(_paths(beside)) if f.resolve() not in checked]
    if not others:
        return []
    other, _ = load_catalog(others)  # (its own errors are its own check's business)
    what = "in the catalog given with --beside" if beside else "in the packaged catalog"
    return id_clashes(catalog, other, f"{what}; write --standalone if these files replace it")


def print_diagnostics(diags: list[Diagnostic], catalog: Catalog) -> None:
    for d in diags:
        err.print(str(d), markup=False, highlight=False)
        text = catalog.texts.get(d.path)
        if text:
            err.print(d.excerpt(text), markup=False, highlight=False)


@app.command()
def check(
    paths: CatalogPaths = None,
    beside: Annotated[
        list[Path] | None,
        typer.Option(
            "--beside",
            help="the catalog the files will run with, whose ids they must not reuse "
            "(repeat; default: the packaged catalog)",
            metavar="PATH",
        ),
    ] = None,
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone",
            help="the files are a whole catalog that replaces the packaged one (run --catalog): "
            "do not compare their ids with another",
        ),
    ] = False,
) -> None:
    """Validate catalog files.

    Every error of every file is reported, each as path:line:col.  A draft runs beside the
    packaged catalog (or the --beside one), so an id it reuses from there is an error too."""
    # A --beside path that is not there read as an empty catalog: the draft passed without
    # its ids being compared with anything.
    require_catalog(beside, "--beside")
    files = catalog_files(_paths(paths))
    catalog, diags = load_catalog(_paths(paths))
    if not standalone:
        diags = sorted([*diags, *_clashes(catalog, files, beside)])
    if diags:
        print_diagnostics(diags, catalog)
        err.print(f"{len(diags)} error(s) in {len(files)} file(s)", highlight=False)
        raise typer.Exit(1)
    console.print(f"ok: {len(catalog)} indicators in {len(files)} file(s)", highlight=False)


@app.command()
def schema(
    write: Annotated[
        bool,
        typer.Option(
            "--write", help=f"write it to {SCHEMA_PATH.name} in the repo instead of printing it"
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of catalog files.

    Editors use it to complete and check catalog files as they are written.  With --write
    only where it went is printed: the schema is in the file, and a screen of JSON hid that
    line."""
    text = schema_text()
    if write:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        console.print(
            f"wrote the schema to {SCHEMA_PATH}", markup=False, highlight=False, soft_wrap=True
        )
        return
    sys.stdout.write(text)


@app.command("catalog")
def catalog_table(paths: CatalogPaths = None) -> None:
    """Show the indicators of a catalog as a table."""
    catalog, diags = load_catalog(_paths(paths))
    if diags:
        print_diagnostics(diags, catalog)
        err.print("fix the errors above first (`citysigns check`)")
        raise typer.Exit(1)
    console.print(catalog_as_table(catalog))


def catalog_as_table(catalog: Catalog) -> Table:
    table = Table(title=f"{len(catalog)} indicators", show_lines=False)
    for col in ("id", "title", "category", "source", "value", "window", "levels", "detectors",
                "warn on", "dispatch"):  # fmt: skip
        table.add_column(col, overflow="fold", no_wrap=col == "id")
    for ind in catalog:
        v = ind.value
        w = v.window
        window = format_duration(w.length)
        if w.type == "sliding" and w.step:
            window += f" every {format_duration(w.step)}"
        disp = ind.dispatched()
        table.add_row(
            ind.id,
            f"{ind.title.zh}\n{ind.title.en}",
            ind.category,
            ind.source.kind,
            f"{v.aggregate}({v.field or ''}) {ind.unit}",
            window,
            ",".join(v.levels),
            ",".join(d.type for d in ind.detection.detectors),
            f"{ind.detection.warnings.on} ({','.join(ind.detection.warnings.levels)})",
            disp.department if disp else "-",
        )
    return table


RegistryOption = Annotated[
    Path | None,
    typer.Option(
        help="the sensor registry: CSV (sensor_id,kind,community,lat,lon) or .npz; "
        "default: the one shipped with the package"
    ),
]


def _use_registry(path: Path | None, replays: bool = True) -> SensorRegistry | None:
    """Check the deployment's registry, or exit 2 with the file:line of what is wrong in it;
    with `replays`, this process's replays (test, backtest) place sensors with it."""
    if path is None:
        return None
    from indicators.testing.pipeline import use_registry

    sensors = load_or_exit(path, code=2)
    if replays:
        use_registry(sensors)
    console.print(f"sensor registry: {path} ({len(sensors):,} sensors)", highlight=False)
    return sensors


def _positive_speed(value: float | None) -> float | None:
    """--speed must be above 0 (a pace of 0 would never deliver anything); checked while the
    arguments are parsed, so the usage error comes before the catalog and the flow load."""
    if value is not None and not value > 0:  # `not >` refuses NaN too
        raise typer.BadParameter(
            f"{value} is not a speed: give a number above 0, or leave it out to replay as fast "
            "as possible"
        )
    return value


def _area_level(value: str) -> str:
    """--metrics-max-area-level must name an area level, as `rules --max-area-level` must."""
    if value not in AREA_LEVELS:
        raise typer.BadParameter(f"{value!r} is not an area level: one of {', '.join(AREA_LEVELS)}")
    return value


@app.command("run")
def run_command(
    inputs: Annotated[
        list[Path],
        typer.Option(
            "--input",
            "-i",
            help="NDJSON or CSV file to replay (repeat); `-` alone: a live NDJSON stream of one "
            "family on standard input, read until it closes or SIGINT / SIGTERM",
            metavar="PATH",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    catalog: Annotated[
        list[Path] | None,
        typer.Option("--catalog", "-c", help="catalog dir or file (repeat)", metavar="PATH"),
    ] = None,
    registry: RegistryOption = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, max=64, help="worker threads")
    ] = 1,
    speed: Annotated[
        float | None,
        typer.Option(
            help="replay N times faster than real time (default: max)", callback=_positive_speed
        ),
    ] = None,
    recovery: Annotated[
        Path | None, typer.Option(help="Bytewax recovery directory (created if absent)")
    ] = None,
    snapshot_every: Annotated[
        float, typer.Option(help="seconds between recovery snapshots (Bytewax epochs)")
    ] = 10.0,
    chunk_bytes: Annotated[
        int, typer.Option(help="bytes of input per batch", min=1024)
    ] = FlowConfig.chunk_bytes,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="serve Prometheus metrics on PORT of --metrics-addr (0: any free port)",
            min=0,
            max=65535,
        ),
    ] = None,
    metrics_addr: Annotated[
        str,
        typer.Option(
            help="the address the metrics are served on; put a reverse proxy in front rather "
            "than 0.0.0.0"
        ),
    ] = MetricsConfig.addr,
    metrics_max_area_level: Annotated[
        str,
        typer.Option(
            help=f"finest area level the exporter exports: {', '.join(AREA_LEVELS)}; give "
            "`citysigns rules` and `dashboards` the same --max-area-level",
            callback=_area_level,
        ),
    ] = MetricsConfig.max_area_level,
    metrics_max_series: Annotated[
        int,
        typer.Option(
            help="the exporter's series budget (indicator samples, 5 per indicator and area); "
            "give `citysigns rules` the same --max-series",
            min=0,
        ),
    ] = MetricsConfig.max_series,
    linger: Annotated[
        float, typer.Option(help="keep serving metrics this many seconds after the run")
    ] = 0.0,
) -> None:
    """Replay files, or a live stream (-i -), through the flow.

    It writes OUT/windows.ndjson, warnings.ndjson, orders.ndjson and dead_letters.ndjson,
    emptied first: each holds this run's lines only.  With --recovery it resumes where a
    killed run stopped, its files going on from the snapshots, and the summary counts the
    whole run.  SIGINT or SIGTERM stops a replay at once; a live run ends its input there
    and closes and writes its windows first, as when the pipe is closed."""
    from flows.metrics import MetricsPortError
    from flows.sources import file_format

    from .run import (
        LIVE_IDLE_AFTER_S,
        STDIN,
        RecoveryMismatchError,
        RunInterruptedError,
        RunStoppedError,
        run,
    )

    live = STDIN in (str(p) for p in inputs)
    if live and len(inputs) > 1:
        fail("-i - (standard input) is read alone: give the files to another run, or write "
             "them into the stream")  # fmt: skip
    if live and recovery is not None:
        fail("--recovery cannot resume standard input (a pipe cannot be read again): leave "
             "it out with -i -")  # fmt: skip
    if live and speed is not None:
        fail("--speed paces file replays; standard input (-i -) comes at its own pace")
    missing = [str(p) for p in inputs if not live and not p.is_file()]
    if missing:
        fail(f"no such input file: {', '.join(missing)}")
    for path in [] if live else inputs:
        try:
            file_format(path)
        except ValueError as e:
            fail(str(e))
    require_catalog(catalog)
    cat_paths = _paths(catalog)
    cat, diags = load_catalog(cat_paths)
    if diags:
        print_diagnostics(diags, cat)
        raise typer.Exit(1)
    sensors = _use_registry(registry, replays=False)  # the flow loads it in each worker
    if cat.sensor_ids:  # a `sensor_id` filter names sensors of the registry the flow runs with
        from flows.city import load_default_registry
        from flows.plan import unknown_filter_sensors

        unknown = unknown_filter_sensors(cat, sensors or load_default_registry())
        if unknown:
            print_diagnostics(unknown, cat)
            raise typer.Exit(1)
    make_dir(out, "--out")
    if recovery is not None:
        make_dir(recovery, "--recovery")
    cfg = FlowConfig(
        inputs=tuple(str(p) for p in inputs),
        out_dir=str(out),
        catalog=tuple(str(p) for p in cat_paths),
        speed=speed,
        chunk_bytes=chunk_bytes,
        registry=None if registry is None else str(registry),
        idle_after=LIVE_IDLE_AFTER_S if live else None,
    )
    exporter = MetricsConfig(
        addr=metrics_addr, max_area_level=metrics_max_area_level, max_series=metrics_max_series
    )
    if metrics_port is None and exporter != MetricsConfig():
        fail("--metrics-addr, --metrics-max-area-level and --metrics-max-series set the "
             "exporter: give --metrics-port too")  # fmt: skip
    server = None
    if metrics_port is not None:
        from .run import start_metrics

        try:
            _metrics, server = start_metrics(cfg, metrics_port, exporter)
        except MetricsPortError as e:
            fail(f"cannot start: {e}")
        console.print(f"metrics on {server.url}", highlight=False)
    try:
        summary = run(cfg, workers=workers, recovery_dir=recovery, snapshot_every=snapshot_every)
    except RecoveryMismatchError as e:
        fail(f"cannot resume: {e}")
    except RunStoppedError as e:
        fail(str(e), 1)
    except RunInterruptedError as e:
        fail(str(e), e.exit_code)
    finally:
        if server is not None:
            from .run import stop_metrics

            time.sleep(linger)
            stop_metrics(server)
    table = Table(
        title=f"run: {out}", caption=_resumed_caption(summary, recovery), caption_justify="left"
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    read = "read since the resume" if summary.decoded_since_resume else "read"
    for source, outcomes in summary.decoded.items():  # what was read, per source
        table.add_row(f"{read}: {source}", _decoded_row(source, outcomes))
    for what, count in window_rows(summary):
        table.add_row(what, count)
    for reason, n in sorted(summary.dead_letters.items()):
        table.add_row(f"dead letters: {reason}", f"{n:,}")
    console.print(table)
    if summary.stopped_by:  # a live run whose input a signal ended: its outputs are whole
        console.print(f"stopped by {summary.stopped_by}: standard input ended there; the "
                      f"outputs in {out} hold every line read, as if the pipe had closed",
                      highlight=False)  # fmt: skip


def window_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """The summary's rows about windows: how many closed, how many of them an area went
    silent in, and per indicator how many had fewer records than its `min_count` and were
    not judged, which an indicator whose areas rarely reach it does nearly always (the demo
    city's checkpoint.abnormal_rate: 3,063 of its 3,068), and which no row said."""
    rows = [
        ("windows", f"{summary.windows:,}"),
        ("  of which no-signal", f"{summary.no_signal:,}"),
    ]
    if summary.unjudged:
        total = sum(summary.unjudged.values())
        rows.append(("  of which too few records to judge (min_count)", f"{total:,}"))
        for ind, n in sorted(summary.unjudged.items()):
            rows.append((f"    {ind}", f"{n:,} of its {summary.indicators[ind]:,}"))
    return rows


def _resumed_caption(summary: RunSummary, recovery: Path | None) -> str | None:
    """What a resumed run's counts cover, so that an operator reconciling them with the
    inputs knows: the whole run's, or (a snapshot of an earlier version, which kept no
    counts) the records read since the resume beside the outputs' whole-run counts."""
    if not summary.resumed:
        return None
    if summary.decoded_since_resume:
        return (
            f"resumed from the recovery snapshots in {recovery}, which keep no counts of what "
            "was read before (an earlier version wrote them): the read rows count what was "
            "read since the resume; windows and dead letters are the whole run's"
        )
    return (
        f"resumed from the recovery snapshots in {recovery}: every count is the whole run's, "
        "the runs before the resume included"
    )


def _counted(n: int, noun: str) -> str:
    """ "1 record", "2,578 records": a count with its noun, in the singular for one."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _decoded_row(source: str, outcomes: dict[str, int]) -> str:
    """ "2,578 records accepted, 5 records to dead letters, 1 repeated record dropped": a
    citizen channel's records read are the three together; a sensor record may carry several
    values, so its accepted and repeated values are counted as values, its refused records
    as records."""
    unit = "value" if source == "sensor" else "record"
    parts = [f"{_counted(outcomes.get('accepted', 0), unit)} accepted"]
    if unplaced := outcomes.get("unplaced", 0):
        parts[0] += (f" ({unplaced:,} in no area of the city model, without a position or "
                     "outside it: no indicator counts them)")  # fmt: skip
    if outcomes.get("dead_letter"):
        parts.append(f"{_counted(outcomes['dead_letter'], 'record')} to dead letters")
    if outcomes.get("duplicate"):
        parts.append(f"{_counted(outcomes['duplicate'], 'repeated ' + unit)} dropped")
    return ", ".join(parts)


@app.command()
def serve(
    tokens: Annotated[Path, typer.Option(help="YAML file of bearer tokens (roles, scopes)")],
    db: Annotated[str, typer.Option(help="SQLAlchemy URL of the ticket store")] = (
        "sqlite:///citysigns-tickets.db"
    ),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=0, max=65535)] = 8080,
    catalog: Annotated[
        list[Path] | None,
        typer.Option("--catalog", "-c", help="catalog dir or file (repeat)", metavar="PATH"),
    ] = None,
    routing: Annotated[Path | None, typer.Option(help="routing rules YAML")] = None,
    outbox: Annotated[Path | None, typer.Option(help="outbox journal (survives crashes)")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="export ticket counts for Prometheus on this port", min=0, max=65535),
    ] = None,
    timers: Annotated[
        bool,
        typer.Option(
            "--timers/--no-timers",
            help="judge deadlines and verification periods on the wall clock every 30 s; "
            "--no-timers serves a replay's store (`citysigns demo`, `dispatch --data-time`) "
            "without closing or supervising its tickets on today's date",
        ),
    ] = True,
) -> None:
    """Run the ticket API.

    Tickets, an Open311 view and the Alertmanager webhook; every request needs a bearer
    token from --tokens, the API's description (/openapi.json) included, except GET /health
    (for load balancers: the outbox size and the store's last error class, nothing about
    tickets).  There is no /docs page: it would load its scripts from a CDN.

    A timer judges deadlines and verification periods on the wall clock.  A store a replay
    wrote is on the data's clock: serve it with --no-timers, or its tickets are closed and
    supervised at once (a warning at start says how far behind it is)."""
    from alerts.areas import CityAreaNames
    from alerts.serve import serve as serve_api
    from alerts.store import StoreUnavailableError
    from flows.city import load_city
    from flows.metrics import MetricsPortError
    from indicators.language.diagnostics import CatalogError

    require_file(tokens, "tokens file")
    require_file(routing, "routing file")
    require_catalog(catalog)
    try:
        serve_api(
            tokens, db, host, port, [str(p) for p in _paths(catalog)], routing, outbox,
            names=CityAreaNames(load_city()), metrics_port=metrics_port, timers=timers,
        )  # fmt: skip
    except (StoreUnavailableError, MetricsPortError) as e:  # --db, --metrics-port
        fail(f"cannot start: {e}")
    except CatalogError as e:
        for d in e.diagnostics:
            err.print(str(d), markup=False, highlight=False)
        fail("fix the errors above first (`citysigns check`)", 1)
    except ValueError as e:  # a bad tokens or routing file: say what, not where in the code
        fail(f"cannot start: {e}", 1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="where inputs and outputs go")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the whole path on embedded data.

    The simulated city, Beijing air quality and Boston 311 requests go through the flow,
    the warnings and the tickets."""
    catalog, diags = load_catalog([CATALOG_DIR])
    if diags:
        print_diagnostics(diags, catalog)
        raise typer.Exit(1)
    console.print(f"catalog ok: {len(catalog)} indicators", highlight=False)
    from .demo import run_demo

    run_demo(console, out)


@app.command("test")
def test_command(
    paths: Annotated[
        list[Path], typer.Argument(help="test files or folders (*.yaml)", metavar="PATH")
    ],
    only: Annotated[
        str | None, typer.Option("--only", "-k", help="run the tests whose name contains this")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="list passing tests too")
    ] = False,
    registry: RegistryOption = None,
) -> None:
    """Run analysts' YAML tests of indicators.

    They run through the flow's code; a failure shows what was expected against what came."""
    from indicators.testing.runner import run_paths

    _use_registry(registry)
    report = run_paths(paths, only)
    for d in report.errors:
        err.print(str(d), markup=False, highlight=False)
        text = report.texts.get(d.path)
        if text:
            err.print(d.excerpt(text), markup=False, highlight=False)
    for o in report.outcomes:
        if verbose or not o.ok:
            console.print(o.report(), markup=False, highlight=False)
    n = len(report.outcomes)
    summary = f"{n - report.failed} of {n} test(s) passed"
    if report.errors:
        summary += f"; {len(report.errors)} error(s) in the files"
    console.print(summary, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def backtest(
    paths: Annotated[
        list[Path], typer.Argument(help="indicator definitions (files or folders)", metavar="PATH")
    ],
    data: Annotated[Path, typer.Option(help="Beijing PRSA folder, a NAB CSV, or flow records")],
    indicator: Annotated[
        list[str] | None,
        typer.Option("--indicator", "-i", help="only this indicator (repeat)", metavar="ID"),
    ] = None,
    t_from: Annotated[
        str | None, typer.Option("--from", help="start: 2016-01-01 (city time) or ISO 8601")
    ] = None,
    t_to: Annotated[str | None, typer.Option("--to", help="end (exclusive), same forms")] = None,
    labels: Annotated[
        Path | None, typer.Option(help="NAB combined_windows.json, or a CSV start,end[,area]")
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="an older version of the definitions, to compare")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML report")] = Path(
        "backtest.html"
    ),
    plots: Annotated[int, typer.Option(help="series to plot, most warned first", min=0)] = 12,
    tickets: Annotated[
        bool, typer.Option("--tickets/--no-tickets", help="also run the ticket service")
    ] = True,
    registry: RegistryOption = None,
) -> None:
    """Replay historical data through indicators.

    Reports the warnings and tickets they would have raised, the time at each level, scores
    against labels, and an HTML report with plots."""
    from indicators.backtest.command import backtest as run_backtest
    from indicators.backtest.report import LabelsError
    from indicators.language.diagnostics import CatalogError

    if not data.exists():
        err.print(f"no such data: {data}", highlight=False)
        raise typer.Exit(2)
    _use_registry(registry)
    try:
        run_backtest(
            console, list(paths), data, indicator=indicator or (), t_from=t_from, t_to=t_to,
            labels_path=labels, against=against, out=out, plots=plots, tickets=tickets,
        )  # fmt: skip
    except (CatalogError, LabelsError) as e:
        for d in e.diagnostics:
            err.print(str(d), markup=False, highlight=False)
        raise typer.Exit(1) from None
    except ValueError as e:
        err.print(f"cannot backtest: {e}", highlight=False)
        raise typer.Exit(1) from None


app.command(name="rules")(rules_command)  # no subcommands: a command, not a group


def main() -> None:
    app()


if __name__ == "__main__":
    main()
