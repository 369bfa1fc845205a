"""The short sentence a warning carries, in Chinese and English, for the wall, the ticket and the
alert: "静安区 南京西路街道: 供水压力 0.12 MPa, 预期 0.28-0.35, 红色预警 自 14:05" /
"Jing'an, Nanjing West Road: water pressure 0.12 MPa, expected 0.28-0.35, red since 14:05"."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from .levels import LEVEL_NAMES_ZH

DEFAULT_TZ = "Asia/Shanghai"


def format_number(v: float | None) -> str:
    """Readable magnitudes: 0.12, 41, 251, 1.5e+04 never appears for ordinary values."""
    if v is None or math.isnan(v):
        return "—"
    a = abs(v)
    if a >= 100:
        text = f"{v:.0f}"
    elif a >= 10:
        text = f"{v:.1f}"
    elif a >= 0.01 or a == 0:
        text = f"{v:.2f}"
    else:
        text = f"{v:.3g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text


RATIO_UNIT = "1"  # UCUM's dimensionless unit: shares and rates, shown as percentages


# How the catalog's units read in a Chinese sentence: counts take a measure word written
# against the number ("41件", "3辆"), symbols their usual typography.  Units not listed are
# shown as the catalog spells them (MPa, mg/L, dB(A) read the same in both languages).
UNITS_ZH: dict[str, str] = {
    "orders": "件",
    "reports": "件",
    "orders/min": "件/分钟",
    "veh": "辆",
    "events": "次",
    "faults": "次",
    "covers": "个",
    "categories": "类",
    "windows": "个窗口",
    "deg": "°",
    "ug/m3": " μg/m³",
    "m3/h": " m³/h",
}


# The catalog's count units are plural nouns; one of them reads in the singular in English.
UNITS_EN_ONE: dict[str, str] = {
    "orders": "order",
    "reports": "report",
    "events": "event",
    "faults": "fault",
    "covers": "cover",
    "categories": "category",
    "windows": "window",
}


def format_value(v: float | None, unit: str, lang: str = "en") -> str:
    """A value with its unit as people read it: "0.12 MPa", "41 orders", "1 order", "12%" for
    a share; with `lang="zh"`, "41件" and "35 μg/m³" (see UNITS_ZH)."""
    if v is None or math.isnan(v):
        return "—"
    if unit == RATIO_UNIT:
        return f"{format_number(100.0 * v)}%"
    if lang == "zh" and unit in UNITS_ZH:
        return f"{format_number(v)}{UNITS_ZH[unit]}"
    text = format_number(v)
    if lang == "en" and text == "1":
        unit = UNITS_EN_ONE.get(unit, unit)
    return f"{text} {unit}" if unit else text


def _band(lower: float | None, upper: float | None, unit: str = "") -> tuple[str, str] | None:
    lo = None if lower is None or math.isnan(lower) else lower
    hi = None if upper is None or math.isnan(upper) else upper

    def show(v: float) -> str:
        return format_value(v, RATIO_UNIT) if unit == RATIO_UNIT else format_number(v)

    if lo is not None and hi is not None:
        if show(lo) == show(hi):  # a band of one value ("3-3") says nothing
            return None
        if lo < 0:  # "-0.12-0.24" reads as a subtraction
            return f"预期 {show(lo)} 至 {show(hi)}", f"expected {show(lo)} to {show(hi)}"
        band = f"{show(lo)}-{show(hi)}"
        return f"预期 {band}", f"expected {band}"
    # A one-sided band is written strictly: a level is raised at its threshold (>=), and a
    # threshold detector's limit is usually that threshold, so "10 orders, expected ≤ 10,
    # blue" contradicted itself where "expected < 10" says why the warning stands.
    if hi is not None:
        return f"预期 < {show(hi)}", f"expected < {show(hi)}"
    if lo is not None:
        return f"预期 > {show(lo)}", f"expected > {show(lo)}"
    return None


def local_time(ts: int, ref: int, tz: str = DEFAULT_TZ) -> str:
    """HH:MM in the city's zone, with the date when it is not the day of `ref`."""
    zone = ZoneInfo(tz)
    t = datetime.fromtimestamp(ts, zone)
    if t.date() == datetime.fromtimestamp(ref, zone).date():
        return t.strftime("%H:%M")
    return t.strftime("%m-%d %H:%M")


def lower_first(title: str) -> str:
    """ "Water supply pressure" reads "water supply pressure" mid-sentence; "PM2.5" stays."""
    if len(title) >= 2 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def sentence(
    *,
    area_zh: str,
    area_en: str,
    title_zh: str,
    title_en: str,
    unit: str,
    value: float | None,
    lower: float | None,
    upper: float | None,
    kind: str,
    level: str,
    since: int,
    at: int,
    tz: str = DEFAULT_TZ,
    peak: float = math.nan,
    peak_at: int = -1,
) -> tuple[str, str]:
    """(zh, en) for one warning event.  A resolution also gives the worst window while the
    warning fired (`peak` at the end of window `peak_at`): the value it resolves on is by then
    normal ("0 orders ... cleared"), and the ticket it closes should still say what happened."""
    known = value is not None and not math.isnan(value)  # (no value: nothing shown, not "—")
    shown_zh = f" {format_value(value, unit, 'zh')}" if known else ""
    shown_en = f" {format_value(value, unit)}" if known else ""
    zh = [f"{area_zh}: {title_zh}{shown_zh}"]
    en = [f"{area_en}: {lower_first(title_en)}{shown_en}"]
    band = _band(lower, upper, unit)
    if band is not None:
        zh.append(band[0])
        en.append(band[1])
    when = local_time(since, at, tz)
    if kind == "resolved":
        zh.append(f"{LEVEL_NAMES_ZH[level]}已解除 ({local_time(at, at, tz)})")
        en.append(f"{level} warning cleared at {local_time(at, at, tz)}")
        if (said := _peak(peak, peak_at, unit, at, tz)) is not None:
            zh.append(said[0])
            en.append(said[1])
    elif kind == "deescalated":
        zh.append(f"降为{LEVEL_NAMES_ZH[level]} 自 {when}")
        en.append(f"down to {level} since {when}")
    else:
        zh.append(f"{LEVEL_NAMES_ZH[level]} 自 {when}")
        en.append(f"{level} since {when}")
    return ", ".join(zh), ", ".join(en)


def withdrawal_sentence(
    *,
    area_zh: str,
    area_en: str,
    title_zh: str,
    title_en: str,
    level: str,
    at: int,
    why_zh: str,
    why_en: str,
    tz: str = DEFAULT_TZ,
    unit: str = "",
    peak: float = math.nan,
    peak_at: int = -1,
) -> tuple[str, str]:
    """(zh, en) for a warning ended because its area is no longer watched, not because the
    value came back: "静安区: PM2.5 橙色预警撤销 (14:05): ..." / "Jing'an: pm2.5 orange warning
    withdrawn at 14:05: ...", then its worst window while it fired, as a resolution gives it."""
    when = local_time(at, at, tz)
    zh = f"{area_zh}: {title_zh} {LEVEL_NAMES_ZH[level]}撤销 ({when}): {why_zh}"
    en = f"{area_en}: {lower_first(title_en)} {level} warning withdrawn at {when}: {why_en}"
    if (said := _peak(peak, peak_at, unit, at, tz)) is not None:
        zh, en = f"{zh}; {said[0]}", f"{en}; {said[1]}"
    return zh, en


def _peak(peak: float, peak_at: int, unit: str, at: int, tz: str) -> tuple[str, str] | None:
    """(zh, en) of a warning's worst window ("峰值 19件 (11:15)", "peak 19 orders at 11:15"),
    or None when it has none (`peak_at` < 0, or no value)."""
    if peak_at < 0 or math.isnan(peak):
        return None
    when = local_time(peak_at, at, tz)
    return (
        f"峰值 {format_value(peak, unit, 'zh')} ({when})",
        f"peak {format_value(peak, unit)} at {when}",
    )


def worst_clause(
    *,
    area_zh: str,
    area_en: str,
    title_zh: str,
    title_en: str,
    level: str,
    unit: str,
    peak: float | None,
    peak_at: int | None,
    at: int,
    tz: str = DEFAULT_TZ,
) -> tuple[str, str]:
    """(zh, en) naming the worst warning an incident had, for the summary its last warning's
    resolution gives: "最严重: 宝山区 细颗粒物(PM2.5)橙色预警, 峰值 154 μg/m³ (09:00)" and "worst:
    Baoshan fine particulate matter (PM2.5) orange warning, peak 154 ug/m3 at 09:00".  The last
    warning to clear is often a minor one elsewhere; the incident's worst part must stay
    visible.  The peak is left out when the warning had no value."""
    zh = f"最严重: {area_zh} {title_zh}{LEVEL_NAMES_ZH[level]}"
    en = f"worst: {area_en} {lower_first(title_en)} {level} warning"
    said = None
    if peak is not None and peak_at is not None:
        said = _peak(float(peak), int(peak_at), unit, at, tz)
    if said is not None:
        zh, en = f"{zh}, {said[0]}", f"{en}, {said[1]}"
    return zh, en
