"""Warning events: what the state machine emits when a series starts firing, changes level or
resolves.  Each carries its whole explanation, so a ticket, an alert or a log line can show why
without looking anything up again.

`event_key` identifies one event of one warning; the ticket store records the keys it applied,
so a replayed batch or a restarted flow applies nothing twice."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

EventKind = Literal["firing", "escalated", "deescalated", "resolved"]


def _clean(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass(frozen=True)
class WarningEvent:
    warning_id: str
    kind: EventKind
    indicator_id: str
    area_code: str
    area_level: str
    level: str
    previous_level: str | None
    at: int
    since: int
    window_start: int
    window_end: int
    value: float | None
    score: float | None
    lower: float | None
    upper: float | None
    category: str
    title_zh: str
    title_en: str
    unit: str
    text_zh: str
    text_en: str
    on: str = "score"
    direction: str = "above"
    detectors: tuple[str, ...] = ()
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    source_categories: tuple[str, ...] = ()
    aggregate: str = ""
    # the worst window while the warning fired (its value and window end), on "resolved"
    peak: float | None = None
    peak_at: int | None = None
    # False: the event's window had too few records to judge (the indicator's `min_count`
    # leaves it unjudged and counts it as calm), so a warning "resolved" on it was not seen
    # normal by any data, and a ticket must not close on it as a data check
    judged: bool = True
    # True: the flow stopped watching the area (a sensor removed from the registry, an
    # indicator whose windows changed) and ended its warning without a window: unjudged too
    withdrawn: bool = False

    @property
    def event_key(self) -> str:
        return f"{self.warning_id}:{self.kind}:{self.at}"

    @property
    def text(self) -> str:
        return f"{self.text_zh} / {self.text_en}"

    def explanation(self) -> dict[str, Any]:
        """The evidence a ticket keeps: window, value, band, score, detectors, thresholds, and
        the title and text the ticket shows while this warning is its worst."""
        return {
            "indicator_id": self.indicator_id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "area_code": self.area_code,
            "window": [self.window_start, self.window_end],
            "value": self.value,
            "unit": self.unit,
            "expected": [self.lower, self.upper],
            "score": self.score,
            "detectors": list(self.detectors),
            "on": self.on,
            "direction": self.direction,
            "thresholds": self.thresholds,
            "level": self.level,
            "since": self.since,
            "peak": self.peak,
            "peak_at": self.peak_at,
            "judged": self.judged,
            "withdrawn": self.withdrawn,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (shallow: dataclasses.asdict's deep copy costs more than the
        whole database write of the event)."""
        d = {f: getattr(self, f) for f in _FIELDS}
        d["detectors"] = list(self.detectors)
        d["source_categories"] = list(self.source_categories)
        d["thresholds"] = {k: dict(v) for k, v in self.thresholds.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarningEvent:
        """The event of `to_dict`'s fields; fields a later version added are left out, so that
        an older reader (a dispatcher rolled back, draining an outbox) still reads its events."""
        data = {k: v for k, v in d.items() if k in _FIELD_SET}
        data["detectors"] = tuple(data.get("detectors", ()))
        data["source_categories"] = tuple(data.get("source_categories", ()))
        for k in ("value", "score", "lower", "upper", "peak"):
            v = data.get(k)
            data[k] = None if v is None else _clean(float(v))
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(WarningEvent))
_FIELD_SET = frozenset(_FIELDS)
