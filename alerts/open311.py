"""An Open311 GeoReport v2 read view of the tickets, so that existing civic tools can list and
show them: GET services, GET requests, GET requests/{id}.  Field names are GeoReport's.
Which requests a caller gets is decided in `alerts.api` by the native list's rules: its scope,
and for a department's token its own department by default (`department=*` for all)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from indicators.language.registry import departments, hotline_categories

from .areas import AreaNames, area_label
from .service import headline
from .tickets import STATUS_ZH, Ticket, iso


def services(incidents: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Hotline categories as GeoReport services, then the sensor incidents' families
    (`incidents`: family -> titles of the indicators that dispatch in it), which are the
    service_code of a ticket a warning opened: every code a request can show is listed."""
    out = [
        {
            "service_code": code,
            "service_name": names["en"],
            "description": f"{names['zh']} / {names['en']}",
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": "12345",
        }
        for code, names in hotline_categories().items()
    ]
    listed = {s["service_code"] for s in out}
    for family, titles in sorted((incidents or {}).items()):
        if family in listed:  # a hotline code already: its tickets share the service
            continue
        out.append({
            "service_code": family,
            "service_name": f"{family} (sensor incidents)",
            "description": f"监测预警事件 / sensor incidents: {'; '.join(titles)}",
            "metadata": False,
            "type": "realtime",
            "keywords": family,
            "group": "sensors",
        })  # fmt: skip
    return out


def status_notes(t: Ticket) -> str:
    """GeoReport's `status_notes`: the status and its flags in Chinese, then the same in
    English ("已办结（督办，重办 1 次） / closed (supervised, reopened 1x)").  Each half is
    built from the same list of facts, so a reader of either language learns the same: a
    flag added to one half only once left the Chinese side silent about reopenings."""
    zh, en = [], []
    if t.supervised:
        zh.append("督办")
        en.append("supervised")
    if t.reopen_count:
        zh.append(f"重办 {t.reopen_count} 次")
        en.append(f"reopened {t.reopen_count}x")
    zh_notes = STATUS_ZH[t.status] + (f"（{'，'.join(zh)}）" if zh else "")
    en_notes = t.status + (f" ({', '.join(en)})" if en else "")
    return f"{zh_notes} / {en_notes}"


def request_view(t: Ticket, names: AreaNames, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    dept = departments().get(t.department, {})
    zh, en = headline(t)
    notes = status_notes(t)
    return {
        "service_request_id": t.id,
        "status": "closed" if t.status == "closed" else "open",
        "status_notes": notes,
        "service_name": t.title_en,
        "service_code": t.service_code or t.family,
        "description": f"{zh} / {en}",
        "agency_responsible": dept.get("zh", t.department),
        "service_notice": "",
        "requested_datetime": iso(t.opened_at, tz),
        "updated_datetime": iso(t.updated_at, tz),
        "expected_datetime": iso(t.handle_due, tz),
        "address": " / ".join(area_label(t.incident_area or t.area_code, names)),
        "address_id": t.incident_area,
        "zipcode": "",
        "lat": t.lat,
        "long": t.long,
        "media_url": "",
    }
