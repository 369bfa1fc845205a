"""Citizen channels: 12345 hotline work orders, 随申拍 photo reports, venue checkpoint checks.

Background volume follows the hours people are awake and calling (patterns.calls/footfall) as
a Poisson process in one-minute bins; incidents add surges of their categories in their area,
starting a little after the incident does.  Places are random points inside a community (so
that locating them by coordinates gives that community back), addresses and descriptions are
in Chinese, and callers' names and phone numbers -- and in some descriptions an ID number --
are present, because masking them is the decoder's job."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flows.city import City, VenueRegistry
from flows.city.geo import from_plane, to_plane, uniform_in_discs
from indicators.language.registry import hotline_categories

from . import clock, patterns, people
from .incidents import CALL_LAG, ResolvedIncident

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Shape = Callable[[FloatArray, IntArray], FloatArray]

BIN_MS = 60_000

HOTLINE_MIX: dict[str, float] = {
    "other": 0.18, "noise_complaint": 0.14, "sanitation": 0.12, "road_damage": 0.08,
    "traffic": 0.07, "street_lights": 0.05, "illegal_construction": 0.06, "water_outage": 0.05,
    "air_pollution": 0.05, "elevator": 0.04, "power_outage": 0.04, "water_quality": 0.03,
    "manhole_cover": 0.03, "flooding": 0.02, "gas_smell": 0.02, "traffic_signal": 0.01,
    "graffiti": 0.01,
}  # fmt: skip
PHOTO_MIX: dict[str, float] = {
    "road_damage": 0.25, "sanitation": 0.25, "illegal_construction": 0.12,
    "street_lights": 0.10, "manhole_cover": 0.08, "traffic": 0.07, "flooding": 0.03,
    "other": 0.10,
}  # fmt: skip
CHANNELS: dict[str, float] = {"phone": 0.70, "app": 0.15, "wechat": 0.10, "web": 0.05}
CATEGORY_KEY_SHARE = 0.05  # orders that say "category" instead of "service_code"
PERSONAL_IN_DESCRIPTION = 0.15  # descriptions that repeat a phone or ID number
CHECKPOINT_ABNORMAL = 0.002
#: Hotline orders that another caller repeats: the same problem at the same spot, reported
#: again within hours, mostly within the hour (a dark street lamp on a busy corner draws
#: several calls).  The dispatcher links a repeat to the open order (routing.yaml
#: `duplicates`: within 30 m and 72 h) instead of sending a second crew: 减少重复派单.
REPEAT_SHARE = 0.06
REPEAT_MEAN_DELAY_MS = 1_800_000  # exponential (half an hour), cut at six hours
REPEAT_MAX_DELAY_MS = 6 * 3_600_000
REPEAT_WITHIN_KM = 0.0148  # the same spot, within 15 m once rounded to 6 decimals

TEMPLATES: dict[str, tuple[str, ...]] = {
    "water_outage": ("{place}停水了，家里一滴水都没有", "{place}自来水水压很低，楼上用不上水",
                     "{place}突然没水了，请问什么时候恢复供水"),
    "water_quality": ("{place}自来水发黄有异味", "{place}水龙头放出来的水很浑浊"),
    "noise_complaint": ("{place}夜间施工噪声很大，影响休息", "{place}广场舞音响声音太大",
                        "{place}楼上装修噪声扰民"),
    "road_damage": ("{place}路面有一个大坑，车辆经过很危险", "{place}人行道地砖松动破损"),
    "street_lights": ("{place}路灯不亮，晚上很黑", "{place}一排路灯坏了好几天"),
    "sanitation": ("{place}垃圾堆放没人清运，气味很大", "{place}绿化带里有大量垃圾"),
    "illegal_construction": ("{place}有人在屋顶违章搭建", "{place}底楼住户私自扩建院子"),
    "flooding": ("{place}路面积水很深，车辆无法通行",
                 "{place}下大雨后积水没过脚踝，小区门口进水了"),
    "gas_smell": ("{place}楼道里闻到很浓的煤气味", "{place}附近有燃气泄漏的味道，请尽快派人查看"),
    "power_outage": ("{place}整栋楼停电了", "{place}突然停电，请问什么时候恢复"),
    "manhole_cover": ("{place}井盖缺失，很危险", "{place}井盖破损松动，车辆经过有响声"),
    "elevator": ("{place}电梯故障停运", "{place}电梯困人，请尽快处理"),
    "air_pollution": ("{place}空气里有很重的烟味，呼吸不舒服", "{place}附近有废气排放，灰蒙蒙的"),
    "traffic": ("{place}早高峰堵得很厉害，信号灯配时不合理", "{place}路口车辆乱停导致拥堵"),
    "traffic_signal": ("{place}路口红绿灯不亮", "{place}信号灯一直闪黄灯"),
    "graffiti": ("{place}墙上被人乱涂乱画", "{place}公交站牌上贴满小广告"),
    "other": ("咨询{place}社区事务受理时间", "{place}有流浪犬需要处理", "反映{place}物业服务问题"),
}  # fmt: skip
PERSONAL_SUFFIXES = ("，联系人{name}，电话{phone}", "，本人身份证号{id_number}", "，请回电{phone}")


@dataclass(frozen=True)
class Events:
    """Citizen events before they become records: time, category, community."""

    ts_ms: IntArray
    category: list[str]
    community: IntArray


def with_repeats(
    rng: np.random.Generator, events: Events, end_ms: int, share: float = REPEAT_SHARE
) -> tuple[Events, IntArray]:
    """`events` and the repeats of a `share` of them (same category and community, a little
    later), in time order, and for each event the index of the one it repeats (-1: none)."""
    n = events.ts_ms.size
    picked = np.flatnonzero(rng.random(n) < share)
    delay = np.minimum(rng.exponential(REPEAT_MEAN_DELAY_MS, picked.size), REPEAT_MAX_DELAY_MS)
    later = events.ts_ms[picked] + np.maximum(delay.astype(np.int64), BIN_MS)
    kept = later < end_ms
    picked, later = picked[kept], later[kept]
    ts = np.concatenate([events.ts_ms, later])
    source = np.concatenate([np.full(n, -1, dtype=np.int64), picked])
    order = np.argsort(ts, kind="stable")  # (a repeat sorts after what it repeats)
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    source = source[order]
    repeat_of = np.where(source >= 0, position[np.maximum(source, 0)], -1)
    category = events.category + [events.category[i] for i in picked.tolist()]
    community = np.concatenate([events.community, events.community[picked]])
    merged = Events(ts[order], [category[i] for i in order.tolist()], community[order])
    return merged, repeat_of


def _weekly_mean(shape: Shape) -> float:
    minutes = np.arange(7 * 1440, dtype=np.float64)
    return float(np.mean(shape(minutes % 1440 / 60.0, (minutes // 1440).astype(np.int64))))


def poisson_times(
    rng: np.random.Generator,
    start_ms: int,
    end_ms: int,
    per_hour: FloatArray | float,
    bins: IntArray,
) -> IntArray:
    """Event times of a Poisson process with the given rate per hour in each one-minute bin."""
    lam = np.broadcast_to(np.asarray(per_hour, dtype=np.float64) / 60.0, bins.shape)
    counts = rng.poisson(lam)
    times = np.repeat(bins, counts) + rng.integers(0, BIN_MS, int(counts.sum()))
    times = times[(times >= start_ms) & (times < end_ms)]
    return np.sort(times)


def background(
    rng: np.random.Generator,
    start_ms: int,
    end_ms: int,
    per_day: float,
    shape: Shape,
    mix: dict[str, float],
    n_communities: int,
) -> Events:
    bins = np.arange(start_ms, end_ms, BIN_MS, dtype=np.int64)
    rate = shape(clock.local_hour(bins), clock.weekday(bins)) / _weekly_mean(shape)
    times = poisson_times(rng, start_ms, end_ms, per_day / 24.0 * rate, bins)
    names = list(mix)
    weights = np.array([mix[c] for c in names])
    cats = rng.choice(len(names), size=times.size, p=weights / weights.sum())
    comms = rng.integers(0, n_communities, times.size)
    return Events(times, [names[c] for c in cats.tolist()], comms)


def surges(
    rng: np.random.Generator,
    start_ms: int,
    end_ms: int,
    channel: str,
    incidents: list[ResolvedIncident],
) -> Events:
    """Extra reports that the incidents provoke on one channel, inside their areas."""
    bins = np.arange(start_ms, end_ms, BIN_MS, dtype=np.int64)
    lag = int(CALL_LAG.total_seconds() * 1000)
    parts: list[Events] = []
    for r in incidents:
        typ = r.incident.type
        for s in typ.surges:
            if s.channel != channel:
                continue
            rate = s.per_hour * typ.strength(r.incident.magnitude)
            shape = r.incident.shape(bins + BIN_MS // 2, r.sim_start_ms, lag_ms=lag)
            times = poisson_times(rng, start_ms, end_ms, rate * shape, bins)
            comms = r.communities[rng.integers(0, r.communities.size, times.size)]
            parts.append(Events(times, [s.category] * times.size, comms))
    return merge(parts)


def merge(parts: list[Events]) -> Events:
    if not parts:
        return Events(np.zeros(0, np.int64), [], np.zeros(0, np.int64))
    ts = np.concatenate([p.ts_ms for p in parts])
    cats = [c for p in parts for c in p.category]
    comms = np.concatenate([p.community for p in parts])
    order = np.argsort(ts, kind="stable")
    return Events(ts[order], [cats[i] for i in order.tolist()], comms[order])


class _Places:
    """Names and addresses of communities, computed once each."""

    def __init__(self, city: City) -> None:
        self.city = city
        self._full: dict[int, str] = {}
        self._street = city.community_ancestors("street")

    def community(self, idx: int) -> str:
        if idx not in self._full:
            self._full[idx] = self.city.full_name("community", idx, "zh")
        return self._full[idx]

    def street(self, idx: int) -> str:
        return str(self.city.level("street").name_zh[self._street[idx]])


def templates(category: str) -> tuple[str, ...]:
    """Description templates of a category; categories added to the registry later get a
    plain one built from their Chinese title."""
    found = TEMPLATES.get(category)
    if found is not None:
        return found
    title = hotline_categories().get(category, {}).get("zh", category)
    return (f"{{place}}反映{title}问题",)


def _descriptions(
    rng: np.random.Generator, events: Events, places: _Places, who: list[str], phones: list[str]
) -> list[str]:
    n = events.ts_ms.size
    pick = rng.integers(0, 1 << 30, n).tolist()
    personal = (rng.random(n) < PERSONAL_IN_DESCRIPTION).tolist()
    suffix = rng.integers(0, len(PERSONAL_SUFFIXES), n).tolist()
    district_codes = places.city.level("district").code.tolist()
    id_numbers = people.id_numbers(rng, n, district_codes)
    out = []
    for i, (cat, comm) in enumerate(zip(events.category, events.community.tolist(), strict=True)):
        options = templates(cat)
        text = options[pick[i] % len(options)].format(place=places.street(comm))
        if personal[i]:
            text += PERSONAL_SUFFIXES[suffix[i]].format(
                name=who[i], phone=phones[i], id_number=id_numbers[i]
            )
        out.append(text)
    return out


def _year_serials(ts_ms: IntArray) -> list[str]:
    """YYYY-NNNNNN: numbered within each year, in time order (events are sorted)."""
    years = clock.iso_local(ts_ms).astype("U4").tolist()
    out, last, n = [], "", 0
    for y in years:
        n = n + 1 if y == last else 1
        last = y
        out.append(f"{y}-{n:06d}")
    return out


def hotline_lines(
    rng: np.random.Generator, city: City, events: Events, repeat_of: IntArray | None = None
) -> list[str]:
    """Open311-shaped work orders; an order that repeats an earlier one (`repeat_of`, from
    `with_repeats`) is placed within 15 m of it, at the same building."""
    n = events.ts_ms.size
    places = _Places(city)
    lat, lon = city.scatter(events.community, rng)
    who = people.names(rng, n)
    phones = people.mobiles(rng, n)
    descriptions = _descriptions(rng, events, places, who, phones)
    channel_names = list(CHANNELS)
    channel_p = np.array([CHANNELS[c] for c in channel_names])
    channels = rng.choice(len(channel_names), size=n, p=channel_p).tolist()
    category_key = (rng.random(n) < CATEGORY_KEY_SHARE).tolist()
    building = rng.integers(1, 120, n)
    if repeat_of is not None and (repeats := np.flatnonzero(repeat_of >= 0)).size:
        src = repeat_of[repeats]
        lat[repeats], lon[repeats] = _near(city, events.community[repeats], lat[src], lon[src], rng)
        building[repeats] = building[src]
    building_no = building.tolist()
    iso = clock.iso_local(events.ts_ms).tolist()
    serials = _year_serials(events.ts_ms)
    lines = []
    for i in range(n):
        comm = int(events.community[i])
        record = {
            "service_request_id": f"12345-{serials[i]}",
            ("category" if category_key[i] else "service_code"): events.category[i],
            "description": descriptions[i],
            "requested_datetime": iso[i],
            "address": f"上海市{places.community(comm)}{building_no[i]}号楼",
            "lat": round(float(lat[i]), 6),
            "long": round(float(lon[i]), 6),
            "channel": channel_names[channels[i]],
            "phone": phones[i],
            "name": who[i],
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def _near(
    city: City,
    community: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """A point within 15 m of each (lat, lon) of these communities, never so far that it
    could leave its community: a scattered point lies within 0.45 of the spacing to the
    nearest other community, the move within 0.04 of it."""
    radius = np.minimum(REPEAT_WITHIN_KM, 0.04 * city.community_spacing_km[community])
    return from_plane(to_plane(lat, lon) + uniform_in_discs(radius, rng))


def photo_lines(rng: np.random.Generator, city: City, events: Events) -> list[str]:
    """随申拍 reports: a category, a short description, a place, usually a photo."""
    n = events.ts_ms.size
    places = _Places(city)
    lat, lon = city.scatter(events.community, rng)
    who = people.names(rng, n)
    phones = people.mobiles(rng, n)
    descriptions = _descriptions(rng, events, places, who, phones)
    has_photo = (rng.random(n) < 0.9).tolist()
    iso = clock.iso_local(events.ts_ms).tolist()
    serials = _year_serials(events.ts_ms)
    return [
        json.dumps(
            {
                "report_id": f"SSP-{serials[i]}",
                "category": events.category[i],
                "description": descriptions[i],
                "ts": iso[i],
                "lat": round(float(lat[i]), 6),
                "long": round(float(lon[i]), 6),
                "has_photo": int(has_photo[i]),
            },
            ensure_ascii=False,
        )
        for i in range(n)
    ]


def checkpoint_lines(
    rng: np.random.Generator, venues: VenueRegistry, start_ms: int, end_ms: int, per_day: float
) -> tuple[IntArray, list[str]]:
    """Venue-code / digital-sentinel checks: venue, time and result only -- no identity."""
    bins = np.arange(start_ms, end_ms, BIN_MS, dtype=np.int64)
    rate = patterns.footfall(clock.local_hour(bins), clock.weekday(bins))
    rate = rate / _weekly_mean(patterns.footfall)
    times = poisson_times(rng, start_ms, end_ms, per_day / 24.0 * rate, bins)
    venue_ids = venues.ids(rng.integers(0, len(venues), times.size))
    abnormal = (rng.random(times.size) < CHECKPOINT_ABNORMAL).tolist()
    iso = clock.iso_local(times).tolist()
    lines = [
        json.dumps(
            {
                "checkpoint_id": f"CK-{i + 1:08d}",
                "venue": venue_ids[i],
                "ts": iso[i],
                "result": "abnormal" if abnormal[i] else "normal",
            }
        )
        for i in range(times.size)
    ]
    return times, lines
