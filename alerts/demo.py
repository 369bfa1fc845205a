"""Drive the whole ticket lifecycle over a replay, and show the tickets as a table.

`drive` merges scored-window batches and hotline orders in time order, moves a manual clock
with the data, raises warnings, feeds them and the orders to the ticket service, lets simulated
departments act, and judges deadlines and verification every `tick` seconds of data time.  The
departments follow a simple script (`DepartmentScript`): accept after a while, report handled
after a while, and leave the first ticket(s) untouched, so a replay shows supervision of an
overdue ticket, a verified close (the problem went away) and a reopen (it had not)."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from indicators.language.registry import departments

from .clock import ManualClock
from .events import WarningEvent
from .hotline import HotlineOrder
from .scored import ScoredBatch
from .service import Outcome, TicketService, headline
from .store import TicketFilter
from .tickets import STATUS_ZH, Ticket
from .warning_state import WarningStateMachine

LEVEL_STYLE = {"blue": "bold blue", "yellow": "bold yellow", "orange": "bold dark_orange",
               "red": "bold red"}  # fmt: skip


@dataclass(frozen=True)
class DepartmentScript:
    """How the simulated departments behave in a replay."""

    accept_after: int = 600  # seconds after dispatch (or reopen) before accepting
    # seconds after accepting before reporting it handled, doubled at each reopen: a crew
    # whose report the data proved wrong works longer before reporting again, where one that
    # kept reporting hourly had a long incident reopened at every report
    handle_after: int = 3600
    ignore_first: int = 1  # the first N tickets are never accepted: they go overdue
    actor_prefix: str = "demo"


@dataclass
class DemoResult:
    warnings: list[WarningEvent] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    def summary(self) -> dict[str, int]:
        c = Counter(o.action for o in self.outcomes)
        c["warnings"] = len(self.warnings)
        c["tickets"] = len(self.tickets)
        return dict(c)


def _timeline(
    batches: Iterable[ScoredBatch], orders: Iterable[HotlineOrder]
) -> Iterator[tuple[int, ScoredBatch | HotlineOrder]]:
    """Both streams merged by data time (a batch counts at its latest window end)."""

    def b_items() -> Iterator[tuple[int, int, ScoredBatch | HotlineOrder]]:
        for i, b in enumerate(batches):
            if len(b):
                yield int(b.window_end.max()), 2 * i, b

    def o_items() -> Iterator[tuple[int, int, ScoredBatch | HotlineOrder]]:
        for i, o in enumerate(orders):
            yield int(o.ts), 2 * i + 1, o

    for ts, _, item in heapq.merge(b_items(), o_items(), key=lambda x: (x[0], x[1])):
        yield ts, item


# the tickets a department can act on: every one of them, not the API's first page
ACTIONABLE = TicketFilter(status=("dispatched", "reopened", "accepted", "handling"), limit=10**9)


def _departments_act(
    service: TicketService,
    script: DepartmentScript,
    now: int,
    result: DemoResult,
    seen_at: dict[tuple[str, str, int], int],
) -> None:
    """Each department acts on its tickets once they have waited long enough in a status
    (`seen_at` remembers when the driver first saw each ticket in each status)."""
    for t in service.list_tickets(ACTIONABLE):
        if t.id in result.ignored:
            continue
        waited = now - seen_at.setdefault((t.id, t.status, t.reopen_count), now)
        actor = f"{script.actor_prefix}:{t.department}"
        if t.status in ("dispatched", "reopened") and waited >= script.accept_after:
            service.accept(t.id, actor, "签收 / accepted")
            result.outcomes.append(Outcome(t.id, "accepted", t.id))
        elif t.status in ("accepted", "handling") and waited >= script.handle_after * (
            2**t.reopen_count
        ):
            service.feedback(t.id, actor, "已处置 / handled on site")
            result.outcomes.append(Outcome(t.id, "feedback", t.id))


def drive(
    batches: Iterable[ScoredBatch],
    orders: Iterable[HotlineOrder],
    clock: ManualClock,
    service: TicketService,
    machine: WarningStateMachine,
    script: DepartmentScript | None = None,
    tick: int = 300,
    drain: int | None = None,
    until: int | None = None,
) -> DemoResult:
    """Run the lifecycle over a replay; `drain` seconds of quiet data time are played after
    the last item (default: long enough for verification and a supervised deadline).

    `until` is the end of the data: the clock never passes it.  A flow flushes its open
    windows when its input ends, and a day's or a week's window then ends days after the
    last record; a clock that followed them (and the drain after them) had departments
    supervised and tickets closed days after anything was observed.  With `until` the items
    after it count at `until`, and nothing is drained beyond it."""
    script = script or DepartmentScript()
    result = DemoResult()
    next_tick: int | None = None
    seen_at: dict[tuple[str, str, int], int] = {}

    def step_to(ts: int) -> None:
        nonlocal next_tick
        if until is not None:
            ts = min(ts, until)
        if next_tick is None:
            next_tick = ts
        while next_tick <= ts:
            clock.set(next_tick)
            _departments_act(service, script, next_tick, result, seen_at)
            result.outcomes.extend(service.tick(next_tick))
            next_tick += tick
        clock.set(ts)

    created = 0
    waiting: list[HotlineOrder] = []  # orders between two ticks go in one transaction

    def record(new: list[Outcome]) -> None:
        nonlocal created
        result.outcomes.extend(new)
        for o in new:
            if o.action == "created" and o.ticket_id:
                created += 1
                if created <= script.ignore_first:
                    result.ignored.add(o.ticket_id)

    def submit_waiting() -> None:
        if waiting:
            clock.set(waiting[-1].ts if until is None else min(waiting[-1].ts, until))
            record(service.submit_orders(waiting))
            waiting.clear()

    for ts, item in _timeline(batches, orders):
        if until is not None:
            ts = min(ts, until)
        if next_tick is not None and ts >= next_tick:
            submit_waiting()
        step_to(ts)
        if isinstance(item, HotlineOrder):
            waiting.append(item)
            continue
        submit_waiting()
        events = machine.process(item)
        result.warnings.extend(events)
        record(service.submit_warnings(events))
    submit_waiting()
    if next_tick is not None:
        quiet = drain if drain is not None else (
            service.verification_period + 2 * (script.accept_after + script.handle_after)
            + 4 * tick
        )  # fmt: skip
        end = clock.now() + quiet
        step_to(end if until is None else max(clock.now(), min(end, until)))
    result.tickets = service.list_tickets()
    return result


def _when(ts: int | None, tz: str) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%m-%d %H:%M")


def ticket_table(
    tickets: Iterable[Ticket], tz: str = "Asia/Shanghai", compact: bool = False
) -> Table:
    """The tickets as a rich table: id and level, status with supervision/reopen flags, the
    unit that handles it, what is due when, and the reason with its evidence counts.
    `compact` folds everything but the reason into the first column (narrow terminals)."""
    table = Table(title="派单 / Dispatch tickets", show_lines=True)
    table.add_column("ticket / level", no_wrap=True)
    if not compact:
        table.add_column("status", no_wrap=True)
        table.add_column("handled by", no_wrap=True)
        table.add_column("due", no_wrap=True)
    table.add_column("reason", min_width=30, overflow="fold")
    for t in sorted(tickets, key=lambda t: (t.opened_at, t.id)):
        dept = departments().get(t.department, {})
        status = Text(f"{STATUS_ZH[t.status]}\n{t.status}")
        if t.supervised:
            status.append(f"\n督办 supervised ×{t.supervise_count}", style="bold red")
        if t.reopen_count:
            status.append(f"\n重办 reopened ×{t.reopen_count}", style="bold magenta")
        due = t.current_due()
        if due is not None:
            when = f"{'accept' if t.status in ('dispatched', 'reopened') else 'handle'} by\n"
            when += _when(due, tz)
        elif t.status == "verifying":
            when = f"verify until\n{_when(t.verify_until, tz)}"
        else:  # the deadline it was given, then when it closed (the column is "due")
            when = f"handle by\n{_when(t.handle_due_original or t.handle_due, tz)}"
            when += f"\nclosed {_when(t.closed_at, tz)}"
        zh, en = headline(t)
        counts = f"warnings: {t.warning_count}, hotline orders: {t.order_count}"
        first = Text(f"{t.id}\n").append(t.level, style=LEVEL_STYLE.get(t.level, ""))
        if t.peak_level != t.level:  # a closed incident that was red must not read "blue"
            first.append(" (peak ").append(
                t.peak_level, style=LEVEL_STYLE.get(t.peak_level, "")
            ).append(")")
        unit = f"{dept.get('zh', t.department)}\n{dept.get('en', '')}\n{t.tier} {t.area_code}"
        reason = f"{zh}\n{en}\n[dim]{counts}[/dim]"
        if compact:
            first.append("\n").append(status).append(f"\n{unit}\n{when}")
            table.add_row(first, reason)
        else:
            table.add_row(first, status, unit, when, reason)
    return table


def print_ticket_table(
    tickets: Iterable[Ticket], console: Console | None = None, tz: str = "Asia/Shanghai"
) -> None:
    console = console or Console()
    console.print(ticket_table(tickets, tz, compact=console.width < 120))
