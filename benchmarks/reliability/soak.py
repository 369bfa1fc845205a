"""Soak: the real flow on a live, paced stream for minutes, with resident memory sampled and
the latency from event to warning to committed ticket measured.

    python -m benchmarks.reliability.soak --minutes 10 [--rate N | --probe 50000,100000,...]

The stream is real time: every 0.1 s the driver writes the next tick of NDJSON air-quality
readings (sensors of the city's default registry, millisecond timestamps = now) into the
flow's standard input.  The flow is the project's dataflow (`flows.flow.build_flow` with the
stdin source) run by `python -m bytewax.run` in its own process, with the catalog
benchmarks/reliability/soak_catalog.yaml: PM2.5 means per street, district and the city over
10-second windows, blue warning above 60.  Each 10-second period the districts draw new
levels, so series cross the threshold and warnings keep coming.  A dispatcher thread tails
OUT/warnings.ndjson and submits each warning to the ticket service on SQLite.

Latency of a warning: from the instant the event that closes its window happened (window end
+ lateness; the stream's timestamps are the wall clock) to the moment the warning line was
read from the flow's output (`warning`), and to the moment the ticket store committed it
(`ticket`).  RSS of the flow process and of this process (driver + dispatcher) is read from
/proc every `--rss-every` seconds.  At the end standard input is closed; the flow closes its
last windows and exits, and the city-level counts must add up to every event sent.

Without --rate, short probes (20 s each) at increasing rates pick the highest rate at which
the driver stays on schedule and p99 warning latency stays under 2 s.  Prints the figures and
writes benchmarks/results/reliability_soak.json."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alerts.feed import LineFollower

from .common import REPO, Dispatcher, machine, write_result

CATALOG = Path(__file__).resolve().parent / "soak_catalog.yaml"
LATENESS_S = 1  # the catalog's lateness
TICK_S = 0.1
PLACE = b"@" * 21  # "YYYY-MM-DDTHH:MM:SS.t": the second and the tick's tenth


def soak_flow(out: str, catalog: str = str(CATALOG), max_wait: float = 0.05) -> Any:
    """The project's dataflow on standard input, for `python -m bytewax.run`; `max_wait` is
    how long the source gathers lines before handing over a chunk."""
    from flows.flow import FlowConfig, build_flow
    from flows.sources import StdinSource

    cfg = FlowConfig((), out, catalog=(catalog,))
    return build_flow(cfg, StdinSource(max_wait_s=max_wait), n_partitions=1)


class Ticks:
    """Pre-encoded NDJSON for one tick at `rate` events/s, in a few variants (each a draw of
    district levels), with the timestamp's second and tenth left as a placeholder.  Within a
    tick, readings are in millisecond order and no sensor reports twice in one millisecond,
    so the decoder's repeat filter keeps every one."""

    def __init__(self, rate: int, variants: int = 8, seed: int = 7, high: float = 0.3) -> None:
        from flows.city import load_default_registry

        registry = load_default_registry()
        aq = registry.kinds.index("air_quality")
        rows = np.flatnonzero(np.asarray(registry.kind) == aq)
        ids = [registry.sensor_id[r].decode() for r in rows]
        district = np.array([i[3:9] for i in ids])
        codes, d_idx = np.unique(district, return_inverse=True)
        per_ms = -(-rate // 1000)  # ceil: lines per millisecond
        if per_ms > len(ids):
            raise ValueError(f"at most {len(ids) * 1000:,} events/s with {len(ids)} sensors")
        self.rate = rate
        self.per_tick = per_ms * int(TICK_S * 1000)
        rng = np.random.default_rng(seed)
        self.variants: list[bytes] = []
        for _ in range(variants):
            level = np.where(rng.random(len(codes)) < high, 90.0, 30.0)
            parts = []
            for ms in range(int(TICK_S * 1000)):
                pick = rng.choice(len(ids), per_ms, replace=False)
                vals = level[d_idx[pick]] + rng.normal(0.0, 5.0, per_ms)
                parts += [
                    b'{"sensor_id":"%s","ts":"%s%02dZ","pm25":%.1f}\n'
                    % (ids[s].encode(), PLACE, ms, v)
                    for s, v in zip(pick.tolist(), vals.tolist(), strict=True)
                ]
            self.variants.append(b"".join(parts))

    def block(self, second: int, tenth: int) -> bytes:
        """The tick's lines; the variant changes with each 10-second window."""
        v = (second // 10 * 2654435761) % len(self.variants)
        stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return self.variants[v].replace(PLACE, f"{stamp}.{tenth}".encode())


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass
class SoakResult:
    rate: int
    seconds: float
    events_sent: int = 0
    events_counted_by_flow: int = 0
    driver_lag_max_s: float = 0.0
    warnings: int = 0
    tickets: int = 0
    ticket_changes: int = 0
    latency_warning_s: dict[str, float] = field(default_factory=dict)
    latency_ticket_s: dict[str, float] = field(default_factory=dict)
    rss_flow_mb: dict[str, float] = field(default_factory=dict)
    rss_driver_mb: dict[str, float] = field(default_factory=dict)
    rss_samples: list[tuple[float, float, float]] = field(default_factory=list)
    flow_exit_s: float | None = None

    @property
    def sustained(self) -> bool:
        p99 = self.latency_warning_s.get("p99", float("inf"))
        return self.driver_lag_max_s < 0.5 and p99 < 2.0 and self.warnings > 0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sustained"] = self.sustained
        return d


def _pcts(x: list[float]) -> dict[str, float]:
    if not x:
        return {}
    a = np.asarray(x)
    return {
        "n": len(x),
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
    }


def _growth(samples: list[float]) -> dict[str, float]:
    """Median of the first and of the last quarter of the samples taken after warm-up."""
    if len(samples) < 4:
        return {}
    q = max(1, len(samples) // 4)
    first, last = float(np.median(samples[:q])), float(np.median(samples[-q:]))
    return {
        "first_quarter": round(first, 1),
        "last_quarter": round(last, 1),
        "growth_pct": round(100 * (last / first - 1), 2),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
    }


def soak(
    seconds: float, rate: int, work: Path, rss_every: float = 2.0, warmup: float | None = None
) -> SoakResult:
    """Run the flow on a live stream for `seconds`; statistics skip the first `warmup`
    seconds (default: a fifth of the run, at most 60 s)."""
    warmup = min(60.0, seconds / 5) if warmup is None else warmup
    ticks = Ticks(rate)
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    spec = f"benchmarks.reliability.soak:soak_flow({str(out)!r})"
    log = (work / "flow.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytewax.run", spec],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=log,
    )
    assert proc.stdin is not None
    res = SoakResult(rate, seconds)
    dispatcher = Dispatcher(f"sqlite:///{work / 'tickets.db'}", (str(CATALOG),))
    stop = threading.Event()
    lat_w: list[tuple[float, float]] = []  # (event time, latency)
    lat_t: list[tuple[float, float]] = []

    def dispatch() -> None:
        tail = LineFollower(out / "warnings.ndjson")  # as `citysigns dispatch --follow`
        while True:
            lines = [line.decode("utf-8") for _, line in tail.read()]
            if lines:
                seen = time.time()
                dispatcher.submit_lines(lines)
                done = time.time()
                for line in lines:
                    origin = json.loads(line)["at"] + LATENESS_S
                    lat_w.append((origin, seen - origin))
                    lat_t.append((origin, done - origin))
            elif stop.is_set():
                return
            else:
                time.sleep(0.01)

    def sample() -> None:
        while not stop.is_set():
            f, me = rss_mb(proc.pid), rss_mb(os.getpid())
            if f is not None and me is not None:
                res.rss_samples.append((round(time.time() - t0, 1), round(f, 1), round(me, 1)))
            stop.wait(rss_every)

    ready = time.monotonic() + 60
    while not (out / "warnings.ndjson").exists() and time.monotonic() < ready:
        time.sleep(0.05)  # the flow loads the catalog and the city model, then builds itself
    t0 = float(int(time.time()) + 1)
    threads = [
        threading.Thread(target=dispatch, daemon=True),
        threading.Thread(target=sample, daemon=True),
    ]
    for t in threads:
        t.start()
    n_ticks = int(seconds / TICK_S)
    try:
        for i in range(n_ticks):
            due = t0 + i * TICK_S
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            sec, tenth = int(due), round((due - int(due)) * 10) % 10
            proc.stdin.write(ticks.block(sec, tenth))
            proc.stdin.flush()
            res.events_sent += ticks.per_tick
            if due - t0 >= warmup:
                res.driver_lag_max_s = max(res.driver_lag_max_s, time.time() - due)
        closed = time.time()
        proc.stdin.close()
        proc.wait(timeout=300)
        res.flow_exit_s = round(time.time() - closed, 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        log.close()
    # Windows whose closing event was sent; the last ones are closed by the end of input.
    start, last = t0 + warmup, t0 + (n_ticks - 1) * TICK_S
    res.latency_warning_s = _pcts([lat for origin, lat in lat_w if start <= origin <= last])
    res.latency_ticket_s = _pcts([lat for origin, lat in lat_t if start <= origin <= last])
    res.warnings = len(lat_w)
    res.tickets = len(dispatcher.tickets(audit=False))
    res.ticket_changes = sum(n for k, n in dispatcher.outcomes.items() if k != "ignored")
    dispatcher.close()
    steady = [s for s in res.rss_samples if s[0] >= warmup]
    res.rss_flow_mb = _growth([s[1] for s in steady])
    res.rss_driver_mb = _growth([s[2] for s in steady])
    with (out / "windows.ndjson").open(encoding="utf-8") as f:
        for line in f:
            if '"area_level": "city"' in line or '"area_level":"city"' in line:
                res.events_counted_by_flow += int(json.loads(line)["count"])
    res.driver_lag_max_s = round(res.driver_lag_max_s, 3)
    return res


def main(argv: list[str] | None = None) -> SoakResult:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=None, help="overrides --minutes")
    ap.add_argument("--rate", type=int, default=None, help="events/s (default: probe)")
    ap.add_argument(
        "--probe",
        default="50000,100000,200000,300000,400000,600000",
        help="rates tried for 20 s each when --rate is not given",
    )
    ap.add_argument("--rss-every", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    probes: list[dict[str, Any]] = []
    rate = args.rate
    if rate is None:
        for r in (int(x) for x in args.probe.split(",")):
            with tempfile.TemporaryDirectory(prefix="citysigns-probe-") as tmp:
                p = soak(20.0, r, Path(tmp), warmup=5.0)
            probes.append(
                {
                    "rate": r,
                    "sustained": p.sustained,
                    "lag_s": p.driver_lag_max_s,
                    "warning_p99_s": p.latency_warning_s.get("p99"),
                }
            )
            print(
                f"probe {r:,}/s: sustained {p.sustained}, driver lag {p.driver_lag_max_s} s, "
                f"warning latency {p.latency_warning_s}",
                flush=True,
            )
            if not p.sustained:
                break
            rate = r
        if rate is None:
            raise SystemExit("not even the lowest probe rate was sustained")
    with tempfile.TemporaryDirectory(prefix="citysigns-soak-") as tmp:
        res = soak(seconds, rate, Path(tmp), args.rss_every)
    data = {
        "what": "live paced stream through the flow, warnings to tickets; RSS sampled",
        **res.as_dict(),
        "probes": probes,
        "machine": machine(),
    }
    data["rss_samples"] = res.rss_samples[:: max(1, len(res.rss_samples) // 300)]
    path = write_result("reliability_soak.json", data, args.out)
    print(
        f"rate {res.rate:,} events/s for {res.seconds:g} s: sent {res.events_sent:,}, counted "
        f"by the flow {res.events_counted_by_flow:,}; driver lag max {res.driver_lag_max_s} s"
    )
    print(f"latency event -> warning {res.latency_warning_s}")
    print(f"latency event -> committed ticket {res.latency_ticket_s}")
    print(
        f"warnings {res.warnings:,}, ticket changes {res.ticket_changes:,}, tickets {res.tickets:,}"
    )
    print(f"RSS flow MB {res.rss_flow_mb}; RSS driver+dispatcher MB {res.rss_driver_mb}")
    print(f"sustained: {res.sustained}; flow exit after EOF {res.flow_exit_s} s; {path}")
    return res


if __name__ == "__main__":
    main()
