"""Running the dataflow from the command line: in this process (1 or more worker threads),
with or without Bytewax recovery, and a summary of what came out."""

from __future__ import annotations

import errno
import json
import logging
import pickle
import re
import shutil
import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource
from bytewax.outputs import FixedPartitionedSink
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main, run_main

from flows import instrument
from flows.city import load_city
from flows.city.registry import sensor_kinds
from flows.decode import CHANNELS
from flows.flow import FlowConfig, build_flow
from flows.metrics import (
    CitySignsMetrics,
    MetricsConfig,
    MetricsServer,
    areas_from_city,
    serve,
)
from flows.sources import FileState, StdinSource, changed_since
from indicators.language.validate import load_catalog_or_raise

log = logging.getLogger(__name__)
STDIN = "-"  # `-i -`: the live stream on standard input
# live inputs: a partition silent this long stops holding the watermark (as on Kafka)
LIVE_IDLE_AFTER_S = 60.0


@dataclass
class RunSummary:
    out_dir: Path
    windows: int = 0
    no_signal: int = 0
    indicators: Counter[str] = field(default_factory=Counter)
    # windows with fewer records than their indicator's `min_count`, per indicator: never
    # judged, so an indicator whose areas rarely reach it warns about nothing, and said so
    # nowhere (the demo city's checkpoint.abnormal_rate: 3,063 of its 3,068 windows)
    unjudged: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    # decoding's outcomes per source (instrument.DecodeTally): source -> outcome -> n; after
    # a resume, the whole run's, the killed runs' share included, as the output files are
    decoded: dict[str, dict[str, int]] = field(default_factory=dict)
    resumed: bool = False  # the run went on from the snapshots of a recovery directory
    stopped_by: str | None = None  # a live run ended by SIGINT / SIGTERM (its input ended)
    # `decoded` holds only what this process read: a snapshot it resumed from had no counts
    # (written by an earlier version); the outputs' counts are still the whole run's
    decoded_since_resume: bool = False


def start_metrics(
    cfg: FlowConfig, port: int, config: MetricsConfig | None = None
) -> tuple[CitySignsMetrics, MetricsServer]:
    """An exporter for this process's flow, served on `port` (0 = any free); `config` says
    the rest: the address (127.0.0.1 by default), the finest area level exported and the
    series budget, which the generated rules and dashboards must be told alike."""
    config = replace(config or MetricsConfig(), port=port)
    city = load_city()
    metrics = CitySignsMetrics.for_catalog(
        load_catalog_or_raise(list(cfg.catalog)), config,
        areas=areas_from_city(city, config),
    )  # fmt: skip
    metrics.expect_events(instrument.event_series(sensor_kinds(), CHANNELS))
    server = serve(metrics)  # a taken port raises here, before the flow reports to it
    instrument.install(metrics)
    return metrics, server


def stop_metrics(server: MetricsServer) -> None:
    """Stop the exporter of `start_metrics`; the flow reports to none from then on (a later
    run in this process, with another catalog, must not report to this one's)."""
    instrument.install(None)
    server.stop()


class RecoveryMismatchError(Exception):
    """The recovery directory holds the state of other inputs or another output directory."""


class RunStoppedError(Exception):
    """The run stopped on a file it could not write (a full disk, a folder made read-only):
    the message says which and what to do, in place of Bytewax's traceback."""


class RunInterruptedError(Exception):
    """A replay stopped by SIGINT or SIGTERM before the end of its inputs: the message says
    what the outputs hold and how to go on, in place of Bytewax's traceback.  `exit_code` is
    the shell's for the signal: 128 + its number (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + int(signal.Signals[name])


class _Interrupt(KeyboardInterrupt):
    """Raised in the main thread by a stop signal where the run cannot end by itself."""


@dataclass
class StopSignals:
    """SIGINT and SIGTERM during a run.  A live run (`-i -`) ends its input at the first:
    the lines already read are decoded, windows closed and written as at the end of a pipe,
    and the run summarises; a second signal stops it at once.  A replay stops at once, as
    Bytewax does for Ctrl-C (with --recovery the next start resumes); SIGTERM, which killed
    the process without a word, now does the same."""

    live: bool
    event: threading.Event = field(default_factory=threading.Event)
    name: str | None = None

    def handle(self, signum: int, _frame: object) -> None:
        first = self.name is None
        self.name = signal.Signals(signum).name
        self.event.set()
        if first and self.live:
            log.info("%s: ending the input here; the lines read are processed and written "
                     "(send it again to stop at once)", self.name)  # fmt: skip
            return
        raise _Interrupt(self.name)

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """The handlers, for the run's duration; only the main thread can install them."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        before = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)


HOW_TO_RESUME = (
    "use a new --recovery directory, or the same -i files and -o directory as that run, "
    "written the same way (relative or absolute)"
)


def partitioned_keys(flow: Dataflow) -> dict[str, tuple[str, set[str]]]:
    """Step id -> ("input" or "output", its partitions) for each fixed-partitioned input and
    output of `flow`: the files' paths as given (inputs as PATH@OFFSET).  Bytewax keys their
    snapshots by these and can resume only partitions the flow still has."""
    keys: dict[str, tuple[str, set[str]]] = {}

    def walk(ops: Sequence[Any]) -> None:
        for step in ops:
            source, sink = getattr(step, "source", None), getattr(step, "sink", None)
            if isinstance(source, FixedPartitionedSource):
                keys[step.step_id] = ("input", set(source.list_parts()))
            if isinstance(sink, FixedPartitionedSink):
                keys[step.step_id] = ("output", set(sink.list_parts()))
            walk(getattr(step, "substeps", ()))

    walk(flow.substeps)
    return keys


def recovered_keys(directory: Path) -> dict[str, set[str]]:
    """Step id -> the state keys the snapshots in a recovery directory hold (the latest
    snapshot of each key, discarded ones left out); read-only, and empty when the files are
    not what this Bytewax writes (the run then meets Bytewax's own check)."""
    keys: dict[str, set[str]] = {}
    try:
        for step, key, _ in _latest_snapshots(directory):
            keys.setdefault(step, set()).add(key)
    except sqlite3.Error:
        return {}
    return keys


def _latest_snapshots(
    directory: Path, steps: Sequence[str] | None = None
) -> Iterator[tuple[str, str, bytes | None]]:
    """(step id, state key, pickled state) of the latest snapshot of each key the recovery
    partitions in `directory` hold, read-only; sqlite3.Error when they cannot be read.
    Bytewax keeps every snapshot of a key by epoch, and a NULL change is a key its step
    discarded.  With `steps`, only theirs, with their states (a detector's state can be
    megabytes); without, every key, without its state."""
    state = "ser_change" if steps is not None else "NULL"
    only = f" AND step_id IN ({', '.join('?' * len(steps))})" if steps is not None else ""
    query = (
        f"SELECT step_id, state_key, {state} FROM snaps AS s WHERE ser_change IS NOT NULL{only}"
        " AND snap_epoch = (SELECT MAX(snap_epoch) FROM snaps WHERE step_id = s.step_id"
        " AND state_key = s.state_key)"
    )
    for part in sorted(directory.glob("*.sqlite3")):
        with closing(sqlite3.connect(part.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            yield from db.execute(query, tuple(steps or ()))


def check_recovery(directory: Path, flow: Dataflow) -> dict[str, set[str]]:
    """Refuse, before Bytewax stops with "... is not in this worker's routing map", to resume
    from snapshots of files this run does not have: another -o directory, an input left out,
    or the same files written another way (relative against absolute).  Inputs added since are
    fine: Bytewax starts them afresh.  Returns the keys the snapshots hold (`recovered_keys`)."""
    have = partitioned_keys(flow)
    inputs: set[str] = set()
    outputs: set[str] = set()
    recovered = recovered_keys(directory)
    for step, keys in recovered.items():
        kind, known = have.get(step, ("other", keys))
        for key in keys - known:
            if kind == "input":
                inputs.add(key.rsplit("@", 1)[0])
            else:
                outputs.add(str(Path(key).parent))
    if inputs or outputs:
        what = [f"read {', '.join(sorted(inputs))}"] if inputs else []
        what += [f"wrote into {', '.join(sorted(outputs))}"] if outputs else []
        raise RecoveryMismatchError(
            f"the recovery directory {directory} holds the state of a run that "
            f"{' and '.join(what)}, which this run does not: {HOW_TO_RESUME}"
        )
    check_inputs_unchanged(directory, [s for s, (kind, _) in have.items() if kind == "input"])
    return recovered


def check_inputs_unchanged(directory: Path, steps: Sequence[str]) -> None:
    """Refuse to resume reading an input file that is no longer the one the snapshots read:
    cut back (shorter than where they stopped reading) or replaced (other bytes before that
    point).  Bytewax would seek to the snapshot's offset regardless: past the end of a cut
    file, which then reads nothing, and into the middle of a line of a replaced one, which
    then reads another file's records from that point on, both without a word."""
    changed: list[str] = []
    for key, state in _input_states(directory, steps).items():
        path = key.rsplit("@", 1)[0]
        why = changed_since(path, state)
        if why is not None:
            changed.append(f"{path} changed since the last snapshot: {why}")
    if changed:
        raise RecoveryMismatchError(
            f"{'; '.join(changed)}; give the files as the earlier run read them (appending to "
            f"them is fine), or use a new --recovery directory (the outputs in the -o "
            f"directory then start afresh); the recovery directory is {directory}"
        )


def _input_states(directory: Path, steps: Sequence[str]) -> dict[str, FileState]:
    """Partition key (PATH@START) -> the latest state the snapshots hold of the file inputs
    of `steps`; empty when they cannot be read (the run then meets Bytewax's own checks)."""
    states: dict[str, FileState] = {}
    try:
        for _, key, ser in _latest_snapshots(directory, steps):
            state = pickle.loads(ser or b"")  # Bytewax pickles the states it snapshots
            if isinstance(state, tuple) and len(state) in (2, 4):
                states[key] = state
    except (sqlite3.Error, pickle.UnpicklingError, ValueError, TypeError, EOFError):
        return {}
    return states


def start_outputs(flow: Dataflow, out_dir: Path, recovered: dict[str, set[str]]) -> None:
    """Empty every output file of `flow` that no recovery snapshot holds, so that each holds
    this run's lines only.  Bytewax's `FileSink` empties a file only when it first writes to
    it (to the offset of its snapshot on a resume, to 0 otherwise): a run that writes no dead
    letters left the last run's in the file, and the summary counted them.  The files a
    snapshot holds are left for Bytewax to cut back to that snapshot (docs/reliability.md)."""
    replaced: list[str] = []
    for step, (kind, parts) in sorted(partitioned_keys(flow).items()):
        if kind != "output":
            continue
        for part in sorted(parts - recovered.get(step, set())):
            path = Path(part)
            if path.exists() and path.stat().st_size:
                replaced.append(path.name)
            path.write_bytes(b"")
    if replaced and recovered:
        log.info("the recovery snapshots hold none of %s yet: they start afresh in %s",
                 ", ".join(replaced), out_dir)  # fmt: skip
    elif replaced:
        log.info("replacing the outputs of an earlier run in %s (%s start empty)",
                 out_dir, ", ".join(replaced))  # fmt: skip


def init_recovery_dir(path: Path, partitions: int) -> None:
    """Bytewax's recovery partitions, made beside `path` and renamed into place: a kill while
    they are being made leaves no half-made directory that the next start would take as
    ready (the rename is atomic; a leftover staging directory is made again)."""
    staging = path.with_name(path.name + ".init")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    init_db_dir(staging, partitions)
    if path.exists():
        path.rmdir()  # empty: an earlier start died before its rename
    staging.rename(path)


def run(
    cfg: FlowConfig,
    workers: int = 1,
    recovery_dir: Path | None = None,
    snapshot_every: float = 10.0,
) -> RunSummary:
    """Replay the inputs through the flow; returns what the output files hold.  A file it
    cannot write (a full disk, a read-only folder) stops it with `RunStoppedError`."""
    stop = StopSignals(live=cfg.inputs == (STDIN,))
    try:
        with stop.installed():
            return _run(cfg, workers, recovery_dir, snapshot_every, stop)
    except (OSError, RuntimeError, _Interrupt) as e:
        if stop.name is not None:  # Bytewax raises the handler's interrupt as its own error
            raise RunInterruptedError(_interrupted(stop.name, cfg, recovery_dir), stop.name) from e
        if isinstance(e, _Interrupt):
            raise
        stopped = _stopped_by(e, cfg, recovery_dir)
        if stopped is None:
            raise
        raise stopped from e


def _interrupted(name: str, cfg: FlowConfig, recovery_dir: Path | None) -> str:
    """What a run stopped by a signal before its inputs ended leaves, and how to go on."""
    if cfg.inputs == (STDIN,):  # the second signal: the first was ending the input
        return (f"the run stopped at once ({name} again while ending its input): the outputs "
                f"in {cfg.out_dir} hold the windows closed until then, complete lines only; "
                "windows still open were not written")  # fmt: skip
    if recovery_dir is not None:
        go_on = (f"start the same command again to resume from the last snapshot in "
                 f"{recovery_dir}")  # fmt: skip
    else:
        go_on = "start it again to replay from the start (with --recovery DIR it could resume)"
    return (
        f"the run stopped ({name}) before the end of its inputs: the outputs in "
        f"{cfg.out_dir} hold what it wrote until then, complete lines only; {go_on}"
    )


def _stopped_by(
    e: BaseException, cfg: FlowConfig, recovery_dir: Path | None
) -> RunStoppedError | None:
    """A file the run could not write, said with what to do; None for any other error.
    Bytewax raises a write's OSError as it is, or as the cause of its own RuntimeError (an
    output it could not open), and a refused snapshot as SQLite's words in its message."""
    cause: BaseException | None = e
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__
    if isinstance(cause, OSError):  # Bytewax's FileSink names no file: the outputs, then
        where = cause.filename or f"the outputs in {cfg.out_dir}"
        full = cause.errno in (errno.ENOSPC, errno.EDQUOT)
        return RunStoppedError(
            f"the run stopped: cannot write {where}: {cause.strerror or cause}; "
            f"{_rerun(recovery_dir, full)}"
        )
    stored = _SQLITE_FAILURE.search(str(e))
    if recovery_dir is not None and stored:  # Bytewax's snapshots, in SQLite
        return RunStoppedError(
            f"the run stopped: cannot write the recovery snapshots in {recovery_dir}: "
            f"{stored.group(1)}; {_rerun(recovery_dir, 'full' in stored.group(1))}"
        )
    return None


def _run(
    cfg: FlowConfig,
    workers: int,
    recovery_dir: Path | None,
    snapshot_every: float,
    stop: StopSignals,
) -> RunSummary:
    if stop.live:  # one partition: standard input, ended by the pipe's close or a signal
        flow = build_flow(cfg, StdinSource(stop=stop.event), n_partitions=1)
    else:
        flow = build_flow(cfg)
    recovery = None
    recovered: dict[str, set[str]] = {}
    if recovery_dir is not None:
        if not recovery_dir.exists() or not any(recovery_dir.iterdir()):
            init_recovery_dir(recovery_dir, max(1, workers))
        else:
            recovered = check_recovery(recovery_dir, flow)
        recovery = RecoveryConfig(str(recovery_dir))
    if recovered:
        log.info("resuming from the recovery snapshots in %s: the outputs in %s go on from "
                 "where they left them", recovery_dir, cfg.out_dir)  # fmt: skip
    start_outputs(flow, Path(cfg.out_dir), recovered)
    interval = timedelta(seconds=snapshot_every)
    instrument.TALLY.reset()
    try:
        if workers == 1:
            run_main(flow, epoch_interval=interval, recovery_config=recovery)
        else:
            cluster_main(
                flow, [], 0, epoch_interval=interval, recovery_config=recovery,
                worker_count_per_proc=workers,
            )  # fmt: skip
    except RuntimeError as e:
        if recovery_dir is None or "routing map" not in str(e):
            raise
        # snapshots check_recovery could not read: Bytewax's own words are opaque
        raise RecoveryMismatchError(
            f"the recovery directory {recovery_dir} was made for other inputs or another "
            f"output directory: {HOW_TO_RESUME}"
        ) from e
    instrument.inputs_ended()
    summary = summarise(Path(cfg.out_dir))
    summary.decoded = instrument.TALLY.by_source()
    summary.resumed = bool(recovered)
    summary.decoded_since_resume = instrument.TALLY.since_resume
    summary.stopped_by = stop.name
    return summary


# Bytewax's words for a recovery write SQLite refused: ... SqliteFailure(Error { code: DiskFull,
# extended_code: 13 }, Some("database or disk is full"))
_SQLITE_FAILURE = re.compile(r'SqliteFailure\(.*Some\("([^"]*)"\)')


def _rerun(recovery_dir: Path | None, full: bool = True) -> str:
    """What to do once the disk has room again (`full`) or the folder is writable."""
    fix = "free some space" if full else "make it writable"
    if recovery_dir is not None:
        return (
            f"{fix} and start the same command again: it resumes from the last snapshot in "
            f"{recovery_dir}"
        )
    return (
        f"{fix} and start the same command again: it starts over (with --recovery DIR a run "
        "can resume where it stopped)"
    )


def summarise(out_dir: Path) -> RunSummary:
    summary = RunSummary(out_dir)
    with (out_dir / "windows.ndjson").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            summary.windows += 1
            summary.indicators[rec["indicator"]] += 1
            summary.no_signal += bool(rec.get("no_signal"))
            if rec.get("judged") is False:
                summary.unjudged[rec["indicator"]] += 1
    with (out_dir / "dead_letters.ndjson").open(encoding="utf-8") as f:
        for line in f:
            summary.dead_letters[json.loads(line)["reason"]] += 1
    return summary
