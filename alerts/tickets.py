"""Tickets and their lifecycle rules, apart from any storage.

dispatched -> accepted -> handling -> feedback (the department reports it handled) ->
verifying -> closed, or reopened (back to the department, flagged) when the data says it is not
fixed.  Verification lasts a period from when all the ticket's warnings are normal (a ticket
whose warnings still fire at feedback waits in `verifying` for them to clear); anything firing
or a call about the same problem meanwhile reopens it (`alerts/service.py`).

Supervision (督办) is not a status but a flag with a count: a missed deadline at any step
flags the ticket, moves it one tier up and restarts the step it is in (never later than its
deadline when that has not passed yet); every third reopening (a fix that keeps failing
verification) is supervised the same way.  A supervisor's own 督办 applies where a step is
owed, as the timer's does: not once the department has reported it handled."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from .levels import LEVELS, higher_level

STATUSES: Final[tuple[str, ...]] = (
    "dispatched", "accepted", "handling", "feedback", "verifying", "closed", "reopened",
)  # fmt: skip
OPEN_STATUSES: Final[frozenset[str]] = frozenset(STATUSES) - {"closed"}
AWAITING_ACCEPT: Final[frozenset[str]] = frozenset({"dispatched", "reopened"})
IN_HAND: Final[frozenset[str]] = frozenset({"accepted", "handling"})

# action -> statuses it is allowed from (the status it leads to is decided by the service)
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "accept": AWAITING_ACCEPT,
    "start": frozenset({"accepted"}),
    "feedback": IN_HAND,
    "reassign": frozenset({"dispatched", "accepted", "handling", "reopened"}),
    # 督办 presses a department over a step it owes (acceptance, handling): in verification
    # the department owes nothing, and a 督办 there only moved the ticket up a tier for nothing
    "supervise": AWAITING_ACCEPT | IN_HAND,
    "comment": frozenset(STATUSES),
}
# times an audit entry's detail may hold (ISO 8601 strings; epoch seconds in older entries)
DETAIL_TIMES: Final[frozenset[str]] = frozenset(
    {"accept_due", "handle_due", "missed", "due", "verify_until"}
)
STATUS_ZH: Final[dict[str, str]] = {
    "dispatched": "已派单", "accepted": "已签收", "handling": "处置中", "feedback": "已反馈",
    "verifying": "核查中", "closed": "已办结", "reopened": "已退回重办",
}  # fmt: skip


class TicketError(Exception):
    """A request the lifecycle refuses; the message says what would be allowed."""


class TicketNotFoundError(TicketError):
    pass


class InvalidTransitionError(TicketError):
    pass


def check_allowed(action: str, ticket_id: str, status: str) -> None:
    allowed = ALLOWED[action]
    if status not in allowed:
        raise InvalidTransitionError(
            f"ticket {ticket_id} is {status}; {action} is possible when it is "
            f"{' or '.join(sorted(allowed))}"
        )


def peak_level_of(level: str, evidence: Mapping[str, Any]) -> str:
    """The highest level a ticket reached, from its level and its `evidence.peak_level` (all
    a ticket stored before the `peak_level` column had)."""
    found = evidence.get("peak_level")
    return str(higher_level(found if found in LEVELS else None, level))


def iso(ts: int | None, tz: str = "Asia/Shanghai") -> str | None:
    return None if ts is None else datetime.fromtimestamp(int(ts), ZoneInfo(tz)).isoformat()


def times_as_iso(
    row: Mapping[str, Any], keys: Collection[str], tz: str = "Asia/Shanghai"
) -> dict[str, Any]:
    """A copy of `row` with the epoch-second times under `keys` in ISO 8601, as the API
    gives every time (values that are not whole numbers are left as they are)."""
    return {
        k: iso(v, tz) if k in keys and isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in row.items()
    }


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    origin: str
    family: str
    category: str
    incident_key: str
    incident_area: str
    incident_unit: str
    unit_district: str | None
    unit_street: str | None
    unit_grid: str | None
    area_code: str
    tier: str
    department: str
    # the worst warning level still firing (for a closed ticket, the level it cleared at)
    level: str
    # the highest level the ticket ever reached: what a dispatcher means by "a red incident"
    peak_level: str
    status: str
    supervised: bool
    supervise_count: int
    # supervisions of the step it is in (0 when that step started): spaces out the next one
    step_supervise_count: int
    reopen_count: int
    warning_count: int
    firing_count: int
    order_count: int
    surge_count: int
    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str
    evidence: dict[str, Any]
    service_code: str | None
    description: str | None
    lat: float | None
    long: float | None
    accept_s: int
    handle_s: int
    working_hours_only: bool
    opened_at: int
    updated_at: int
    last_signal_at: int
    accept_due: int
    handle_due: int
    # the handling deadline as given at dispatch or reassignment (tightened by a higher
    # level), never moved by supervision: what deadline compliance is judged against
    handle_due_original: int | None
    accepted_at: int | None
    feedback_at: int | None
    feedback_notes: str | None
    verify_until: int | None
    closed_at: int | None
    version: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Ticket:
        data = dict(row)
        data["evidence"] = json.loads(data["evidence"] or "{}")
        if not data.get("peak_level"):  # a row a store not yet migrated to v5 gave
            data["peak_level"] = peak_level_of(data["level"], data["evidence"])
        data["supervised"] = bool(data["supervised"])
        data["working_hours_only"] = bool(data["working_hours_only"])
        return cls(**data)

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    @property
    def corroborations(self) -> int:
        """Hotline orders behind an incident: attached orders, or the surge count when a
        hotline-count warning says more."""
        return max(self.order_count, self.surge_count)

    @property
    def step(self) -> str | None:
        """The step with a deadline the ticket is in: "accept" while it waits for the
        department to take it, "handling" once taken, None after feedback."""
        if self.status in AWAITING_ACCEPT:
            return "accept"
        if self.status in IN_HAND:
            return "handling"
        return None

    def current_due(self) -> int | None:
        """The deadline of the step the ticket is in (None when nothing is due)."""
        if self.status in AWAITING_ACCEPT:
            return self.accept_due
        if self.status in IN_HAND:
            return self.handle_due
        return None

    def to_dict(self, tz: str = "Asia/Shanghai") -> dict[str, Any]:
        d = asdict(self)
        for k in (
            "opened_at", "updated_at", "last_signal_at", "accept_due", "handle_due",
            "handle_due_original", "accepted_at", "feedback_at", "verify_until", "closed_at",
        ):  # fmt: skip
            d[k] = iso(d[k], tz)
        d["status_zh"] = STATUS_ZH[self.status]
        return d


@dataclass(frozen=True)
class AuditEntry:
    id: int
    ticket_id: str
    at: int
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AuditEntry:
        data = dict(row)
        data["detail"] = json.loads(data["detail"] or "{}")
        return cls(**data)

    def to_dict(self, tz: str = "Asia/Shanghai") -> dict[str, Any]:
        """The entry with its times in ISO 8601: entries written before the detail's times
        were stored that way still hold epoch seconds there, converted here."""
        d = asdict(self)
        d["at"] = iso(self.at, tz)
        d["detail"] = times_as_iso(self.detail, DETAIL_TIMES, tz)
        return d
