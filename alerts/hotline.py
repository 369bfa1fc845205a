"""Hotline orders on the ticket side, and the index that finds the open order a new one
duplicates (same service, nearby, close in time).

The index keeps only root orders (the ones that became tickets) that are still open, hashed into
grid cells as wide as the service's radius, so a lookup reads nine cells, whatever the size of
the city.  Orders without coordinates are never linked: a community code alone is too coarse to
say "the same broken pipe"."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.privacy import mask_text

M_PER_DEG_LAT = 111_320.0


def mask_personal(text: str) -> str:
    """A second line of defence: decoding masks personal data before anything else sees it,
    but descriptions, notes and reasons are free text, so they are masked again here before a
    ticket stores or shows them.  It is the decoder's own masking (flows.privacy.mask_text),
    placeholders and all (`<phone>`, `<id-number>`, `<card-number>`, `<email>`, `<name>`):
    a partial form such as 138****5678 keeps seven of eleven digits, enough with a name or a
    street to find the person.  A name in free text is masked where the text marks it as one
    (a cue such as 联系人 or "my name is": see flows/privacy.py)."""
    return mask_text(text)


@dataclass(frozen=True)
class HotlineOrder:
    """One 12345 work order as decoding hands it over (already masked)."""

    service_request_id: str
    service_code: str
    ts: int
    lat: float | None = None
    long: float | None = None
    area_code: str | None = None
    description: str = ""
    channel: str = ""

    @property
    def located(self) -> bool:
        return (
            self.lat is not None
            and self.long is not None
            and math.isfinite(self.lat)
            and math.isfinite(self.long)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_request_id": self.service_request_id,
            "service_code": self.service_code,
            "ts": self.ts,
            "lat": self.lat,
            "long": self.long,
            "area_code": self.area_code,
            "description": self.description,
            "channel": self.channel,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HotlineOrder:
        """From the decoded form or the Open311-shaped wire record (`category` is a synonym of
        `service_code`; `requested_datetime` ISO 8601 instead of `ts`).  Personal fields on
        the wire (phone, name) are not read at all."""
        order_id = d.get("service_request_id")
        if order_id is None or order_id == "" or isinstance(order_id, bool | dict | list):
            raise ValueError("a hotline order needs service_request_id (text or a number)")
        code = d.get("service_code") or d.get("category")
        if not code:
            raise ValueError("a hotline order needs service_code (or category)")
        if "ts" in d and d["ts"] is not None:
            ts = int(d["ts"])
        elif d.get("requested_datetime"):
            when = datetime.fromisoformat(str(d["requested_datetime"]))
            if when.tzinfo is None:
                raise ValueError(
                    f"requested_datetime {d['requested_datetime']!r} has no zone; "
                    "write it as ISO 8601 with an offset, e.g. 2026-03-01T14:05:00+08:00"
                )
            ts = int(when.timestamp())
        else:
            raise ValueError("a hotline order needs ts or requested_datetime")

        def num(v: Any) -> float | None:
            return None if v is None or v == "" else float(v)

        return cls(
            service_request_id=str(order_id),
            service_code=str(code),
            ts=ts,
            lat=num(d.get("lat")),
            long=num(d.get("long")),
            area_code=(str(d["area_code"]) if d.get("area_code") else None),
            description=mask_personal(str(d.get("description") or "")),
            channel=str(d.get("channel") or ""),
        )


@dataclass(frozen=True)
class DuplicateRule:
    radius_m: float
    window: int


@dataclass
class _Entry:
    order_id: str
    ts: int
    lat: float
    lon: float


RuleFor = Callable[[str], DuplicateRule | None]


class DuplicateIndex:
    """Open root orders by service and grid cell.

    `rule_for(service_code)` gives the radius and time window of a service, or None for services
    whose orders are each their own request (a recycling-cart request, a housing inspection)."""

    def __init__(self, rule_for: RuleFor, ref_lat: float | None = None) -> None:
        self._rule_for = rule_for
        self._ref_lat = ref_lat
        self._cells: dict[tuple[str, int, int], list[_Entry]] = {}
        self._where: dict[str, tuple[str, int, int]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def _xy(self, lat: float, lon: float) -> tuple[float, float]:
        if self._ref_lat is None:
            self._ref_lat = lat
        m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(self._ref_lat))
        return lon * m_per_deg_lon, lat * M_PER_DEG_LAT

    def _cell(self, code: str, x: float, y: float, radius: float) -> tuple[str, int, int]:
        return code, math.floor(x / radius), math.floor(y / radius)

    def find(self, order: HotlineOrder) -> str | None:
        """The open root order that `order` duplicates (nearest, then latest), or None."""
        rule = self._rule_for(order.service_code)
        if rule is None or not order.located:
            return None
        assert order.lat is not None and order.long is not None
        x, y = self._xy(order.lat, order.long)
        code, cx, cy = self._cell(order.service_code, x, y, rule.radius_m)
        best: tuple[float, int, str] | None = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for e in self._cells.get((code, cx + dx, cy + dy), ()):
                    if not 0 <= order.ts - e.ts <= rule.window:
                        continue
                    ex, ey = self._xy(e.lat, e.lon)
                    d = math.hypot(ex - x, ey - y)
                    if d <= rule.radius_m and (best is None or (d, -e.ts) < (best[0], -best[1])):
                        best = (d, e.ts, e.order_id)
        return None if best is None else best[2]

    def add(self, order: HotlineOrder) -> bool:
        """Register an open root order; False when it cannot be matched (no location, or a
        service without duplicates)."""
        rule = self._rule_for(order.service_code)
        if rule is None or not order.located or order.service_request_id in self._where:
            return False
        assert order.lat is not None and order.long is not None
        x, y = self._xy(order.lat, order.long)
        cell = self._cell(order.service_code, x, y, rule.radius_m)
        self._cells.setdefault(cell, []).append(
            _Entry(order.service_request_id, order.ts, order.lat, order.long)
        )
        self._where[order.service_request_id] = cell
        return True

    def remove(self, order_id: str) -> None:
        """The order's ticket closed: it can no longer absorb duplicates."""
        cell = self._where.pop(order_id, None)
        if cell is None:
            return
        entries = self._cells.get(cell, [])
        entries[:] = [e for e in entries if e.order_id != order_id]
        if not entries:
            self._cells.pop(cell, None)

    def expire(self, now: int) -> int:
        """Drop roots older than their service's window (they can match nothing any more);
        keeps the index small on a long run.  Returns how many were dropped."""
        dropped = 0
        for cell in list(self._cells):
            rule = self._rule_for(cell[0])
            horizon = now - (rule.window if rule else 0)
            keep = [e for e in self._cells[cell] if e.ts >= horizon]
            for e in self._cells[cell]:
                if e.ts < horizon:
                    self._where.pop(e.order_id, None)
                    dropped += 1
            if keep:
                self._cells[cell] = keep
            else:
                del self._cells[cell]
        return dropped
