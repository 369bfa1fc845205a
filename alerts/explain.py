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


def _significant(v: float, n: int) -> str:
    """`v` with `n` significant digits, in plain decimals (never an exponent), trailing zeros
    dropped."""
    decimals = 0 if v == 0 else max(0, n - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_apart(value: float, limit: float) -> tuple[str, str]:
    """(value, limit) as format_number writes them, with more significant digits for both
    when they would print alike but differ: "0.14 MPa, expected > 0.14, red" read as if
    the limit were met where the value was 0.138; "0.138, expected > 0.14" says why the
    warning stands.  Numbers that print differently keep their usual short form."""
    a, b = format_number(value), format_number(limit)
    if a != b or value == limit or math.isnan(value) or math.isnan(limit):
        return a, b
    for n in range(2, 12):
        a, b = _significant(value, n), _significant(limit, n)
        if a != b:
            break
    return a, b


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


def format_value(v: float | None, unit: str, lang: str = "en", text: str | None = None) -> str:
    """A value with its unit as people read it: "0.12 MPa", "41 orders", "1 order", "12%" for
    a share; with `lang="zh"`, "41件" and "35 μg/m³" (see UNITS_ZH).  `text`: the number as
    already written (a share's in percent), when it needs more digits than usual."""
    if v is None or math.isnan(v):
        return "—"
    if unit == RATIO_UNIT:
        return f"{text or format_number(100.0 * v)}%"
    text = text or format_number(v)
    if lang == "zh" and unit in UNITS_ZH:
        return f"{text}{UNITS_ZH[unit]}"
    if lang == "en" and text == "1":
        unit = UNITS_EN_ONE.get(unit, unit)
    return f"{text} {unit}" if unit else text


def _shown(v: float, unit: str) -> float:
    """The number a value is written as: a share in percent."""
    return 100.0 * v if unit == RATIO_UNIT else v


def _apart(edge: float, numbers: list[float | None]) -> tuple[str, list[str | None]]:
    """The text of a limit `edge` and of each of `numbers` said beside it (None: its usual
    text, or a number not known), with the digits that tell each number and the limit
    apart (format_apart; the limit takes the most any of them needs)."""
    edge_text = format_number(edge)
    texts: list[str | None] = []
    for v in numbers:
        if v is None or math.isnan(v):
            texts.append(None)
            continue
        v_text, e_text = format_apart(v, edge)
        texts.append(v_text if v_text != format_number(v) else None)
        if len(e_text) > len(edge_text):
            edge_text = e_text
    return edge_text, texts


def _longer(a: str | None, b: str | None) -> str | None:
    """The one of two texts of a number with more digits (None: its usual text)."""
    if a is None or b is None:
        return a or b
    return a if len(a) >= len(b) else b


def told_apart(value: float, others: tuple[float, ...], text: str | None = None) -> str | None:
    """The text of `value` with the digits that also tell it apart from each of `others`
    (the thresholds of the level a warning is at and of the one it left), None: its usual
    text.  `text`: its text as written so far, kept when it has more digits.  A yellow
    warning at <= 0.15 stepped down to blue on 0.155, and "0.15 MPa, expected > 0.2, down
    to blue" read as if the value still held yellow."""
    for other in others:
        if math.isnan(value) or math.isnan(other) or other == value:
            continue
        v_text, _ = format_apart(value, other)
        if v_text != format_number(value):
            text = _longer(text, v_text)
    return text


def _band(
    lower: float | None,
    upper: float | None,
    unit: str = "",
    value: float | None = None,
    peak: float | None = None,
) -> tuple[tuple[str, str] | None, str | None, str | None]:
    """((zh, en) of the expected band or None, the value's number if the band made it need
    more digits than usual, else None, and the same of `peak`, the worst window's value a
    resolution gives beside the band: "most anomalous 0.14 MPa" of 0.138 beside "expected
    > 0.14" read as if the limit had been met)."""
    lo = None if lower is None or math.isnan(lower) else lower
    hi = None if upper is None or math.isnan(upper) else upper
    numbers = [None if v is None else _shown(v, unit) for v in (value, peak)]
    texts: dict[str, str] = {}
    said: list[str | None] = [None, None]

    def show(edge: float, name: str) -> str:
        if name not in texts:
            texts[name], apart = _apart(_shown(edge, unit), numbers)
            said[:] = [_longer(a, b) for a, b in zip(said, apart, strict=True)]
        return f"{texts[name]}%" if unit == RATIO_UNIT else texts[name]

    band: tuple[str, str] | None = None
    if lo is not None and hi is not None:
        if format_number(_shown(lo, unit)) == format_number(_shown(hi, unit)):
            return None, None, None  # a band of one value ("3-3") says nothing
        if lo < 0:  # "-0.12-0.24" reads as a subtraction
            a, b = show(lo, "lo"), show(hi, "hi")
            band = (f"预期 {a} 至 {b}", f"expected {a} to {b}")
        else:
            text = f"{show(lo, 'lo')}-{show(hi, 'hi')}"
            band = (f"预期 {text}", f"expected {text}")
    # A one-sided band is written strictly: a level is raised at its threshold (>=), and a
    # threshold detector's limit is usually that threshold, so "10 orders, expected ≤ 10,
    # blue" contradicted itself where "expected < 10" says why the warning stands.
    elif hi is not None:
        a = show(hi, "hi")
        band = (f"预期 < {a}", f"expected < {a}")
    elif lo is not None:
        a = show(lo, "lo")
        band = (f"预期 > {a}", f"expected > {a}")
    return band, said[0], said[1]


def format_span(seconds: int) -> tuple[str, str]:
    """(zh, en) of a rule's duration as people say it: "30分钟" / "30 min", "1小时30分钟" /
    "1 h 30 min", "2天" / "2 days"."""
    parts: list[tuple[str, str]] = []
    rest = max(0, int(seconds))
    for size, zh, en in ((86400, "天", " day"), (3600, "小时", " h"), (60, "分钟", " min")):
        n, rest = divmod(rest, size)
        if n:
            parts.append((f"{n}{zh}", f"{n}{en}{'s' if en == ' day' and n > 1 else ''}"))
    if rest or not parts:
        parts.append((f"{rest}秒", f"{rest} s"))
    return "".join(p[0] for p in parts), " ".join(p[1] for p in parts)


def _clear_said(
    judged: float | None,
    unit: str,
    clear: float,
    clear_for: int,
    below: bool,
    resolved: bool = False,
) -> tuple[tuple[str, str], str | None]:
    """What keeps a warning up when its value (or score) holds no level any more: its clear
    condition has not held for long enough ("0.4 cm, expected < 10, down to blue" read as if
    the warning had no reason to stand): "低于 5 持续30分钟后解除" / "clears below 5 after
    30 min".  Also the judged number's text when it needs more digits beside the limit.

    `resolved`: the condition has held, and is what cleared the warning: "低于 5 持续30分钟" /
    "below 5 for 30 min".  A resolution gave the detectors' band instead, which the value
    that cleared it may lie outside of ("50.2%, expected 51.7%-67.1%, yellow warning
    cleared"): the band is not what a warning clears by."""
    limit, (text,) = _apart(_shown(clear, unit), [None if judged is None else _shown(judged, unit)])
    if unit == RATIO_UNIT:
        limit = f"{limit}%"
    zh_side, en_side = ("低于", "below") if below else ("高于", "above")
    if resolved:
        if clear_for <= 0:
            return (f"{zh_side} {limit}", f"{en_side} {limit}"), text
        zh_for, en_for = format_span(clear_for)
        return (f"{zh_side} {limit} 持续{zh_for}", f"{en_side} {limit} for {en_for}"), text
    if clear_for <= 0:
        return (f"{zh_side} {limit} 即解除", f"clears {en_side} {limit}"), text
    zh_for, en_for = format_span(clear_for)
    return (
        f"{zh_side} {limit} 持续{zh_for}后解除",
        f"clears {en_side} {limit} after {en_for}",
    ), text


def local_time(
    ts: int, ref: int, tz: str = DEFAULT_TZ, dated: bool = False, days: bool = False
) -> str:
    """HH:MM in the city's zone, with the date when it is not the day of `ref` (the event the
    sentence describes) or when `dated` asks for it (another time of the sentence has a
    date: "cleared at 00:00" beside "peak at 02-01" did not say which midnight), and the year
    too when it is not `ref`'s: a replay of last winter read "since 12-31 23:00" a year off.
    `days`: the time is the start of a whole-day window, named by its date alone ("02-01";
    "02-01 00:00" read as a moment, and a window's end as the next day)."""
    zone = ZoneInfo(tz)
    t = datetime.fromtimestamp(ts, zone)
    r = datetime.fromtimestamp(ref, zone)
    date = "%m-%d" if t.year == r.year else "%Y-%m-%d"
    if days and (t.hour, t.minute, t.second) == (0, 0, 0):
        return t.strftime(date)
    if t.date() == r.date() and not dated:
        return t.strftime("%H:%M")
    return t.strftime(f"{date} %H:%M")


def other_day(ts: int, ref: int, tz: str = DEFAULT_TZ) -> bool:
    """Whether `ts` is on another day than `ref` in the city's zone (local_time dates it)."""
    zone = ZoneInfo(tz)
    return datetime.fromtimestamp(ts, zone).date() != datetime.fromtimestamp(ref, zone).date()


def whole_days(length: int) -> bool:
    """Whether windows of `length` seconds are whole days, named by their dates."""
    return length > 0 and length % 86400 == 0


def sliding(length: int, step: int) -> bool:
    """Whether windows of `length` seconds, one every `step`, overlap (sliding windows).  Such
    a window is named by its end, the moment its moving value was read: by its start, the
    8-hour ozone mean that crossed 160 at 13:00 read "peak at 05:00", hours before the
    warning's "since 12:00" and before the ozone rose."""
    return 0 < step < length


def run_named(start: int, length: int, step: int) -> int:
    """The moment a sentence names a run of windows by, given as the state machine keeps it
    (the first window's end minus `step`, -1: not known): that window's start, or with
    sliding windows its end."""
    return start + step if start >= 0 and sliding(length, step) else start


def window_named(end: int, length: int, step: int = 0) -> int:
    """The moment a sentence names the window ending at `end` by: its start, or with sliding
    windows its end (see `sliding`; `length` 0: not known, named by `end`)."""
    return end if sliding(length, step) else end - length


def lower_first(title: str) -> str:
    """ "Water supply pressure" reads "water supply pressure" mid-sentence; "PM2.5" stays."""
    if len(title) >= 2 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


#: how a warning's worst window is named: the highest value of an "above" rule, the lowest of
#: a "below" one ("峰值 0.13 MPa" of a pressure drop read as if it had risen), and for a
#: warning on the anomaly score the window that scored highest, whatever its value did
WORST_WORDS: dict[str, tuple[str, str]] = {
    "high": ("峰值", "peak"),
    "low": ("最低", "lowest"),
    "score": ("最异常", "most anomalous"),
}


def worst_kind(on: str, direction: str) -> str:
    """The key of WORST_WORDS for a warning judged `on` its value or score, in `direction`."""
    if on == "score":
        return "score"
    return "low" if direction == "below" else "high"


def _score_said(
    score: float, limit: float, level: str, apart: tuple[float, ...] = ()
) -> tuple[str, str]:
    """What raised a warning on the anomaly score, where the detectors' band holds the value
    ("2.53 orders/min, expected 0-2.58, blue": the score crossed 0.99, not the value the
    band): "异常评分 0.993 (蓝色 ≥ 0.99)" / "anomaly score 0.993 (blue at ≥ 0.99)".  The score
    has the digits that tell it apart from the thresholds in `apart` too (see told_apart)."""
    s_text, l_text = format_apart(score, limit)
    s_text = told_apart(score, apart, s_text) or s_text
    if math.isnan(limit):
        return f"异常评分 {s_text}", f"anomaly score {s_text}"
    zh_level = LEVEL_NAMES_ZH[level].removesuffix("预警")
    return (
        f"异常评分 {s_text} ({zh_level} ≥ {l_text})",
        f"anomaly score {s_text} ({level} at ≥ {l_text})",
    )


#: what the records of a source kind are called in "too few checks to judge"; other kinds are
#: sensors, whose records are readings
RECORDS: dict[str, tuple[str, str]] = {
    "checkpoint": ("核验", "checks"),
    "hotline": ("工单", "orders"),
    "photo_report": ("上报", "reports"),
}


def _thin_said(count: int, least: int, since: int, kind: str, at: int, tz: str) -> tuple[str, str]:
    """Why a warning changes on a window with no value: the indicator leaves a window of fewer
    records than its `min_count` unjudged and counts it as calm, so a warning can clear on
    such windows, and "expected < 2%, blue warning cleared" with no value gave no reason:
    "核验过少无法判断 (17 < 20) 自 19:00" / "too few checks to judge (17 < 20) since 19:00"
    (`count` < 0, `since` < 0: not known; `since` is the start of the run of such windows)."""
    zh_noun, en_noun = RECORDS.get(kind, ("读数", "readings"))
    zh, en = f"{zh_noun}过少无法判断", f"too few {en_noun} to judge"
    if count >= 0:  # (a batch from elsewhere may not give it)
        zh, en = f"{zh} ({count} < {least})", f"{en} ({count} < {least})"
    if since < 0:
        return zh, en
    when = local_time(since, at, tz)
    return f"{zh} 自 {when}", f"{en} since {when}"


def _health_said(
    value: float | None, unit: str, kind: str, seen_at: int, same_since: int, at: int, tz: str
) -> tuple[str, str]:
    """A silent or frozen sensor's state, where a number would read as the reading that
    raised the warning ("air station silent or frozen 37.9 ug/m3"): no reading since when,
    the value it is stuck at since when, or, once resolved, its latest reading."""
    if value is None or math.isnan(value):
        if seen_at < 0:
            return "无读数", "no reading"
        when = local_time(seen_at, at, tz)
        return f"自 {when} 无读数", f"no reading since {when}"
    zh_v, en_v = format_value(value, unit, "zh"), format_value(value, unit)
    if kind == "resolved":
        return f"最新读数 {zh_v}", f"latest reading {en_v}"
    if same_since < 0:
        return f"读数停在 {zh_v}", f"value stuck at {en_v}"
    when = local_time(same_since, at, tz)
    return f"读数停在 {zh_v} 自 {when}", f"value stuck at {en_v} since {when}"


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
    worst: str = "high",
    score: float = math.nan,
    score_limit: float = math.nan,
    health: bool = False,
    seen_at: int = -1,
    same_since: int = -1,
    clear: float = math.nan,
    clear_for: int = 0,
    clear_below: bool = True,
    thin: tuple[int, int, int, str] | None = None,
    length: int = 0,
    step: int = 0,
    apart: tuple[float, ...] = (),
) -> tuple[str, str]:
    """(zh, en) for one warning event.  A resolution also gives the worst window while the
    warning fired (`peak` at the end of window `peak_at`, named as WORST_WORDS[`worst`] says):
    the value it resolves on is by then normal ("0 orders ... cleared"), and the ticket it
    closes should still say what happened.

    A `score` (with the level's `score_limit`) says what raised a warning on the anomaly
    score in place of the band; `health` words a silent or frozen sensor's state instead of a
    value (`seen_at`: end of its last window with a reading, `same_since`: start of the run
    of windows with its current reading).

    A `clear` threshold (with `clear_for`, the time it must hold, and `clear_below`: whether
    the warning clears below it or above) says what keeps up a warning whose value, or
    `score` when one is given, holds no level any more, in place of an expectation that
    would hold it: "0.4 cm, clears below 5 after 30 min, down to blue"; in a resolution,
    the condition that cleared it: "0.4 cm, below 5 for 30 min, blue warning cleared".

    Times are moments, and a window is named by its start (`length`: the windows' length,
    0: `peak_at` is named as it is; `step`: the time between two windows): `since` (and the
    `same_since` and thin run's start, all given as a run's first window's end minus
    `step`) is the start of a run's first window, the peak the start of its window, "cleared
    at" the moment the warning ended (the end of the window that ended it).  A whole-day
    window is named by its date ("since 02-01", "most anomalous 4 orders on 02-01": its end,
    "02-02 00:00", read as a day later), and the event's own time takes its date when
    another time of the sentence has one.  Sliding windows (`length` > `step`) are named by
    their ends, and the peak's with its length: "blue since 13:00 ... peak 175 ug/m3 in the
    8 h to 13:00" (see `sliding`).

    `thin` (records, the indicator's `min_count`, start of the run of such windows, source
    kind) says why a window has no value: too few records to judge, which counts as calm
    (see _thin_said); it takes the place of a band, which no value was judged against.

    `apart`: the thresholds of the level the warning is at and of the one it left, of the
    quantity it is judged on (the `score` when one is given, else the value), which is
    written with the digits that tell it apart from them (told_apart): "0.155 MPa, expected
    > 0.2, down to blue" off yellow at 0.15, not "0.15 MPa"."""
    known = value is not None and not math.isnan(value)  # (no value: nothing shown, not "—")
    since = run_named(since, length, step)
    same_since = run_named(same_since, length, step)
    if thin is not None:
        thin = (thin[0], thin[1], run_named(thin[2], length, step), thin[3])
    band: tuple[str, str] | None = None
    peak_text: str | None = None
    if health:
        state = _health_said(value, unit, kind, seen_at, same_since, at, tz)
        zh = [f"{area_zh}: {title_zh}", state[0]]
        en = [f"{area_en}: {lower_first(title_en)}", state[1]]
    else:
        band, value_text, peak_text = _band(lower, upper, unit, value, peak)
        resolved = kind == "resolved"
        if not math.isnan(clear) and not math.isnan(score):
            rule, score_text = _clear_said(score, "", clear, clear_for, clear_below, resolved)
            score_text = told_apart(score, apart, score_text)
            # a calm score to three digits ("0.000153") reads as noise: it is below 0.001
            score_text = "< 0.001" if 0 <= score < 0.001 else score_text or format_number(score)
            band = (f"异常评分 {score_text}, {rule[0]}", f"anomaly score {score_text}, {rule[1]}")
            value_text = None
        elif not math.isnan(clear):
            band, value_text = _clear_said(value, unit, clear, clear_for, clear_below, resolved)
        elif not math.isnan(score):
            band = _score_said(score, score_limit, level, apart)
            value_text = None
        if value is not None and known and math.isnan(score):  # (the thresholds are the value's)
            shown = tuple(_shown(t, unit) for t in apart)
            value_text = told_apart(_shown(value, unit), shown, value_text)
        if thin is not None and not known:
            band = _thin_said(*thin, at=at, tz=tz)
        shown_zh = f" {format_value(value, unit, 'zh', value_text)}" if known else ""
        shown_en = f" {format_value(value, unit, text=value_text)}" if known else ""
        zh = [f"{area_zh}: {title_zh}{shown_zh}"]
        en = [f"{area_en}: {lower_first(title_en)}{shown_en}"]
    if band is not None:
        zh.append(band[0])
        en.append(band[1])
    days = whole_days(length) and not sliding(length, step)
    when = local_time(since, at, tz, days=days)
    if kind == "resolved":
        said = None
        if not health:
            said = _peak(peak, peak_at, unit, at, tz, worst, peak_text, length, step)
        dated = said is not None and other_day(window_named(peak_at, length, step), at, tz)
        dated |= thin is not None and thin[2] >= 0 and other_day(thin[2], at, tz)
        cleared = local_time(at, at, tz, dated=dated)
        zh.append(f"{LEVEL_NAMES_ZH[level]}已解除 ({cleared})")
        en.append(f"{level} warning cleared at {cleared}")
        if said is not None:
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
    worst: str = "high",
    length: int = 0,
    step: int = 0,
) -> tuple[str, str]:
    """(zh, en) for a warning ended because its area is no longer watched, not because the
    value came back: "静安区: PM2.5 橙色预警撤销 (14:05): ..." / "Jing'an: pm2.5 orange warning
    withdrawn at 14:05: ...", then its worst window while it fired, as a resolution gives it."""
    said = _peak(peak, peak_at, unit, at, tz, worst, length=length, step=step)
    named = window_named(peak_at, length, step)
    when = local_time(at, at, tz, dated=said is not None and other_day(named, at, tz))
    zh = f"{area_zh}: {title_zh} {LEVEL_NAMES_ZH[level]}撤销 ({when}): {why_zh}"
    en = f"{area_en}: {lower_first(title_en)} {level} warning withdrawn at {when}: {why_en}"
    if said is not None:
        zh, en = f"{zh}; {said[0]}", f"{en}; {said[1]}"
    return zh, en


def _peak(
    peak: float,
    peak_at: int,
    unit: str,
    at: int,
    tz: str,
    worst: str = "high",
    text: str | None = None,
    length: int = 0,
    step: int = 0,
) -> tuple[str, str] | None:
    """(zh, en) of a warning's worst window ("峰值 19件 (11:15)", "peak 19 orders at 11:15";
    "最低 0.13 MPa" of a "below" rule, see WORST_WORDS), or None when it has none (`peak_at`
    < 0, or no value).  `text`: its number as already written, when the limit beside it
    made it need more digits than usual.  The window is named by its start, `length` before
    its end `peak_at` (a whole-day one by its date: "on 02-01"), as the sentence's other times
    are: "blue since 02-01 00:00 ... most anomalous 4 orders at 02-02 00:00" put the peak a
    day after it happened.  A sliding window (`step` < `length`) is named by its end and its
    length: "峰值 175 μg/m³ (截至13:00的8小时)", "peak 175 ug/m3 in the 8 h to 13:00"."""
    if peak_at < 0 or math.isnan(peak):
        return None
    zh_word, en_word = WORST_WORDS[worst]
    zh_value, en_value = format_value(peak, unit, "zh", text), format_value(peak, unit, text=text)
    if sliding(length, step):
        when = local_time(peak_at, at, tz)
        zh_span, en_span = format_span(length)
        return (
            f"{zh_word} {zh_value} (截至{when}的{zh_span})",
            f"{en_word} {en_value} in the {en_span} to {when}",
        )
    days = whole_days(length)
    when = local_time(peak_at - length, at, tz, days=days)
    on = "on" if days else "at"
    return f"{zh_word} {zh_value} ({when})", f"{en_word} {en_value} {on} {when}"


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
    length: int = 0,
    step: int = 0,
    worst: str = "high",
) -> tuple[str, str]:
    """(zh, en) naming the worst warning an incident had, for the summary its last warning's
    resolution gives: "最严重: 宝山区 细颗粒物(PM2.5)橙色预警, 峰值 154 μg/m³ (09:00)" and "worst:
    Baoshan fine particulate matter (PM2.5) orange warning, peak 154 ug/m3 at 09:00".  The last
    warning to clear is often a minor one elsewhere; the incident's worst part must stay
    visible.  The peak is left out when the warning had no value.  `worst` names it as the
    warning's own sentence does (WORST_WORDS): a water pressure that fell to 0.13 MPa under a
    `below` rule is its "lowest", not its "peak"."""
    zh = f"最严重: {area_zh} {title_zh}{LEVEL_NAMES_ZH[level]}"
    en = f"worst: {area_en} {lower_first(title_en)} {level} warning"
    said = None
    if peak is not None and peak_at is not None:
        said = _peak(float(peak), int(peak_at), unit, at, tz, worst, length=length, step=step)
    if said is not None:
        zh, en = f"{zh}, {said[0]}", f"{en}, {said[1]}"
    return zh, en
