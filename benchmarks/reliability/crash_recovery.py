"""Crash recovery: kill -9 the flow at random points across a run, restart it each time from
its Bytewax recovery snapshots, and compare every window, every warning and every ticket with
an uninterrupted run of the same input.

    python -m benchmarks.reliability.crash_recovery --kills 20 [--input FILE.ndjson]

The kill points are drawn as fractions of the reference run's windows file: the flow is
killed when its own windows file reaches the next point, so the kills spread over the whole
run whatever the machine's speed.  A dispatcher tails warnings.ndjson while the flow runs,
as a downstream consumer would, and submits each warning to the ticket store at once: after a
restart the resumed FileSink rewinds the file to its last snapshot and the same warnings come
again, and the store must apply each one once.  The reference's tickets come from its
warnings in one pass.  Prints the figures and writes benchmarks/results/reliability_crash.json
(without --input the run uses the embedded two months of Beijing readings)."""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alerts.feed import LineFollower

from .common import (
    REPO,
    SMALL_CATALOG,
    Diff,
    Dispatcher,
    TicketDiff,
    flow_command,
    machine,
    run_to_end,
    write_beijing,
    write_result,
)


@dataclass
class CrashResult:
    kills_requested: int
    kills: int = 0
    kill_points: list[float] = field(default_factory=list)  # fraction of the windows written
    # kills that hit a restarted process before it wrote anything (while it was resuming)
    kills_while_resuming: int = 0
    windows: Diff | None = None
    warnings: Diff | None = None
    tickets: TicketDiff | None = None
    warnings_reread_after_restart: int = 0
    already_applied: int = 0
    tail_rewinds: int = 0
    redelivered_by_consumer: int = 0
    seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return bool(
            self.windows
            and self.windows.equal
            and self.warnings
            and self.warnings.equal
            and self.tickets
            and self.tickets.equal
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["equal"] = self.equal
        return d


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


def _dispatch_all(warnings: Path, url: str, catalog: str) -> tuple[list[Any], int]:
    d = Dispatcher(url, (catalog,))
    lines = _lines(warnings)
    d.submit_lines(lines)
    last = max((json.loads(line)["at"] for line in lines), default=0)
    d.finish(last + 86400)
    rows = d.tickets()
    d.close()
    return rows, last


def crash_recovery(
    inputs: list[Path],
    work: Path,
    kills: int,
    speed: float,
    seed: int = 1,
    catalog: Path = SMALL_CATALOG,
    chunk_bytes: int = 20_000,
    snapshot_every: float = 0.2,
    poll: float = 0.02,
    workers: int = 1,
) -> CrashResult:
    """Reference run, then `kills` SIGKILLs at random points and a final run to the end."""
    t0 = time.perf_counter()
    result = CrashResult(kills)
    common = ["--catalog", str(catalog), "--chunk-bytes", str(chunk_bytes)]
    common += ["--workers", str(workers)]
    ref_out = work / "reference"
    run_to_end(flow_command(inputs, ref_out, *common))
    ref_tickets, last_at = _dispatch_all(
        ref_out / "warnings.ndjson", f"sqlite:///{work / 'reference.db'}", str(catalog)
    )
    ref_size = (ref_out / "windows.ndjson").stat().st_size

    out, recovery = work / "killed", work / "recovery"
    cmd = flow_command(
        inputs,
        out,
        *common,
        "--recovery",
        str(recovery),
        "--snapshot-every",
        str(snapshot_every),
        "--speed",
        str(speed),
    )
    rng = random.Random(seed)
    points = sorted(rng.uniform(0.02, 0.98) for _ in range(kills))
    dispatcher = Dispatcher(f"sqlite:///{work / 'killed.db'}", (str(catalog),))
    # the product's reader of the flow's warnings (`citysigns dispatch`), without judging
    # deadlines on the way: they are judged once at the end, as for the reference
    tail = LineFollower(out / "warnings.ndjson")
    windows = out / "windows.ndjson"
    checkpoint = 0  # the consumer's committed offset: at-least-once after its own restart
    log = (work / "flow.log").open("w")
    cuts, lines_read = 0, 0

    def drain() -> None:
        while lines := tail.read():
            dispatcher.submit_lines(line.decode("utf-8") for _, line in lines)
            tail.commit()

    try:
        for point in points:
            at_start = windows.stat().st_size if windows.exists() else -1
            proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
            finished = False
            while True:
                drain()
                if proc.poll() is not None:
                    finished = True
                    break
                size = windows.stat().st_size if windows.exists() else 0
                if size >= point * ref_size:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    result.kills += 1
                    result.kills_while_resuming += size == at_start
                    result.kill_points.append(round(size / ref_size, 4))
                    break
                time.sleep(poll)
            drain()
            # The consumer restarts with the flow and reads again from an older committed
            # offset: every warning since the previous restart is delivered a second time.
            with tail.path.open("rb") as f:
                f.seek(checkpoint)
                result.redelivered_by_consumer += f.read(tail.offset - checkpoint).count(b"\n")
            cuts, lines_read = cuts + tail.cuts, lines_read + tail.lines_read
            tail = LineFollower(tail.path, offset=checkpoint)
            drain()
            checkpoint = tail.offset
            if finished:
                if proc.returncode != 0:
                    raise RuntimeError(f"flow failed with {proc.returncode}; see {log.name}")
                break  # it reached the end before this point: no more kills possible
        final = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, timeout=900)
        if final.returncode != 0:
            raise RuntimeError(f"final run failed with {final.returncode}; see {log.name}")
        drain()
    finally:
        log.close()
    dispatcher.finish(last_at + 86400)
    got_tickets = dispatcher.tickets()
    dispatcher.close()
    result.windows = Diff.of(_lines(ref_out / "windows.ndjson"), _lines(windows))
    result.warnings = Diff.of(_lines(ref_out / "warnings.ndjson"), _lines(out / "warnings.ndjson"))
    result.tickets = TicketDiff.of(ref_tickets, got_tickets)
    cuts, lines_read = cuts + tail.cuts, lines_read + tail.lines_read
    result.warnings_reread_after_restart = lines_read - len(_lines(out / "warnings.ndjson"))
    result.already_applied = dispatcher.outcomes["already-applied"]
    result.tail_rewinds = cuts
    result.seconds = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> CrashResult:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument(
        "--input",
        type=Path,
        action="append",
        help="NDJSON/CSV input (repeat); default: embedded Beijing Jan-Feb 2017",
    )
    ap.add_argument(
        "--speed",
        type=float,
        default=200_000,
        help="replay speed (x real time): sets how long the run lasts",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="Bytewax worker threads")
    ap.add_argument("--catalog", type=Path, default=SMALL_CATALOG)
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="citysigns-crash-") as tmp:
        work = Path(tmp)
        inputs = args.input or []
        if not inputs:
            inputs = [work / "beijing.ndjson"]
            write_beijing(inputs[0])
        res = crash_recovery(
            inputs, work, args.kills, args.speed, args.seed, args.catalog, workers=args.workers
        )
    data = {
        "what": "SIGKILL at random points, restart from Bytewax recovery, compare with an "
        "uninterrupted run",
        "inputs": [p.name for p in inputs],
        "speed": args.speed,
        "workers": args.workers,
        "seed": args.seed,
        **res.as_dict(),
        "machine": machine(),
    }
    path = write_result("reliability_crash.json", data, args.out)
    assert res.windows and res.warnings and res.tickets
    print(
        f"kills: {res.kills} of {res.kills_requested} ({res.kills_while_resuming} of them while "
        f"a restarted process was still resuming) at {res.kill_points}"
    )
    for name, dd in (("windows", res.windows), ("warnings", res.warnings)):
        print(
            f"{name}: reference {dd.reference}, after kills {dd.got}, lost {dd.lost}, "
            f"duplicated {dd.duplicated}"
        )
    t = res.tickets
    print(
        f"tickets: reference {t.reference}, after kills {t.got}, lost {t.lost}, "
        f"duplicated {t.duplicated}, changed {t.changed}"
    )
    print(
        f"warnings delivered again to the ticket store: {res.warnings_reread_after_restart}"
        f" (re-read by the restarted consumer {res.redelivered_by_consumer}, rolled back by "
        f"the sink and seen {res.tail_rewinds}x); 'already-applied' {res.already_applied}"
    )
    print(f"equal: {res.equal}; {res.seconds} s; {path}")
    return res


if __name__ == "__main__":
    main()
