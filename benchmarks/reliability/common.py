"""What the reliability runs share: inputs from the embedded real data, a reader that tails the
flow's output files the way a downstream consumer would, and a dispatcher that turns the
flow's warnings into tickets in data time, so two runs can be compared ticket by ticket."""

from __future__ import annotations

import itertools
import json
import platform
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.clock import EventClock
from alerts.events import WarningEvent
from alerts.outbox import Outbox
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from flows.city import load_city, load_default_registry
from flows.realdata import beijing_records, write_ndjson
from indicators.language.validate import load_catalog_or_raise

REPO = Path(__file__).resolve().parents[2]
SMALL_CATALOG = REPO / "tests" / "fixtures" / "catalog" / "small"
RESULTS = REPO / "benchmarks" / "results"


def write_beijing(path: Path, records: int | None = None) -> int:
    """The embedded Beijing readings (12 stations, hourly, Jan-Feb 2017) as the flow's NDJSON
    sensor records; `records` keeps the first N (12 per hour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = beijing_records(load_default_registry())
    if records is not None:
        rows = itertools.islice(rows, records)
    return write_ndjson(rows, path)


def flow_command(inputs: Sequence[Path], out: Path, *extra: str) -> list[str]:
    """`citysigns run` as a child process: the thing that gets killed."""
    cmd = [sys.executable, "-m", "citysigns.cli", "run", "-o", str(out.resolve())]
    for p in inputs:
        cmd += ["-i", str(p.resolve())]
    return cmd + list(extra)


def run_to_end(cmd: list[str], timeout: float = 900) -> None:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"flow run failed ({done.returncode}): {done.stderr[-2000:]}")


TicketRow = tuple[Any, ...]
TICKET_FIELDS = (
    "id",
    "incident_key",
    "family",
    "department",
    "tier",
    "area_code",
    "level",
    "status",
    "supervised",
    "supervise_count",
    "warning_count",
    "firing_count",
    "opened_at",
    "accept_due",
    "last_signal_at",
)
# What a ticket is, without the times that depend on when the store took it (after an outage
# the queued warnings are applied later, so their tickets open later: that is correct).
IDENTITY_FIELDS = (
    "id",
    "incident_key",
    "family",
    "department",
    "level",
    "warning_count",
    "firing_count",
    "last_signal_at",
)


@dataclass
class Dispatcher:
    """The dispatch path fed from the flow's warnings, in data time: the clock is set to each
    event's time before it is submitted, so the tickets depend on the events alone and not on
    how they were batched or when they were read."""

    url: str
    catalog: Sequence[str] = (str(SMALL_CATALOG),)
    outbox: Outbox | None = None
    outcomes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        indicators = load_catalog_or_raise(list(self.catalog)).indicators
        self.clock = EventClock(0)
        self.store = TicketStore.from_url(self.url)
        self.service = TicketService(
            self.store,
            router=Router(load_routing(None)),
            catalog=indicators,
            clock=self.clock,
            locate=load_default_registry().locator(load_city()),
            outbox=self.outbox,
        )

    def submit_lines(self, lines: Iterable[str]) -> None:
        self.submit([WarningEvent.from_dict(json.loads(line)) for line in lines])

    def submit(self, events: Sequence[WarningEvent]) -> None:
        for at, group in itertools.groupby(events, key=lambda e: e.at):
            self.clock.set(at)
            for o in self.service.submit_warnings(list(group)):
                self.outcomes[o.action] += 1

    def finish(self, at: int) -> None:
        """Judge deadlines once at `at` (overdue tickets get supervised)."""
        self.clock.set(at)
        self.service.tick(at)

    def tickets(self, audit: bool = True, names: Sequence[str] = TICKET_FIELDS) -> list[TicketRow]:
        """Each ticket's fields (`names`, the id first) and, with `audit`, its number of audit
        entries: an event applied twice would add one."""
        every = self.service.list_tickets(TicketFilter(limit=10_000_000))
        rows = []
        for t in every:
            extra = (len(self.service.audit(t.id)),) if audit else ()
            rows.append((*(getattr(t, f) for f in names), *extra))
        return sorted(rows)

    def applied_keys(self) -> int:
        """Event keys the store has recorded as applied (each at most once by its key)."""
        from sqlalchemy import func, select

        from alerts import schema

        with self.store.begin() as conn:
            n = conn.execute(select(func.count()).select_from(schema.applied_keys)).scalar()
        return int(n or 0)

    def close(self) -> None:
        self.store.dispose()


@dataclass(frozen=True)
class Diff:
    """Multiset comparison of a run's items with the reference's."""

    reference: int
    got: int
    lost: int
    duplicated: int

    @classmethod
    def of(cls, reference: Iterable[Any], got: Iterable[Any]) -> Diff:
        ref, mine = Counter(reference), Counter(got)
        return cls(
            sum(ref.values()),
            sum(mine.values()),
            sum((ref - mine).values()),
            sum((mine - ref).values()),
        )

    @property
    def equal(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.reference == self.got


@dataclass(frozen=True)
class TicketDiff:
    """Tickets compared by id; `duplicated` counts extra tickets and incident keys that now
    have more tickets than in the reference; `changed` same id, other fields."""

    reference: int
    got: int
    lost: int
    duplicated: int
    changed: int

    @classmethod
    def of(cls, reference: Sequence[TicketRow], got: Sequence[TicketRow]) -> TicketDiff:
        ref = {r[0]: r for r in reference}
        mine = {r[0]: r for r in got}
        per_key_ref = Counter(r[1] for r in reference)
        per_key = Counter(r[1] for r in got)
        extra_ids = len(set(mine) - set(ref)) + (len(got) - len(mine))
        extra_keys = sum((per_key - per_key_ref).values())
        return cls(
            len(reference),
            len(got),
            len(set(ref) - set(mine)),
            max(extra_ids, extra_keys),
            sum(1 for k in set(ref) & set(mine) if ref[k] != mine[k]),
        )

    @property
    def equal(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.changed == 0


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def write_result(name: str, data: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
