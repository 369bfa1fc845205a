"""The Alertmanager webhook (payload version 4), so that Prometheus alerts create tickets too.

An alert becomes a warning event whose id is built from the alert's fingerprint and start time:
Alertmanager repeats a firing notification every `repeat_interval`, and those repeats carry the
same fingerprint and `startsAt`, so they map to the same event key and apply once.  A resolved
notification resolves that warning: the ticket is annotated, or closed when nobody had accepted
it yet (see TicketService.close_resolved_alerts).  The audit entries a notification writes name
the token that posted it, not `system`.

Labels understood: `indicator` (or `indicator_id`) names a catalog indicator, whose routing then
applies; `area` (or `area_code`); `level` (blue..red) or `severity` (info, warning, major,
critical); `department` and `category` for alerts that are not indicators."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indicators.language.model import Dispatch, Indicator
from indicators.language.registry import departments

from .areas import AreaNames, NoAreaNames, area_label
from .events import EventKind, WarningEvent
from .explain import DEFAULT_TZ, sentence
from .hotline import mask_personal
from .levels import LEVELS

SEVERITY_LEVEL = {
    "info": "blue", "minor": "blue", "low": "blue",
    "warning": "yellow", "medium": "yellow",
    "major": "orange", "error": "orange", "high": "orange",
    "critical": "red", "page": "red",
}  # fmt: skip
CITY = "310000"
DEFAULT_DEPARTMENT = "operations_centre"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertmanagerAlert(_Strict):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = Field(min_length=1, max_length=64)


class AlertmanagerPayload(_Strict):
    version: Literal["4"]
    groupKey: str  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


def _level(labels: Mapping[str, str]) -> str:
    lv = labels.get("level", "").lower()
    if lv in LEVELS:
        return lv
    return SEVERITY_LEVEL.get(labels.get("severity", "").lower(), "yellow")


def _float(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    return None if v is None or math.isnan(v) else v


def to_events(
    payload: AlertmanagerPayload,
    catalog: Mapping[str, Indicator],
    names: AreaNames | None = None,
    tz: str = DEFAULT_TZ,
) -> list[tuple[WarningEvent, Dispatch | None]]:
    """Warning events (with a dispatch for alerts that are not catalog indicators)."""
    names = names or NoAreaNames()
    out: list[tuple[WarningEvent, Dispatch | None]] = []
    for a in payload.alerts:
        labels = a.labels
        name = labels.get("alertname", "alert")
        ind_id = labels.get("indicator") or labels.get("indicator_id") or f"alert.{name}"
        ind = catalog.get(ind_id)
        area = labels.get("area") or labels.get("area_code") or CITY
        level = _level(labels)
        started = int(a.startsAt.timestamp())
        kind: EventKind = "firing" if a.status == "firing" else "resolved"
        at = started if kind == "firing" else int((a.endsAt or a.startsAt).timestamp())
        value = _float(a.annotations.get("value"))
        title_zh = ind.title.zh if ind else labels.get("title_zh", name)
        title_en = ind.title.en if ind else name
        unit = ind.unit if ind else ""
        summary = mask_personal(a.annotations.get("summary") or a.annotations.get("description")
                                or "")  # fmt: skip
        area_zh, area_en = area_label(area, names)
        zh, en = sentence(
            area_zh=area_zh, area_en=area_en, title_zh=title_zh, title_en=title_en, unit=unit,
            value=value, lower=None, upper=None, kind=kind, level=level, since=started, at=at,
            tz=tz,
        )  # fmt: skip
        if summary:
            en = f"{en} ({summary})"
        dispatch: Dispatch | None = None
        if ind is None:
            dept = labels.get("department", DEFAULT_DEPARTMENT)
            dispatch = Dispatch(department=dept if dept in departments() else DEFAULT_DEPARTMENT)
        ev = WarningEvent(
            warning_id=f"am:{a.fingerprint}@{started}",
            kind=kind, indicator_id=ind_id, area_code=area, area_level="",
            level=level, previous_level=None, at=at, since=started,
            window_start=started, window_end=at, value=value, score=None, lower=None,
            upper=None,
            category=ind.category if ind else labels.get("category", "alert"),
            title_zh=title_zh, title_en=title_en, unit=unit, text_zh=zh, text_en=en,
            detectors=("prometheus",),
            source_categories=tuple(ind.source.categories or ()) if ind else (),
            aggregate=ind.value.aggregate if ind else "",
        )  # fmt: skip
        out.append((ev, dispatch))
    return out
