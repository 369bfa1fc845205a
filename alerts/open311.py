"""An Open311 GeoReport v2 read view of the tickets, so that existing civic tools can list and
show them: GET services, GET requests, GET requests/{id}.  Field names are GeoReport's.
Which requests a caller gets is decided in `alerts.api` by the native list's rules: its scope,
and for a department's token its own department by default (`department=*` for all)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from indicators.language.registry import departments, hotline_categories

from .areas import AreaNames, area_label
from .service import headline
from .tickets import STATUS_ZH, Ticket, iso


@dataclass(frozen=True)
class IncidentSource:
    """One dispatching indicator of an incident family, as the services list describes it:
    its titles, and whether it counts a citizen channel (12345 calls, photo reports,
    checkpoints) rather than reading a sensor."""

    title_zh: str
    title_en: str
    citizen: bool


# Human names of the incident families (alerts/routing.yaml's `families`, and the catalog's
# categories that are their own family).  A family missing here is named by its indicators'
# titles: a raw code such as "sensor_health" means nothing to a civic tool's user.
FAMILY_NAMES: Final[dict[str, tuple[str, str]]] = {
    "air": ("空气质量", "air quality"),
    "sensor_health": ("监测设备故障", "monitoring station faults"),
    "water": ("供水与水质", "water supply and quality"),
    "noise": ("噪声", "noise"),
    "road": ("道路破损", "road damage"),
    "construction": ("违法建设", "illegal construction"),
    "flood": ("道路积水", "street flooding"),
    "hotline": ("12345热线来电激增", "12345 hotline call surge"),
    "checkpoint": ("场所核验异常", "checkpoint verification anomalies"),
    "manhole": ("井盖异常", "manhole covers"),
    "power": ("供电", "power supply"),
    "gas": ("燃气", "gas"),
    "traffic": ("道路交通", "road traffic"),
    "elevator": ("电梯安全", "elevator safety"),
    "sanitation": ("环境卫生", "sanitation"),
    "street_lights": ("路灯", "street lights"),
    "snow_ice": ("道路冰雪", "snow and ice"),
}

# GeoReport `group`s.  An incident family is grouped by what opens its tickets: sensors,
# citizen channels, or both (a water incident opens on a pressure drop or on calls).
GROUP_HOTLINE = "12345"
GROUP_SENSORS = "sensors"
GROUP_CITIZENS = "citizen reports"
GROUP_BOTH = "sensors and citizen reports"


def family_names(family: str, sources: Sequence[IncidentSource]) -> tuple[str, str]:
    """(Chinese, English) name of an incident family: the table's, else its indicators'
    titles, else (no indicator at all) the code itself."""
    if family in FAMILY_NAMES:
        return FAMILY_NAMES[family]
    if sources:
        return "；".join(s.title_zh for s in sources), "; ".join(s.title_en for s in sources)
    return family, family


def family_group(sources: Sequence[IncidentSource]) -> str:
    citizen = {s.citizen for s in sources}
    if citizen == {True}:
        return GROUP_CITIZENS
    return GROUP_BOTH if citizen == {True, False} else GROUP_SENSORS


def service_code(t: Ticket) -> str:
    """A ticket's GeoReport service_code: an incident's family (a ticket a warning opened, or
    a hotline order that warnings then joined: a red water incident is `water`, where its
    first call's `water_outage` hid it from `?service_code=water`), else a plain hotline
    order's category.  The native JSON and the Open311 view both show this, and the store
    filters on the same (`alerts.store.open311_code`), so a client can filter Open311
    requests by the code it read from `GET /tickets`."""
    if t.warning_count > 0 or not t.service_code:
        return t.family
    return t.service_code


def service_names(t: Ticket) -> tuple[str, str]:
    """(Chinese, English) name of a ticket's service, as `services` lists its code: the
    hotline category's, else the incident family's (a family no table names: the ticket's
    own title)."""
    code = service_code(t)
    if code == t.service_code:
        names = hotline_categories().get(code)
        if names:
            return names["zh"], names["en"]
    if code in FAMILY_NAMES:
        return FAMILY_NAMES[code]
    return t.title_zh, t.title_en


def bilingual(zh: str, en: str) -> str:
    """The view's one way of giving a text in both languages, as `status_notes` and
    `description` do: "中文 / English" (one half alone where the two are the same)."""
    return zh if zh == en else f"{zh} / {en}"


def services(
    incidents: Mapping[str, Sequence[IncidentSource]] | None = None,
) -> list[dict[str, Any]]:
    """Hotline categories as GeoReport services, then the incident families (`incidents`:
    family -> the indicators that dispatch in it), which are the service_code of a ticket a
    warning opened: every code a request can show is listed, each with a name in Chinese and
    English and a group that says whether sensors or citizens raise it."""
    out = [
        {
            "service_code": code,
            "service_name": bilingual(names["zh"], names["en"]),
            "description": f"{names['zh']} / {names['en']}",
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": GROUP_HOTLINE,
        }
        for code, names in hotline_categories().items()
    ]
    listed = {s["service_code"] for s in out}
    for family, sources in sorted((incidents or {}).items()):
        if family in listed:  # a hotline code already: its tickets share the service
            continue
        zh, en = family_names(family, sources)
        zh_from = "、".join(s.title_zh for s in sources)
        en_from = "; ".join(s.title_en for s in sources)
        out.append({
            "service_code": family,
            "service_name": bilingual(zh, en),
            "description": f"{zh}（预警事件：{zh_from}） / {en} (incidents from: {en_from})",
            "metadata": False,
            "type": "realtime",
            "keywords": family,
            "group": family_group(sources),
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
    """A ticket as a GeoReport request.  Its texts for people (`service_name`,
    `description`, `agency_responsible`, `status_notes`) are each in Chinese and English,
    "中文 / English", as `services` names the services: a civic tool shows one string per
    field, and a reader of either language gets all of them."""
    dept = departments().get(t.department, {})
    zh, en = headline(t)
    notes = status_notes(t)
    return {
        "service_request_id": t.id,
        "status": "closed" if t.status == "closed" else "open",
        "status_notes": notes,
        "service_name": bilingual(*service_names(t)),
        "service_code": service_code(t),
        "description": f"{zh} / {en}",
        "agency_responsible": bilingual(dept.get("zh", t.department), dept.get("en", t.department)),
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
