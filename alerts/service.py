"""The ticket service: warnings and hotline orders in, tickets through their lifecycle out.

Merging (减少重复派单) happens here.  An incident is a category family + the area at the
dispatch tier + closeness in time: a warning joins the open ticket of its family whose area
contains it (or is contained by it) and that saw a signal within `merge.window`; its level,
evidence and counts update that ticket instead of dispatching again.  A hotline order joins an
open incident of its family covering its area within the incident's district (corroboration:
`corroboration_scope`), or links to the open order it
duplicates (same service, nearby, close in time), or becomes a ticket of its own.

Inbound items pass through the outbox and are applied in order, each at most once (its key is
recorded with the change in one transaction): replays, restarts and store outages neither lose
nor duplicate a ticket.  Every change writes an audit entry: who, when, what, why."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from flows.jsontext import dumps
from indicators.language.model import Dispatch, Indicator
from indicators.language.registry import departments

from .areas import (
    AreaNames,
    NoAreaNames,
    ancestor_at,
    area_label,
    common_area,
    covers,
    effective_tier,
    related,
    tier_of_code,
)
from .clock import Clock, SystemClock
from .events import WarningEvent
from .explain import local_time, worst_clause, worst_kind
from .hotline import DuplicateIndex, DuplicateRule, HotlineOrder, mask_personal
from .levels import LEVELS, coarser_tier, higher_level, level_index, tier_above, tier_index
from .outbox import Outbox, OutboxItem
from .routing import Route, Router
from .store import TicketFilter, TicketStore, is_transient, unit_columns
from .tickets import (
    AWAITING_ACCEPT,
    AuditEntry,
    InvalidTransitionError,
    Ticket,
    TicketError,
    TicketNotFoundError,
    check_allowed,
    iso,
)

log = logging.getLogger("citysigns.tickets")
SYSTEM = "system"
# Verification of a ticket no indicator watches (a 12345 order): said as it is, not as a data check
NOT_WATCHED_VERIFYING = (
    "no indicator watches this order: it closes after the period unless reported again"
)
NOT_WATCHED_CLOSED = "no indicator watches this order: closed after feedback, without a data check"
# Said only when true: the verification period counts from the moment every warning of the
# ticket had cleared, and anything firing after that reopens the ticket at once.
VERIFIED_CLOSED = "indicators stayed normal through verification"
# A warning that cleared on windows too thin to judge (an indicator's `min_count`: "too few
# checks to judge (15 < 20)"), or that the flow withdrew when it stopped watching the area (a
# sensor removed from the registry), was never seen normal: the close says why, not "stayed
# normal".  Keys: what `_cleared_unjudged` finds of each such warning.
UNJUDGED_WHY = {"thin": "too few records to judge", "withdrawn": "no longer watched"}
UNJUDGED_CLOSED = "closed after the verification period, without a data check"
# A fix that fails verification this many times is supervised (督办) as a missed deadline is:
# reopening alone restarts the department's clock, so a ticket whose fixes never hold would
# otherwise go round for ever without anyone above the department hearing of it.
REOPENS_PER_SUPERVISION = 3
# The first supervisions of one step restart it at its own duration: each missed deadline
# presses the department one tier up at the step's own pace (street, district, city), as the
# escalation ladder is written.  After them each supervision doubles the time until the step
# is due again (2, 4, 8 ... times its duration): restarting it at its own duration for ever
# supervised a red ticket nobody accepted every half hour for days (268 times in a two-day
# replay).  Capped, so that a step is never left unwatched for months: 2**8 times its
# duration (an hour's step: every ~11 days at most).
SUPERVISIONS_AT_STEP_PACE = 3
MAX_SUPERVISION_DOUBLINGS = 8


@dataclass(frozen=True)
class Outcome:
    """What one inbound item did: created | merged | updated | linked | corroborated |
    annotated | closed | ignored | already-applied | queued | dead-letter."""

    key: str
    action: str
    ticket_id: str | None = None
    reason: str = ""


@dataclass
class _Undo:
    """Undo steps for in-memory state changed inside a transaction that may roll back."""

    steps: list[Callable[[], None]] = field(default_factory=list)

    def run(self) -> None:
        for step in reversed(self.steps):
            step()
        self.steps.clear()


@dataclass
class _Chunk:
    """What one transaction of inbound items knows of the rows it read or wrote, kept current
    as it writes, so that no row is read twice and none is read back after being written.
    It lives exactly as long as the transaction: a rollback drops it with the writes."""

    # warning id -> the open ticket it is linked to (None: none); asked for the whole chunk
    of_warning: dict[str, str | None] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    # ticket id -> its warnings still firing, warning id -> level (tickets asked so far)
    firing: dict[str, dict[str, str]] = field(default_factory=dict)


def _json(value: Any) -> str:
    return dumps(value, default=str)


def _ticket_id(creating_key: str) -> str:
    return "T-" + hashlib.sha1(creating_key.encode("utf-8")).hexdigest()[:12]


class TicketService:
    def __init__(
        self,
        store: TicketStore,
        router: Router | None = None,
        catalog: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
        clock: Clock | None = None,
        outbox: Outbox | None = None,
        locate: Callable[[str], str | None] | None = None,
        close_resolved_alerts: bool = True,
        tz: str = "Asia/Shanghai",
        names: AreaNames | None = None,
    ) -> None:
        """`locate` maps an area code the digits do not place (a sensor id) to the finest area
        code it sits in (the city model knows); without it the digits in the id are used.
        `names` names areas (`CityAreaNames` over the city model) in the summary of a ticket
        a hotline order opens, as the flow names them in a warning's; without it the summary
        shows the area's code."""
        self.store = store
        self.router = router or Router()
        if catalog is None:
            self.catalog: dict[str, Indicator] = {}
        elif isinstance(catalog, Mapping):
            self.catalog = dict(catalog)
        else:
            self.catalog = {i.id: i for i in catalog}
        self.clock: Clock = clock or SystemClock()
        self.outbox = outbox if outbox is not None else Outbox()
        self.locate = locate
        self.close_resolved_alerts = close_resolved_alerts
        self.tz = tz
        self.names: AreaNames = names or NoAreaNames()
        self.dead_letters: list[tuple[OutboxItem, str]] = []
        self.last_error: str | None = None
        self.store_errors = 0  # flushes stopped by a transient store failure (for metrics)
        self._lock = threading.RLock()
        self._undo = _Undo()
        self._after_commit: list[Callable[[], None]] = []
        self._audit_buf: list[dict[str, Any]] | None = None
        self._chunk: _Chunk | None = None
        self._places: dict[str, str] = {}
        self._index = DuplicateIndex(self._dup_rule)
        self._rebuild_index()

    # ================================================================== configuration helpers
    def _dup_rule(self, service_code: str) -> DuplicateRule | None:
        spec = self.router.duplicates_for(service_code)
        return None if spec is None else DuplicateRule(spec.radius_m, int(spec.window))

    def _rebuild_index(self) -> None:
        """After a restart the duplicate index is rebuilt from the open tickets' root orders."""
        with suppress(Exception), self.store.begin() as conn:
            for o in self.store.open_root_orders(conn):
                self._index.add(
                    HotlineOrder(o["order_id"], o["service_code"], int(o["at"]), o["lat"],
                                 o["long"], o["area_code"])
                )  # fmt: skip

    def _place(self, area_code: str) -> str:
        """The area `locate` gives (remembered: the city model does not move a sensor while
        the service runs, and a backtest asks for the same dozen sensors ~10^5 times)."""
        if self.locate is None:
            return area_code
        found = self._places.get(area_code)
        if found is None:
            found = self.locate(area_code) or area_code
            if len(self._places) >= 100_000:
                self._places.clear()
            self._places[area_code] = found
        return found

    @property
    def merge_window(self) -> int:
        return int(self.router.config.merge.window)

    @property
    def verification_period(self) -> int:
        return int(self.router.config.verification.period)

    # ================================================================== inbound: outbox
    def submit_warnings(
        self,
        events: Iterable[WarningEvent],
        dispatch: Dispatch | None = None,
        origin: str = "warning",
        actor: str = SYSTEM,
    ) -> list[Outcome]:
        """Queue warning events and apply everything pending (in order).  `actor` is who sent
        them (the name of the token that posted an Alertmanager notification; `system` for
        the flow's warnings): the audit entries the events write name it, as an API action's
        entry names its caller."""
        items = [
            OutboxItem(
                "w:" + ev.event_key,
                "warning",
                {
                    "event": ev.to_dict(),
                    "dispatch": dispatch.model_dump(by_alias=True) if dispatch else None,
                    "origin": origin,
                    "actor": actor,
                },
            )
            for ev in events
        ]
        return self._submit(items)

    def submit_orders(self, orders: Iterable[HotlineOrder]) -> list[Outcome]:
        items = [OutboxItem("o:" + o.service_request_id, "order", o.to_dict()) for o in orders]
        return self._submit(items)

    def _submit(self, items: list[OutboxItem]) -> list[Outcome]:
        with self._lock:
            self.outbox.put_many(items)
            outcomes = {o.key: o for o in self.flush()}
        return [outcomes.get(i.key, Outcome(i.key, "queued", None, self.last_error or ""))
                for i in items]  # fmt: skip

    def pending(self) -> int:
        return len(self.outbox)

    def flush(self, chunk: int = 500, limit: int | None = None) -> list[Outcome]:
        """Apply pending items in order, `chunk` per transaction, the first `limit` only when
        given.  A transient store failure stops the flush and keeps the items for the next
        call; an item that fails for any other reason is isolated and dead-lettered so it
        cannot block the rest."""
        out: list[Outcome] = []
        with self._lock:
            while True:
                left = chunk if limit is None else min(chunk, limit - len(out))
                items = self.outbox.pending(left) if left > 0 else []
                if not items:
                    if self.last_error is not None and out:
                        log.info("the ticket store takes writes again")
                    self.last_error = None
                    return out
                try:
                    out.extend(self._apply_chunk(items))
                except Exception as e:
                    if self.refused(e):
                        return out
                    out.extend(self._apply_one_by_one(items))

    def refused(self, e: BaseException) -> bool:
        """Whether `e` is the store refusing for now (down, restarting, locked): then it is
        counted for the metrics and logged, by its class only (never a URL or path)."""
        if not is_transient(e):
            return False
        self.store_errors += 1
        first = self.last_error is None  # once per outage: a replay tries at every item
        self.last_error = f"ticket store unavailable: {type(e).__name__}"
        log.log(logging.WARNING if first else logging.DEBUG, "%s; %d items wait in the outbox",
                self.last_error, len(self.outbox))  # fmt: skip
        return True

    def _apply_chunk(self, items: list[OutboxItem]) -> list[Outcome]:
        """One transaction: which keys are new is asked once, and the open tickets of the
        chunk's warnings with their firing warnings once (`_prefetch`); ticket and warning
        writes are held by the store and sent as executemany, audit entries and applied keys
        with one executemany each at the end (same order as applied).  Round trips per chunk,
        not per item, is what a remote PostgreSQL needs."""
        outcomes: list[Outcome] = []
        try:
            with self.store.begin() as conn, self.store.deferred(conn):
                self._audit_buf = []
                done = self.store.applied_among(conn, [i.key for i in items])
                self._chunk = self._prefetch(conn, [i for i in items if i.key not in done])
                keys: list[dict[str, Any]] = []
                now = self.clock.now()
                for item in items:
                    if item.key in done:
                        outcomes.append(Outcome(item.key, "already-applied", done[item.key]))
                        continue
                    o = self._apply_item(conn, item)
                    outcomes.append(o)
                    keys.append({"key": item.key, "ticket_id": o.ticket_id, "at": now})
                    done[item.key] = o.ticket_id
                self.store.add_audit_rows(conn, self._audit_buf)
                self.store.mark_applied(conn, keys)
        except BaseException:
            self._undo.run()
            self._after_commit.clear()
            raise
        finally:
            self._audit_buf = None
            self._chunk = None
        self._committed()
        self.outbox.ack_many([i.key for i in items])
        return outcomes

    def _prefetch(self, conn: Connection, items: list[OutboxItem]) -> _Chunk:
        """The open tickets of the chunk's later warning events (a first, "firing" event has
        none yet) and those tickets' firing warnings: two queries instead of two per event."""
        chunk = _Chunk()
        events = [i.payload.get("event") for i in items if i.kind == "warning"]
        wids = [
            str(ev["warning_id"])
            for ev in events
            if isinstance(ev, dict) and ev.get("kind") != "firing" and "warning_id" in ev
        ]
        if not wids:
            return chunk
        found = self.store.open_tickets_of_warnings(conn, wids)
        chunk.of_warning = {w: (found[w].id if w in found else None) for w in wids}
        chunk.tickets = {t.id: t for t in found.values()}
        chunk.firing = self.store.firing_of(conn, list(chunk.tickets))
        return chunk

    def _ticket_of_warning(self, conn: Connection, warning_id: str) -> Ticket | None:
        c = self._chunk
        if c is None or warning_id not in c.of_warning:
            t = self.store.ticket_of_warning(conn, warning_id)
            if c is not None:
                c.of_warning[warning_id] = t.id if t else None
                if t is not None:
                    t = c.tickets.setdefault(t.id, t)
            return t
        tid = c.of_warning[warning_id]
        return None if tid is None else self._must(conn, tid)

    def _write_ticket(self, conn: Connection, t: Ticket, values: dict[str, Any]) -> None:
        """Update ticket `t` (as last read or written) and keep the chunk's copy current."""
        self.store.update_ticket(conn, t.id, values)
        c = self._chunk
        if c is None:
            return
        extra = unit_columns(values["incident_unit"]) if "incident_unit" in values else {}
        c.tickets[t.id] = dataclasses.replace(t, **values, **extra, version=t.version + 1)
        if values.get("status") == "closed":
            for wid, tid in c.of_warning.items():
                if tid == t.id:
                    c.of_warning[wid] = None

    def _write_warning(
        self, conn: Connection, tid: str, warning_id: str, values: dict[str, Any]
    ) -> None:
        self.store.update_warning(conn, tid, warning_id, values)
        firing = self._chunk.firing.get(tid) if self._chunk is not None else None
        if firing is None:
            return
        if values.get("state") == "firing":
            firing[warning_id] = str(values["level"])
        elif values.get("state") is not None:
            firing.pop(warning_id, None)

    def _firing(self, conn: Connection, tid: str) -> dict[str, str]:
        """The ticket's warnings still firing, warning id -> level (as written so far)."""
        c = self._chunk
        if c is None:
            return self.store.firing_of(conn, [tid])[tid]
        if tid not in c.firing:
            c.firing.update(self.store.firing_of(conn, [tid]))
        return c.firing[tid]

    def _headline(
        self, conn: Connection, t: Ticket, ev: WarningEvent, firing: Mapping[str, str]
    ) -> dict[str, Any]:
        """The ticket's level, title and summary after warning event `ev`, `firing` being its
        warnings still firing once `ev` is applied.

        The summary describes the worst warning still firing (the highest level; among equals
        the one it already describes, so that it does not flip between sensors), and `level`
        is that warning's level: a later event of another sensor, a normal reading or a
        de-escalation elsewhere in the incident changes neither.  The title is that warning's
        indicator's, and changes with the summary, never alone: an incident a PM10 warning
        opened is titled PM2.5 while a worse PM2.5 warning gives its summary.  When the last
        warning resolves the summary is that resolution ("... orange warning cleared at
        14:05"), under its title, and the level stays the level it cleared at.  The highest
        level the ticket ever reached is kept in `peak_level` (and, for readers of the
        evidence, `evidence["peak_level"]`; its deadlines never lengthen as the level drops),
        the warning the summary describes in `evidence["headline_warning"]`."""
        current = str(t.evidence.get("headline_warning", ""))
        out: dict[str, Any] = {}
        if not firing:  # `ev` was the last warning firing, and it has resolved
            level, wid = ev.level, ev.warning_id
            out.update(title_zh=ev.title_zh, title_en=ev.title_en, summary_zh=ev.text_zh,
                       summary_en=ev.text_en)  # fmt: skip
            clause = self._worst_clause(conn, t, ev)
            if clause is not None:
                out["summary_zh"] += f"; {clause[0]}"
                out["summary_en"] += f"; {clause[1]}"
        else:
            level = max(firing.values(), key=level_index)
            if current in firing and firing[current] == level and current != ev.warning_id:
                wid = current  # the summary still describes a worst warning
            elif firing.get(ev.warning_id) == level:
                wid = ev.warning_id
                out.update(title_zh=ev.title_zh, title_en=ev.title_en, summary_zh=ev.text_zh,
                           summary_en=ev.text_en)  # fmt: skip
            else:  # the warning it described resolved or fell below another: look that up
                worst = self.store.worst_firing(conn, t.id)
                wid = worst["warning_id"] if worst else ev.warning_id
                text = worst["explanation"] if worst else {}
                if text.get("text_zh") and text.get("text_en"):
                    out.update(self._stored_title(text))
                    out.update(summary_zh=text["text_zh"], summary_en=text["text_en"])
        out["level"] = level
        peak = str(higher_level(t.peak_level, level))
        if peak != t.peak_level:
            out["peak_level"] = peak
        # the first warning to bring the ticket to its peak (a later one at the same level
        # does not replace it); only a warning at the peak level can be it
        peak_wid = t.evidence.get("peak_warning")
        if level == peak and (peak != t.peak_level or not peak_wid):
            peak_wid = wid
        marks = {"headline_warning": wid, "peak_level": peak, "peak_warning": peak_wid}
        if any(t.evidence.get(k) != v for k, v in marks.items() if v is not None):
            out["evidence"] = {**t.evidence, **{k: v for k, v in marks.items() if v}}
        return out

    def _worst_clause(
        self, conn: Connection, t: Ticket, ev: WarningEvent
    ) -> tuple[str, str] | None:
        """What the summary adds when `ev`, the incident's last firing warning, resolves and
        another warning was its worst (`evidence.peak_warning`, at `peak_level`): that
        warning's area, indicator, level and worst value.  Without it a merged incident that
        held an orange Baoshan PM2.5 of 154 ug/m3 closed as "Minhang ... peak 79.7 ug/m3",
        the last minor warning to clear.  None when the resolving warning is itself the worst
        (its resolution says its peak), when it cleared at the peak level (nothing was worse
        than what it says) or the ticket predates `peak_warning`."""
        wid = t.evidence.get("peak_warning")
        if not wid or wid == ev.warning_id or level_index(ev.level) >= level_index(t.peak_level):
            return None
        row = self.store.warning_of(conn, t.id, str(wid))
        if row is None:
            return None
        x = row["explanation"]
        area_zh, area_en = area_label(str(x.get("area_code") or row["area_code"]), self.names)
        title = self._stored_title(x) or {"title_zh": t.title_zh, "title_en": t.title_en}
        window = x.get("window") or [None, None]
        peak, peak_at = x.get("peak"), x.get("peak_at")
        if peak is None:  # a warning still firing when stored: its latest window
            peak, peak_at = x.get("value"), window[-1]
        length = int(window[1]) - int(window[0]) if None not in window[:2] else 0
        # a sliding window is named by its end (explain.sliding): its step is the catalog's
        ind = self.catalog.get(str(x.get("indicator_id", "")))
        step = ind.value.window.spacing if ind is not None else length
        # named as the warning's own sentence names it ("lowest" for a `below` rule); from
        # the catalog for an explanation stored without its rule's `on` and `direction`
        rules = ind.detection.warnings if ind is not None else None
        on = x.get("on") or (rules.on if rules is not None else "value")
        direction = x.get("direction") or (rules.direction if rules is not None else "above")
        return worst_clause(
            area_zh=area_zh, area_en=area_en, title_zh=title["title_zh"],
            title_en=title["title_en"], level=t.peak_level, unit=str(x.get("unit") or ""),
            peak=peak, peak_at=peak_at, at=ev.at, tz=self.tz, length=length, step=step,
            worst=worst_kind(str(on), str(direction)),
        )  # fmt: skip

    def _stored_title(self, explanation: Mapping[str, Any]) -> dict[str, str]:
        """The title of a warning as its stored explanation gives it; explanations stored
        before they held one give their indicator's title from the catalog (nothing when it is
        not a catalog indicator: the title then stays as it is)."""
        zh, en = explanation.get("title_zh"), explanation.get("title_en")
        if not (zh and en):
            ind = self.catalog.get(str(explanation.get("indicator_id", "")))
            if ind is None:
                return {}
            zh, en = ind.title.zh, ind.title.en
        return {"title_zh": str(zh), "title_en": str(en)}

    @staticmethod
    def _retitled(t: Ticket, values: Mapping[str, Any]) -> dict[str, list[str]]:
        """For an audit entry's detail: the title before and after, when `values` change it."""
        new = [values.get("title_zh", t.title_zh), values.get("title_en", t.title_en)]
        old = [t.title_zh, t.title_en]
        return {} if new == old else {"from_title": old, "to_title": new}

    def _apply_one_by_one(self, items: list[OutboxItem]) -> list[Outcome]:
        out: list[Outcome] = []
        for item in items:
            try:
                out.extend(self._apply_chunk([item]))
            except Exception as e:
                if is_transient(e):
                    raise
                if isinstance(e, IntegrityError) and self._applied_elsewhere(item.key):
                    # another process applied the same key at the same moment: not an error
                    self.outbox.ack_many([item.key])
                    out.append(Outcome(item.key, "already-applied"))
                    continue
                reason = f"{type(e).__name__}: {e}"
                log.error("dead letter %s: %s", item.key, reason)
                self.dead_letters.append((item, reason))
                self.outbox.ack_many([item.key])
                out.append(Outcome(item.key, "dead-letter", None, reason))
        return out

    def _audit(
        self,
        conn: Connection,
        *,
        ticket_id: str,
        at: int,
        actor: str,
        action: str,
        from_status: str | None,
        to_status: str | None,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One audit entry: who, when, what (action and statuses), why (reason, detail)."""
        row = self.store.audit_row(
            ticket_id=ticket_id, at=at, actor=actor, action=action, from_status=from_status,
            to_status=to_status, reason=reason, detail=detail,
        )  # fmt: skip
        if self._audit_buf is not None:
            self._audit_buf.append(row)
        else:
            self.store.add_audit_rows(conn, [row])

    def _applied_elsewhere(self, key: str) -> bool:
        with self.store.begin() as conn:
            return self.store.was_applied(conn, key)

    def _committed(self) -> None:
        self._undo.steps.clear()
        for step in self._after_commit:
            step()
        self._after_commit.clear()

    def _apply_item(self, conn: Connection, item: OutboxItem) -> Outcome:
        if item.kind == "warning":
            ev = WarningEvent.from_dict(item.payload["event"])
            d = item.payload.get("dispatch")
            dispatch = Dispatch.model_validate(d) if d else None
            outcome = self._apply_warning(conn, item.key, ev, dispatch,
                                          item.payload.get("origin", "warning"),
                                          str(item.payload.get("actor") or SYSTEM))  # fmt: skip
        elif item.kind == "order":
            outcome = self._apply_order(conn, item.key, HotlineOrder.from_dict(item.payload))
        else:
            raise ValueError(f"unknown outbox item kind {item.kind!r}")
        return outcome

    # ================================================================== warnings
    def _apply_warning(
        self, conn: Connection, key: str, ev: WarningEvent, dispatch: Dispatch | None,
        origin: str, actor: str = SYSTEM,
    ) -> Outcome:  # fmt: skip
        """Apply one warning event; the audit entries it writes name `actor` (who sent it),
        except a reopening, which is the verification rule's decision."""
        now = self.clock.now()
        # The first event of a warning ("firing") cannot have a ticket yet: each event key is
        # applied once, so only later events of the warning need the lookup.
        ticket = None if ev.kind == "firing" else self._ticket_of_warning(conn, ev.warning_id)
        if ticket is not None:
            return self._update_from_warning(conn, key, ticket, ev, dispatch, now, actor)
        if ev.kind == "resolved":
            return Outcome(key, "ignored", None, "resolved warning without an open ticket")
        ind = self.catalog.get(ev.indicator_id)
        if dispatch is None and ind is not None:
            dispatch = ind.dispatched()
        family = self.router.family(ev.category, ev.indicator_id, ev.source_categories)
        area = self._place(ev.area_code)
        route = self.router.for_warning(
            family=family, indicator_id=ev.indicator_id, area_code=area, level=ev.level,
            dispatch=dispatch,
        )  # fmt: skip
        if route is None:
            return Outcome(key, "ignored", None, "indicator informs only (dispatch: none)")
        tier = effective_tier(area, route.tier)
        unit = ancestor_at(area, tier)
        for t in self._related_open(conn, family, unit, ev.at - self.merge_window):
            if related(t.incident_unit, unit):
                return self._merge_warning(conn, key, t, ev, area, route, tier, now, actor)
        return self._create_from_warning(conn, key, ev, area, route, tier, unit, origin, now,
                                         actor)  # fmt: skip

    def _surge(self, ev: WarningEvent) -> int:
        """Orders counted by a hotline-count warning (0 for other warnings)."""
        if ev.category in ("hotline", "photo_report") and ev.aggregate == "count" and ev.value:
            return int(ev.value)
        return 0

    def _new_ticket_clock(self, route: Route, now: int) -> dict[str, Any]:
        """A new ticket's deadlines (from its route, in working hours if the route says so)
        and its empty progress, whatever created it: a warning or a hotline order.  The
        handling deadline is also kept as `handle_due_original`, which supervision never
        moves, so that compliance is judged on the time the department was given."""
        handle_due = self.router.deadline(now, route.handle, route.working_hours_only)
        return {
            "accept_s": route.accept, "handle_s": route.handle,
            "working_hours_only": route.working_hours_only,
            "opened_at": now, "updated_at": now,
            "accept_due": self.router.deadline(now, route.accept, route.working_hours_only),
            "handle_due": handle_due, "handle_due_original": handle_due,
            "accepted_at": None, "feedback_at": None, "feedback_notes": None,
            "verify_until": None, "closed_at": None, "version": 1, "step_supervise_count": 0,
        }  # fmt: skip

    def _create_from_warning(
        self, conn: Connection, key: str, ev: WarningEvent, area: str, route: Route, tier: str,
        unit: str, origin: str, now: int, actor: str = SYSTEM,
    ) -> Outcome:  # fmt: skip
        incident_key = f"{route.family}:{unit}:{ev.at}"
        tid = _ticket_id(f"{incident_key}|{ev.warning_id}")
        values = {
            "id": tid, "origin": origin, "family": route.family, "category": ev.category,
            "incident_key": incident_key, "incident_area": area, "incident_unit": unit,
            "area_code": unit,
            "tier": tier, "department": route.department, "level": ev.level,
            "peak_level": ev.level, "status": "dispatched", "supervised": False,
            "supervise_count": 0, "reopen_count": 0, "warning_count": 1, "firing_count": 1,
            "order_count": 0,
            "surge_count": self._surge(ev), "title_zh": ev.title_zh, "title_en": ev.title_en,
            "summary_zh": ev.text_zh, "summary_en": ev.text_en,
            "evidence": {"first_warning": ev.warning_id, "headline_warning": ev.warning_id,
                         "peak_level": ev.level, "peak_warning": ev.warning_id},
            "service_code": None, "description": None, "lat": None, "long": None,
            "last_signal_at": ev.at, **self._new_ticket_clock(route, now),
        }  # fmt: skip
        self._insert_ticket(conn, values)
        self._link_warning(conn, tid, ev)
        self._audit(
            conn, ticket_id=tid, at=now, actor=actor, action="dispatched", from_status=None,
            to_status="dispatched", reason=ev.text,
            detail={"warning_id": ev.warning_id, "incident_key": incident_key,
                    "department": route.department, "tier": tier, "area_code": unit,
                    **self._deadlines(values)},
        )  # fmt: skip
        return Outcome(key, "created", tid, ev.text_en)

    def _insert_ticket(self, conn: Connection, values: dict[str, Any]) -> None:
        self.store.insert_ticket(conn, values)
        if self._chunk is not None:
            tid = values["id"]
            self._chunk.tickets[tid] = Ticket(**values, **unit_columns(values["incident_unit"]))
            self._chunk.firing[tid] = {}  # a new ticket: its warnings are those linked now

    def _related_open(
        self, conn: Connection, family: str, unit: str, since: int, descendants: bool = True
    ) -> list[Ticket]:
        c = self._chunk
        if c is None:
            return self.store.related_open(conn, family, unit, since, descendants)
        found = self.store.related_open(conn, family, unit, since, descendants, c.tickets)
        c.tickets.update((t.id, t) for t in found)
        return found

    def _link_warning(self, conn: Connection, tid: str, ev: WarningEvent) -> None:
        self.store.link_warning(
            conn,
            {"ticket_id": tid, "warning_id": ev.warning_id, "indicator_id": ev.indicator_id,
             "area_code": ev.area_code, "level": ev.level, "state": "firing",
             "first_at": ev.at, "last_at": ev.at, "explanation": _json(ev.explanation())},
        )  # fmt: skip
        c = self._chunk
        if c is not None:
            c.of_warning[ev.warning_id] = tid
            if tid in c.firing:
                c.firing[tid][ev.warning_id] = ev.level

    def _merge_warning(
        self, conn: Connection, key: str, t: Ticket, ev: WarningEvent, area: str, route: Route,
        tier: str, now: int, actor: str = SYSTEM,
    ) -> Outcome:  # fmt: skip
        self._link_warning(conn, t.id, ev)
        values: dict[str, Any] = {
            "warning_count": t.warning_count + 1,
            "firing_count": t.firing_count + 1,
            "surge_count": max(t.surge_count, self._surge(ev)),
            "incident_area": common_area(t.incident_area, area),
            "last_signal_at": max(t.last_signal_at, ev.at),
            "updated_at": now,
        }
        # nothing else firing: no need to ask which warnings are (the new one is linked); a
        # hotline ticket becoming a sensor-backed incident so takes the warning's title
        firing = {ev.warning_id: ev.level} if t.firing_count == 0 else self._firing(conn, t.id)
        values.update(self._headline(conn, t, ev, firing))
        if level_index(values["level"]) > level_index(t.level):
            values.update(self._tightened(t, route, now))
        self._maybe_tier_up(conn, t, tier, values, now, ev.text, actor)
        self._write_ticket(conn, t, values)
        self._audit(
            conn, ticket_id=t.id, at=now, actor=actor, action="merged",
            from_status=t.status, to_status=t.status,
            reason=f"{ev.text}; {_ticket_level_change(t.level, values['level'])}",
            detail={"warning_id": ev.warning_id, "level": ev.level,
                    "warning_level": ev.level, "from_level": t.level,
                    "to_level": values["level"], "warning_count": values["warning_count"],
                    **self._retitled(t, values)},
        )  # fmt: skip
        if t.status == "verifying":
            self._reopen(
                conn, t.id, now,
                f"new {ev.level} warning {ev.warning_id} during verification: not fixed",
                {"warning_id": ev.warning_id, "warning_level": ev.level},
            )  # fmt: skip
        return Outcome(key, "merged", t.id, ev.text_en)

    def _tightened(self, t: Ticket, route: Route, now: int) -> dict[str, Any]:
        """A more severe level brings its own (shorter) deadlines; never lengthen one.  The
        original handling deadline tightens with it: the department now owes the shorter
        time, whatever a supervision did to the current one.

        The level's way of counting comes with its durations: a ticket a 12345 order opened
        counts office hours, a warning's route the wall clock, and a red water outage is owed
        its 15 min / 4 h on the wall clock as a ticket the warning opened is.  Kept in office
        hours, every later deadline (a reopening, a supervision, a reassignment) counted its
        4 h in office hours: a reopening at 14:45 was due the next day at 10:45.  Once on the
        wall clock a ticket stays on it (a deadline is never lengthened)."""
        out: dict[str, Any] = {"accept_s": min(t.accept_s, route.accept),
                               "handle_s": min(t.handle_s, route.handle),
                               "working_hours_only": t.working_hours_only
                               and route.working_hours_only}  # fmt: skip
        if t.status in AWAITING_ACCEPT:
            out["accept_due"] = min(
                t.accept_due, self.router.deadline(now, route.accept, route.working_hours_only)
            )
        handle_due = self.router.deadline(now, route.handle, route.working_hours_only)
        out["handle_due"] = min(t.handle_due, handle_due)
        out["handle_due_original"] = min(t.handle_due_original or t.handle_due, handle_due)
        return out

    def _maybe_tier_up(
        self, conn: Connection, t: Ticket, tier: str, values: dict[str, Any], now: int, why: str,
        actor: str = SYSTEM,
    ) -> None:  # fmt: skip
        """A warning whose level is dispatched at a coarser tier widens the incident to that
        tier's area and moves the ticket up, unless supervision already moved it higher."""
        incident_area = values.get("incident_area", t.incident_area)
        unit_tier = tier_of_code(t.incident_unit) or t.tier
        if tier_index(tier) > tier_index(unit_tier):
            values["incident_unit"] = ancestor_at(incident_area, tier)
        new_tier = coarser_tier(t.tier, tier)
        if new_tier == t.tier:
            return
        new_area = ancestor_at(incident_area, new_tier)
        values.update(tier=new_tier, area_code=new_area)
        self._audit(
            conn, ticket_id=t.id, at=now, actor=actor, action="escalated",
            from_status=t.status, to_status=t.status, reason=f"level needs tier {new_tier}: {why}",
            detail={"from_tier": t.tier, "to_tier": new_tier, "area_code": new_area},
        )  # fmt: skip

    def _update_from_warning(
        self, conn: Connection, key: str, t: Ticket, ev: WarningEvent, dispatch: Dispatch | None,
        now: int, actor: str = SYSTEM,
    ) -> Outcome:  # fmt: skip
        values: dict[str, Any] = {"updated_at": now,
                                  "last_signal_at": max(t.last_signal_at, ev.at),
                                  "surge_count": max(t.surge_count, self._surge(ev))}  # fmt: skip
        if ev.kind == "resolved":
            self._write_warning(conn, t.id, ev.warning_id,
                                {"state": "resolved", "last_at": ev.at,
                                 "explanation": _json(ev.explanation())})  # fmt: skip
            values["firing_count"] = max(0, t.firing_count - 1)
            firing = {} if t.warning_count == 1 else self._firing(conn, t.id)
            values.update(self._headline(conn, t, ev, firing))
            all_normal = (
                t.status == "verifying" and t.firing_count > 0 and values["firing_count"] == 0
            )
            if all_normal:
                values["verify_until"] = now + self.verification_period
            self._write_ticket(conn, t, values)
            self._audit(
                conn, ticket_id=t.id, at=now, actor=actor, action="warning_resolved",
                from_status=t.status, to_status=t.status,
                reason=f"{ev.text}; {_ticket_level_change(t.level, values['level'])}",
                detail={"warning_id": ev.warning_id, "firing_count": values["firing_count"],
                        "level": values["level"], "warning_level": ev.level,
                        "from_level": t.level, "to_level": values["level"],
                        **self._retitled(t, values)},
            )  # fmt: skip
            if all_normal:
                self._start_verification_clock(conn, t, ev, now)
            if (
                self.close_resolved_alerts
                and t.origin == "alert"
                and t.status == "dispatched"
                and values["firing_count"] == 0
            ):
                self._close(conn, t.id, now, "alert resolved before anyone accepted it", actor)
                return Outcome(key, "closed", t.id, ev.text_en)
            return Outcome(key, "annotated", t.id, ev.text_en)

        # firing again (a replay after a lost ack), escalated or de-escalated
        self._write_warning(
            conn, t.id, ev.warning_id,
            {"level": ev.level, "state": "firing", "last_at": ev.at,
             "explanation": _json(ev.explanation())},
        )  # fmt: skip
        firing = {ev.warning_id: ev.level} if t.warning_count == 1 else self._firing(conn, t.id)
        values.update(self._headline(conn, t, ev, firing))
        new_level = values["level"]
        if ev.kind == "escalated":
            ind = self.catalog.get(ev.indicator_id)
            dispatch = dispatch or (ind.dispatched() if ind else None)
            route = self.router.for_warning(
                family=t.family, indicator_id=ev.indicator_id, area_code=self._place(ev.area_code),
                level=ev.level, dispatch=dispatch,
            )  # fmt: skip
            if route is not None:
                if level_index(new_level) > level_index(t.level):
                    values.update(self._tightened(t, route, now))
                tier = effective_tier(self._place(ev.area_code), route.tier)
                self._maybe_tier_up(conn, t, tier, values, now, ev.text, actor)
        self._write_ticket(conn, t, values)
        self._audit(
            conn, ticket_id=t.id, at=now, actor=actor, action="level",
            from_status=t.status, to_status=t.status,
            reason=f"{ev.text}; {_ticket_level_change(t.level, new_level)}",
            detail={"warning_id": ev.warning_id, "kind": ev.kind,
                    "warning_from_level": ev.previous_level, "warning_level": ev.level,
                    "from_level": t.level, "to_level": new_level,
                    **self._retitled(t, values)},
        )  # fmt: skip
        if t.status == "verifying" and ev.kind == "escalated":
            self._reopen(
                conn, t.id, now,
                f"warning {ev.warning_id} escalated to {ev.level} during verification: not "
                "fixed",
                {"warning_id": ev.warning_id, "warning_level": ev.level},
            )  # fmt: skip
        return Outcome(key, "updated", t.id, ev.text_en)

    def _start_verification_clock(
        self, conn: Connection, t: Ticket, ev: WarningEvent, now: int
    ) -> None:
        """The last firing warning of a verifying ticket cleared: the verification period
        starts now (`verify_until` was set with the ticket's write).  Its own audit entry says
        so, as the one at feedback does, so that the trail shows when the indicators were
        first all normal and until when they must stay so."""
        until = now + self.verification_period
        how = ""
        if not ev.judged:
            how = ", withdrawn: no longer watched" if ev.withdrawn else ", on too few records"
            how += "" if ev.withdrawn else " to judge"
        self._audit(
            conn, ticket_id=t.id, at=now, actor=SYSTEM, action="verifying",
            from_status=t.status, to_status="verifying",
            reason=f"all warnings cleared (the last: {ev.warning_id}{how}): the indicators "
            f"must stay normal for {_span(self.verification_period)}, until "
            f"{local_time(until, now, self.tz)}",
            detail={"verify_until": self._iso(until), "data_check": ev.judged,
                    "normal_since": self._iso(now), "warning_id": ev.warning_id},
        )  # fmt: skip

    # ================================================================== hotline orders
    def _apply_order(self, conn: Connection, key: str, order: HotlineOrder) -> Outcome:
        now = self.clock.now()
        route = self.router.for_order(order.service_code)
        area = order.area_code or ""
        if area:
            for t in self._related_open(
                conn, route.family, area, order.ts - self.merge_window, descendants=False
            ):
                if t.warning_count > 0 and covers(corroboration_scope(t), area):
                    return self._attach_order(conn, key, t, order, "corroboration", None, now)
        root = self._index.find(order)
        if root is not None:
            tid = self.store.ticket_of_order(conn, root)
            rt = self._get(conn, tid) if tid else None
            if rt is not None and rt.is_open:
                return self._attach_order(conn, key, rt, order, "duplicate", root, now)
        return self._create_from_order(conn, key, order, route, area, now)

    def _attach_order(
        self, conn: Connection, key: str, t: Ticket, order: HotlineOrder, role: str,
        root: str | None, now: int,
    ) -> Outcome:  # fmt: skip
        self.store.add_order(
            conn,
            {"order_id": order.service_request_id, "ticket_id": t.id, "role": role,
             "duplicate_of": root, "service_code": order.service_code, "at": order.ts,
             "lat": order.lat, "long": order.long, "area_code": order.area_code},
        )  # fmt: skip
        count = t.order_count + 1
        surge = t.surge_count
        self._write_ticket(
            conn, t,
            {"order_count": count, "updated_at": now,
             "last_signal_at": max(t.last_signal_at, order.ts)},
        )  # fmt: skip
        what = (
            f"hotline order {order.service_request_id} duplicates open order {root}"
            if role == "duplicate"
            else f"corroborated by {hotline_orders_en(count)}"
            + (f"; the hotline-count warning counts {surge}" if surge > count else "")
        )
        self._audit(
            conn, ticket_id=t.id, at=now, actor=SYSTEM,
            action="linked" if role == "duplicate" else "corroborated",
            from_status=t.status, to_status=t.status, reason=what,
            detail={"order_id": order.service_request_id, "service_code": order.service_code,
                    "duplicate_of": root, "order_count": count, "surge_count": surge},
        )  # fmt: skip
        if self._reported_again(t, order, role):
            again = (
                f"hotline order {order.service_request_id} duplicates order {root}"
                if role == "duplicate"
                else f"hotline order {order.service_request_id} reports the same problem"
            )
            self._reopen(
                conn, t.id, now,
                f"reported again during verification: {again}: not fixed",
                {"order_id": order.service_request_id, "role": role},
            )  # fmt: skip
        return Outcome(key, "linked" if role == "duplicate" else "corroborated", t.id, what)

    @staticmethod
    def _reported_again(t: Ticket, order: HotlineOrder, role: str) -> bool:
        """Whether `order`, attached to `t` as `role`, reopens it: a citizen calling about
        the same problem after the department reported it handled says the fix did not hold,
        whether the order duplicates the ticket's own order or corroborates its warnings.  (A
        corroborating call once only counted: a gas leak took ten calls in its verification
        and still closed as normal.)  An order placed before the feedback, and delivered
        late, speaks of the problem before the fix and does not reopen it.

        A corroborating order must also lie in the incident's own area (`incident_area`, the
        common area of its warnings and orders), not merely where it corroborates
        (`corroboration_scope`, up to the incident's district): a water call elsewhere in
        Jing'an supports a Jing'an street's water incident but says nothing of the fix in
        that street.  A duplicate is near its order by definition."""
        if t.status != "verifying" or order.ts < (t.feedback_at or 0):
            return False
        return role == "duplicate" or covers(t.incident_area or t.incident_unit,
                                             order.area_code or "")  # fmt: skip

    def _create_from_order(
        self, conn: Connection, key: str, order: HotlineOrder, route: Route, area: str, now: int
    ) -> Outcome:
        tier = effective_tier(area, route.tier) if area else "city"
        unit = ancestor_at(area, tier) if area else ""
        tid = _ticket_id(f"order|{order.service_request_id}")
        names = self._service_names(order.service_code)
        desc = mask_personal(order.description)[:2000]
        values = {
            "id": tid, "origin": "hotline", "family": route.family,
            "category": order.service_code, "incident_key": f"{route.family}:{unit}:{order.ts}",
            "incident_area": area, "incident_unit": unit, "area_code": unit, "tier": tier,
            "department": route.department, "level": "blue", "peak_level": "blue",
            "status": "dispatched",
            "supervised": False, "supervise_count": 0, "reopen_count": 0, "warning_count": 0,
            "firing_count": 0, "order_count": 1, "surge_count": 0,
            "title_zh": f"12345 工单: {names[0]}", "title_en": f"12345 order: {names[1]}",
            **self._order_summary(order, names, now),
            "evidence": {"order": order.service_request_id},
            "service_code": order.service_code, "description": desc,
            "lat": order.lat, "long": order.long,
            "last_signal_at": order.ts, **self._new_ticket_clock(route, now),
        }  # fmt: skip
        self._insert_ticket(conn, values)
        self.store.add_order(
            conn,
            {"order_id": order.service_request_id, "ticket_id": tid, "role": "root",
             "duplicate_of": None, "service_code": order.service_code, "at": order.ts,
             "lat": order.lat, "long": order.long, "area_code": order.area_code},
        )  # fmt: skip
        if self._index.add(order):
            self._undo.steps.append(lambda: self._index.remove(order.service_request_id))
        self._audit(
            conn, ticket_id=tid, at=now, actor=SYSTEM, action="dispatched", from_status=None,
            to_status="dispatched", reason=f"12345 order {order.service_request_id}",
            detail={"order_id": order.service_request_id, "department": route.department,
                    "tier": tier, "area_code": unit, **self._deadlines(values)},
        )  # fmt: skip
        return Outcome(key, "created", tid, str(values["summary_en"]))

    def _order_summary(
        self, order: HotlineOrder, names: tuple[str, str], now: int
    ) -> dict[str, str]:
        """A hotline ticket's summary says where, what and since when, in both languages, as
        a warning's does: "静安区 南京西路街道: 12345 工单, 停水/水压低, 自 14:05" and "Jing'an,
        Nanjing West Road: 12345 order, water outage or low pressure, since 14:05" (the date
        too when the order is from another day).  The category alone said nothing of where
        or when; the citizen's own words stay in `description`."""
        when = local_time(order.ts, now, self.tz)
        zh = f"12345 工单, {names[0]}, 自 {when}"
        en = f"12345 order, {names[1]}, since {when}"
        if order.area_code:
            area_zh, area_en = area_label(order.area_code, self.names)
            zh, en = f"{area_zh}: {zh}", f"{area_en}: {en}"
        return {"summary_zh": zh, "summary_en": en}

    @staticmethod
    def _service_names(code: str) -> tuple[str, str]:
        from indicators.language.registry import hotline_categories

        found = hotline_categories().get(code)
        return (found["zh"], found["en"]) if found else (code, code)

    # ================================================================== transitions
    def _reopen(
        self, conn: Connection, tid: str, now: int, reason: str,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Back to the department with fresh deadlines: the fix did not hold.  `reason` and
        `evidence` (added to the audit detail) name what showed it: the warning, the order.

        Every `REOPENS_PER_SUPERVISION`th reopening is also supervised, one tier up, like a
        missed deadline: the department meets each restarted deadline on paper while the
        problem stays, so the deadline timer alone never escalates it.  The original handling
        deadline stays: compliance asks whether the problem was handled in the time first
        given, and a fix that did not hold was not.

        The previous round's feedback (`feedback_at`, `feedback_notes`) is cleared with it:
        a reopened ticket has not been reported handled, and a ticket accepted again showing
        the old "handled" note and time read as fixed (the audit keeps every feedback)."""
        t = self._must(conn, tid)
        values = {
            "status": "reopened", "reopen_count": t.reopen_count + 1, "verify_until": None,
            "feedback_at": None, "feedback_notes": None,
            "updated_at": now, "step_supervise_count": 0,
            "accept_due": self.router.deadline(now, t.accept_s, t.working_hours_only),
            "handle_due": self.router.deadline(now, t.handle_s, t.working_hours_only),
        }  # fmt: skip
        self._write_ticket(conn, t, values)
        self._audit(conn, ticket_id=tid, at=now, actor=SYSTEM, action="reopened",
                    from_status=t.status, to_status="reopened", reason=reason,
                    detail={"reopen_count": t.reopen_count + 1,
                            **self._deadlines(values), **(evidence or {})})  # fmt: skip
        count = t.reopen_count + 1
        if count % REOPENS_PER_SUPERVISION == 0:
            self._supervise(conn, self._must(conn, tid), now,
                            f"reopened {count} times: the fixes do not hold", SYSTEM,
                            {"reopen_count": count})  # fmt: skip

    def _close(
        self, conn: Connection, tid: str, now: int, reason: str, actor: str,
        detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        t = self._must(conn, tid)
        self._write_ticket(conn, t, {"status": "closed", "closed_at": now,
                                     "updated_at": now})  # fmt: skip
        self._audit(conn, ticket_id=tid, at=now, actor=actor, action="closed",
                    from_status=t.status, to_status="closed", reason=reason,
                    detail=detail)  # fmt: skip
        roots = [o for o in self.store.orders_of(conn, tid) if o["role"] == "root"]
        for o in roots:
            self._after_commit.append(functools.partial(self._index.remove, o["order_id"]))

    def _supervise(
        self, conn: Connection, t: Ticket, now: int, reason: str, actor: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """督办: flag the ticket, move it one tier up and restart the step it is in.

        Supervision presses a department; it never buys it time.  The step in hand (accept
        while waiting for acceptance, handling once accepted) is restarted from now when its
        deadline has passed, and that new deadline is when the timer supervises it again:
        once per missed deadline, not at every tick.  The restart is the step's duration for
        the first SUPERVISIONS_AT_STEP_PACE supervisions of this step (`step_supervise_count`,
        0 when the step began), then doubled for each one after: a red ticket's missed
        acceptance is supervised after 30 min, 30 min, 30 min, then 1 h, 2 h ..., instead
        of every 30 minutes for as long as nobody takes it.  A supervisor's 督办 before the
        deadline keeps the earlier of the current deadline and a restart, so it can shorten
        the time left but never lengthen it.  Supervisions of another step do not count
        (`supervise_count` is the ticket's total over all its steps), so supervisions while
        it waited for acceptance cost it nothing once accepted.  While it waits for
        acceptance its handling deadline is never earlier than its accept deadline: the
        handling step cannot be due before the department could have taken it."""
        new_tier = tier_above(t.tier)
        new_area = ancestor_at(t.incident_area or t.area_code, new_tier) if t.area_code else ""
        values: dict[str, Any] = {
            "supervised": True,
            "supervise_count": t.supervise_count + 1,
            "step_supervise_count": t.step_supervise_count + 1,
            "updated_at": now,
            "tier": new_tier,
            "area_code": new_area,
        }
        missed = t.current_due()
        step = t.step
        new_due: int | None = None
        if step is not None and missed is not None:
            duration = t.accept_s if step == "accept" else t.handle_s
            doublings = t.step_supervise_count + 1 - SUPERVISIONS_AT_STEP_PACE
            duration *= 2 ** min(max(doublings, 0), MAX_SUPERVISION_DOUBLINGS)
            new_due = self.router.deadline(now, duration, t.working_hours_only)
            if missed >= now:  # not missed yet: a 督办 never lengthens it
                new_due = min(missed, new_due)
            if step == "accept":
                values["accept_due"] = new_due
                values["handle_due"] = max(t.handle_due, new_due)
            else:
                values["handle_due"] = new_due
        detail: dict[str, Any] = {
            "from_tier": t.tier, "to_tier": new_tier, "area_code": new_area, "step": step,
            "supervise_count": t.supervise_count + 1, **(extra or {}),
        }  # fmt: skip
        if missed is not None and missed < now:
            detail["missed"] = self._iso(missed)
        if new_due is not None:
            detail["due"] = self._iso(new_due)
        self._write_ticket(conn, t, values)
        self._audit(
            conn, ticket_id=t.id, at=now, actor=actor, action="supervised",
            from_status=t.status, to_status=t.status, reason=reason, detail=detail,
        )  # fmt: skip

    def _iso(self, ts: int) -> str:
        """A time for an audit entry's detail, as the API gives every time: ISO 8601 in the
        service's zone (2026-03-01T10:00:00+08:00), not epoch seconds."""
        return str(iso(ts, self.tz))

    def _deadlines(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The accept and handle deadlines set by `values`, for an audit entry's detail."""
        return {k: self._iso(int(values[k])) for k in ("accept_due", "handle_due")}

    def _get(self, conn: Connection, tid: str) -> Ticket | None:
        """The ticket as this transaction last read or wrote it, else from the store."""
        c = self._chunk
        if c is not None and tid in c.tickets:
            return c.tickets[tid]
        t = self.store.get(conn, tid)
        if c is not None and t is not None:
            c.tickets[tid] = t
        return t

    def _must(self, conn: Connection, tid: str) -> Ticket:
        t = self._get(conn, tid)
        if t is None:
            raise TicketNotFoundError(f"no ticket {tid}")
        return t

    def tick(self, now: int | None = None, flush: bool = True) -> list[Outcome]:
        """Judge deadlines and verification periods at `now` (the clock's time by default):
        overdue steps are supervised, verified tickets closed or reopened.  What waits in
        the outbox goes in first, unless `flush` is False (a replay in data time applies
        each item at its own time, not at a tick's)."""
        now = self.clock.now() if now is None else int(now)
        out: list[Outcome] = []
        with self._lock:
            if flush:
                self.flush()
            try:
                with self.store.begin() as conn:
                    for t in self.store.due_before(conn, now):
                        out.append(self._judge(conn, t, now))
            except BaseException:
                self._after_commit.clear()
                raise
            self._committed()
        return out

    def _judge(self, conn: Connection, t: Ticket, now: int) -> Outcome:
        """A verifying ticket whose `verify_until` has come: closed, or reopened when its
        warnings never cleared.

        While any warning of the ticket fires, `verify_until` is only the bound set at
        feedback (feedback + the period): the period itself runs from the moment the last
        one clears (`_start_verification_clock`), and any warning firing, escalating or
        merging after that reopens the ticket at once.  So a ticket that reaches its end
        with nothing firing really had its indicators normal for the whole period, and only
        then may the close say so."""
        if t.status == "verifying":
            if t.firing_count > 0:
                firing = self.store.firing_of(conn, [t.id])[t.id]
                names = ", ".join(f"{w} ({lv})" for w, lv in sorted(firing.items()))
                since = self._iso(t.feedback_at) if t.feedback_at is not None else "feedback"
                self._reopen(
                    conn, t.id, now,
                    f"still firing {_span(self.verification_period)} after the feedback of "
                    f"{since}, never all normal: not fixed: {names}",
                    {"firing": dict(sorted(firing.items()))},
                )  # fmt: skip
                return Outcome(t.id, "reopened", t.id)
            unjudged = self._cleared_unjudged(conn, t) if t.warning_count > 0 else {}
            covering = self._covering_incident(conn, t)
            if covering is not None:
                self._close(conn, t.id, now, _covered_closed(covering), SYSTEM,
                            {"data_check": False, "covered_by": covering.id,
                             "incident_firing": covering.firing_count > 0})  # fmt: skip
            elif t.warning_count == 0:
                self._close(conn, t.id, now, NOT_WATCHED_CLOSED, SYSTEM,
                            {"data_check": False})  # fmt: skip
            elif unjudged:
                detail: dict[str, Any] = {"data_check": False, "unjudged": sorted(unjudged)}
                if gone := sorted(w for w, why in unjudged.items() if why == "withdrawn"):
                    detail["withdrawn"] = gone
                self._close(conn, t.id, now, f"{UNJUDGED_CLOSED} ({_unjudged_said(unjudged)})",
                            SYSTEM, detail)  # fmt: skip
            else:
                self._close(conn, t.id, now, VERIFIED_CLOSED, SYSTEM,
                            {"data_check": True,
                             "normal_since": self._iso((t.verify_until or now)
                                                       - self.verification_period)})  # fmt: skip
            return Outcome(t.id, "closed", t.id)
        self._supervise(conn, t, now, f"{t.step} deadline missed (督办)", SYSTEM)
        return Outcome(t.id, "supervised", t.id)

    def _covering_incident(self, conn: Connection, t: Ticket) -> Ticket | None:
        """For a ticket without warnings (a 12345 order), the open incident of its family
        with warnings that its area lies in (`corroboration_scope`), if any: calls placed
        minutes before a warning stay tickets of their own (a warning joins one ticket), but
        their area is watched, and "no indicator watches this order" would be false while
        that incident's red warning still fires."""
        if t.warning_count > 0 or not t.incident_area:
            return None
        for c in self._related_open(conn, t.family, t.incident_area, 0, descendants=False):
            if c.id != t.id and c.warning_count > 0 and covers(corroboration_scope(c),
                                                               t.incident_area):  # fmt: skip
                return c
        return None

    def _cleared_unjudged(self, conn: Connection, t: Ticket) -> dict[str, str]:
        """The ticket's warnings whose series last cleared without data to judge, each with
        why (a key of `UNJUDGED_WHY`): on a window too thin to judge, or withdrawn because the
        flow stopped watching the area (the event's `judged` false).  Nothing after that told
        the service the data was judged normal (the warning state sends no event for a normal
        window), so a close on them is no data check.  Only the latest warning of each series
        counts: one that fired again and cleared on judged data has been seen normal since."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for w in self.store.warnings_of(conn, t.id):  # oldest first
            latest[(w["indicator_id"], w["area_code"])] = w
        return {w["warning_id"]: "withdrawn" if w["explanation"].get("withdrawn") else "thin"
                for w in sorted(latest.values(), key=lambda w: str(w["warning_id"]))
                if w["state"] == "resolved"
                and w["explanation"].get("judged") is False}  # fmt: skip

    # ================================================================== actions (API)
    def _act(self, tid: str, action: str, actor: str, fn: Callable[[Connection, Ticket, int],
             tuple[dict[str, Any], str, str, dict[str, Any]]]) -> Ticket:  # fmt: skip
        with self._lock:
            now = self.clock.now()
            try:
                with self.store.begin() as conn:
                    t = self._must(conn, tid)
                    check_allowed(action, tid, t.status)
                    values, to_status, reason, detail = fn(conn, t, now)
                    values["updated_at"] = now
                    self.store.update_ticket(conn, tid, values)
                    self._audit(conn, ticket_id=tid, at=now, actor=actor, action=action,
                                from_status=t.status, to_status=to_status, reason=reason,
                                detail=detail)  # fmt: skip
                    after = dataclasses.replace(t, **values, version=t.version + 1)
            except BaseException:
                self._after_commit.clear()
                raise
            self._committed()
            return after

    def accept(self, tid: str, actor: str, note: str = "") -> Ticket:
        return self._act(
            tid,
            "accept",
            actor,
            lambda c, t, now: (
                {"status": "accepted", "accepted_at": now, "step_supervise_count": 0},
                "accepted",
                mask_personal(note) or "accepted by the department",
                {},
            ),
        )

    def start(self, tid: str, actor: str, note: str = "") -> Ticket:
        return self._act(
            tid,
            "start",
            actor,
            lambda c, t, now: (
                {"status": "handling"},
                "handling",
                mask_personal(note) or "handling started",
                {},
            ),
        )

    def feedback(self, tid: str, actor: str, notes: str) -> Ticket:
        """The department reports it handled (feedback); verification (核查) starts.

        For an incident with warnings behind it, its indicators must now stay normal for the
        verification period, or it is reopened.  The period counts from the moment all its
        warnings are normal: at once when none fires at feedback; otherwise the ticket waits
        in verification until the last one clears (`_start_verification_clock`), since the
        data lags a fix on site (a window must end before it can read normal) and a crew
        should not be reopened for that lag.  The wait is bounded: still firing one period
        after the feedback, the ticket is reopened (`_judge`).  Before, the period ran from
        the feedback whatever fired, and a ticket whose warnings fired for most of it closed
        as "stayed normal" because they had cleared by its last minute.

        A ticket without any warning (a 12345 order no indicator watches) has no data to
        check: it waits the same period, is reopened if the problem is reported again
        meanwhile (a duplicate order, a merged warning), and then closes saying that it
        closed on the department's feedback without a data check.  It is not held open for a
        callback: the lifecycle has no callback step that could ever release it, and 97% of
        the tickets are such orders."""
        notes = mask_personal(notes)[:4000]
        period = self.verification_period
        with self._lock:
            now = self.clock.now()
            with self.store.begin() as conn:
                t = self._must(conn, tid)
                check_allowed("feedback", tid, t.status)
                watched = t.warning_count > 0
                covering = self._covering_incident(conn, t)
                firing = self.store.firing_of(conn, [tid])[tid] if t.firing_count > 0 else {}
                detail: dict[str, Any] = {"verify_until": self._iso(now + period),
                                          "data_check": watched}  # fmt: skip
                if t.firing_count > 0:
                    why = (
                        f"{len(firing) or t.firing_count} warning(s) still firing: the "
                        f"indicators must stay normal for {_span(period)} from when the last "
                        "one clears; reopened "
                        f"if any still fires at {local_time(now + period, now, self.tz)}"
                    )
                    detail["waiting_for"] = dict(sorted(firing.items()))
                elif watched and (unjudged := self._cleared_unjudged(conn, t)):
                    why = (f"never seen normal on data ({_unjudged_said(unjudged)}): it "
                           f"closes after {_span(period)} without a data check unless "
                           "reported again or a warning fires")  # fmt: skip
                    detail["data_check"] = False
                elif watched:
                    why = f"the indicators must stay normal for {_span(period)}"
                    detail["normal_since"] = self._iso(now)
                elif covering is not None:
                    why = (f"incident {covering.id} watches this area with its warnings and is "
                           "verified on their data: this order closes after "
                           f"{_span(period)} unless reported again")  # fmt: skip
                    detail["covered_by"] = covering.id
                else:
                    why = NOT_WATCHED_VERIFYING
                values: dict[str, Any] = {
                    "status": "verifying", "feedback_at": now, "feedback_notes": notes,
                    "verify_until": now + period, "updated_at": now,
                }  # fmt: skip
                self.store.update_ticket(conn, tid, values)
                # both entries in one statement; the ticket is not read back after the write
                self.store.add_audit_rows(conn, [
                    self.store.audit_row(ticket_id=tid, at=now, actor=actor,
                                         action="feedback", from_status=t.status,
                                         to_status="feedback", reason=notes),
                    self.store.audit_row(ticket_id=tid, at=now, actor=SYSTEM,
                                         action="verifying", from_status="feedback",
                                         to_status="verifying", reason=why,
                                         detail=detail),
                ])  # fmt: skip
                return dataclasses.replace(t, **values, version=t.version + 1)

    def reassign(
        self, tid: str, actor: str, department: str, reason: str, tier: str | None = None,
        area_code: str | None = None,
    ) -> Ticket:  # fmt: skip
        if department not in departments():
            raise TicketError(f"unknown department {department!r}")
        if tier is not None:
            tier_index(tier)

        def fn(c: Connection, t: Ticket, now: int) -> tuple[dict[str, Any], str, str,
                                                            dict[str, Any]]:  # fmt: skip
            new_tier = tier or t.tier
            area = area_code or (ancestor_at(t.incident_area, new_tier) if t.incident_area
                                 else t.area_code)  # fmt: skip
            if (department, new_tier, area) == (t.department, t.tier, t.area_code):
                # Nobody new takes it: restarting the deadlines would give the same desk its
                # full time again and move `handle_due_original`, erasing a missed deadline
                # (and sending accepted work back to "dispatched").
                raise InvalidTransitionError(
                    f"ticket {tid} is already with {department} at {new_tier} tier ({area}): "
                    "a reassignment names another department, tier or area_code; to press "
                    "the department, supervise it; to add a note, comment"
                )
            values = {
                "department": department,
                "tier": new_tier,
                "area_code": area,
                "status": "dispatched",
                "accepted_at": None,
                "accept_due": self.router.deadline(now, t.accept_s, t.working_hours_only),
                "handle_due": self.router.deadline(now, t.handle_s, t.working_hours_only),
            }
            # another department (or unit) takes it: its own full time is what it owes
            values["handle_due_original"] = values["handle_due"]
            values["step_supervise_count"] = 0  # a new accept step, for a new department
            return (
                values,
                "dispatched",
                reason,
                {
                    "from": [t.department, t.tier, t.area_code],
                    "to": [department, new_tier, area],
                    **self._deadlines(values),
                },
            )

        return self._act(tid, "reassign", actor, fn)

    def comment(self, tid: str, actor: str, text: str) -> Ticket:
        return self._act(
            tid, "comment", actor, lambda c, t, now: ({}, t.status, mask_personal(text)[:4000], {})
        )

    def supervise(self, tid: str, actor: str, reason: str) -> Ticket:
        """A supervisor's own 督办, without waiting for a deadline."""
        with self._lock:
            now = self.clock.now()
            with self.store.begin() as conn:
                t = self._must(conn, tid)
                check_allowed("supervise", tid, t.status)
                self._supervise(conn, t, now, mask_personal(reason), actor)
                return self._must(conn, tid)

    # ================================================================== queries
    def get(self, tid: str) -> Ticket | None:
        with self.store.begin() as conn:
            return self.store.get(conn, tid)

    def list_tickets(self, f: TicketFilter | None = None) -> list[Ticket]:
        with self.store.begin() as conn:
            return self.store.list_tickets(conn, f or TicketFilter())

    def next_due(self) -> int | None:
        """When `tick` will next have something to judge (None: nothing has a deadline)."""
        with self.store.begin() as conn:
            return self.store.next_due(conn)

    def audit(self, tid: str) -> list[AuditEntry]:
        with self.store.begin() as conn:
            return self.store.audit_of(conn, tid)

    def warnings(self, tid: str) -> list[dict[str, Any]]:
        with self.store.begin() as conn:
            return self.store.warnings_of(conn, tid)

    def orders(self, tid: str) -> list[dict[str, Any]]:
        with self.store.begin() as conn:
            return self.store.orders_of(conn, tid)

    def ticket_for_warning(self, warning_id: str) -> Ticket | None:
        with self.store.begin() as conn:
            return self.store.ticket_of_warning(conn, warning_id)


def headline(t: Ticket) -> tuple[str, str]:
    """The ticket's one-line reason, with the hotline corroboration when there is one."""
    zh, en = t.summary_zh, t.summary_en
    n = t.corroborations
    if t.warning_count > 0 and n > 0:
        zh += f"; {n} 条热线工单印证"
        en += f"; corroborated by {hotline_orders_en(n)}"
    return zh, en


def _unjudged_said(unjudged: dict[str, str]) -> str:
    """Why these warnings (id -> key of `UNJUDGED_WHY`) were never seen normal, naming
    them: "too few records to judge: a; no longer watched: b"."""
    by_why: dict[str, list[str]] = {}
    for wid, why in unjudged.items():
        by_why.setdefault(why, []).append(wid)
    return "; ".join(f"{UNJUDGED_WHY[why]}: {', '.join(ids)}" for why, ids in by_why.items())


def _covered_closed(incident: Ticket) -> str:
    """The close of an order's ticket whose area an incident with warnings watches: what is
    true of it, not "no indicator watches this order"."""
    state = "still fire" if incident.firing_count > 0 else "are verified there"
    return (f"closed after feedback, without a data check of its own: incident {incident.id} "
            f"covers this order and its warnings {state}")  # fmt: skip


def _ticket_level_change(before: str, after: str) -> str:
    """What a warning event did to the ticket's level, said next to the event's own sentence
    in an audit reason: the sentence gives the warning's level ("yellow ... orange"), the
    detail's from_level / to_level the ticket's, and a reason "orange warning" over a detail
    "red -> red" read as a contradiction."""
    return f"ticket level stays {after}" if before == after else f"ticket level {before} -> {after}"


def _span(seconds: int) -> str:
    """A period in an audit reason: "2 h", "90 min"."""
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def corroboration_scope(t: Ticket) -> str:
    """The area whose hotline orders corroborate an incident: its responsible unit, but never
    wider than the district of the incident's own area.  A red incident is handled by the
    city (its unit moves up with its tier), yet a water outage in Jing'an is not corroborated
    by every no-water call of the city: those are their own districts' incidents.  An
    incident whose own area is a district or the city keeps it."""
    area = t.incident_area or t.incident_unit
    unit = t.incident_unit or area
    if not area:
        return unit
    district = ancestor_at(area, "district")
    return unit if covers(district, unit) else district


def hotline_orders_en(n: int) -> str:
    """The English count: '1 hotline order', '12 hotline orders'."""
    return f"{n} hotline order" if n == 1 else f"{n} hotline orders"


__all__ = [
    "LEVELS",
    "InvalidTransitionError",
    "Outcome",
    "TicketNotFoundError",
    "TicketService",
    "headline",
]
