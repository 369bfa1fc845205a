"""Area codes, their ancestors at a tier, and their names for people.

Codes are hierarchical (GB/T 2260 districts plus three digits per level below): the city is
"310000", a district 6 digits ("310106" 静安区), a street 9, a grid 12, a community 15.  So the
ancestor at a tier is a prefix, and "does this unit cover that area" is a prefix test: no
lookups on the hot path and no dependency on the city model.  Sensor ids embed their district
("AQ-310106-000123"); `area_digits` finds the code inside such an id.

Names come through the small `AreaNames` protocol so that the city model (flows/city) can
supply them in production and a dict can in tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Protocol

from .levels import TIERS, tier_index

TIER_DIGITS: Final[dict[str, int]] = {
    "city": 2, "district": 6, "street": 9, "grid": 12, "community": 15,
}  # fmt: skip
_DIGIT_RUN = re.compile(r"\d{6,15}")
_LENGTH_TIER: Final[dict[int, str]] = {6: "district", 9: "street", 12: "grid", 15: "community"}


def area_digits(code: str) -> str:
    """The hierarchical digits in an area code or a sensor id ("" when there are none)."""
    if code.isdigit():
        return code
    runs = [r for r in _DIGIT_RUN.findall(code) if len(r) in _LENGTH_TIER]
    return max(runs, key=len) if runs else ""


def tier_of_code(code: str) -> str | None:
    """The tier an area code belongs to by its length ("310000" is the city), or None."""
    digits = area_digits(code)
    if not digits:
        return None
    if len(digits) == 6 and digits.endswith("0000"):
        return "city"
    return _LENGTH_TIER.get(len(digits))


def ancestor_at(code: str, tier: str) -> str:
    """The code of the unit at `tier` that covers `code`.

    When the area is already coarser than the tier (a district-wide warning routed to a street
    tier) the area itself is returned: nobody finer than the area can own it."""
    tier_index(tier)  # validates
    digits = area_digits(code)
    if not digits:
        return code
    if tier == "city":
        return digits[:2] + "0000"
    own = tier_of_code(digits)
    if own is not None and tier_index(own) >= tier_index(tier):
        return digits
    return digits[: TIER_DIGITS[tier]]


def effective_tier(code: str, tier: str) -> str:
    """`tier`, or the area's own tier when the area is coarser than it."""
    own = tier_of_code(code)
    if own is None or tier_index(own) <= tier_index(tier):
        return tier
    return own


def covers(unit_code: str, area_code: str) -> bool:
    """Whether the unit with `unit_code` is responsible for `area_code` (prefix relation)."""
    unit = area_digits(unit_code) or unit_code
    area = area_digits(area_code) or area_code
    if unit.endswith("0000") and len(unit) == 6:  # the city covers all of its districts
        return area.startswith(unit[:2])
    return area.startswith(unit)


def related(a: str, b: str) -> bool:
    """Either area contains the other: a street warning and a district warning of the same
    place belong to one incident."""
    return covers(a, b) or covers(b, a)


def common_area(a: str, b: str) -> str:
    """The finest area containing both (their longest common prefix at a tier boundary)."""
    da, db = area_digits(a) or a, area_digits(b) or b
    n = 0
    while n < min(len(da), len(db)) and da[n] == db[n]:
        n += 1
    for tier in ("community", "grid", "street", "district"):
        size = TIER_DIGITS[tier]
        if n >= size and len(da) >= size and len(db) >= size:
            return da[:size]
    return da[:2] + "0000" if len(da) >= 2 else da


def ancestors(code: str) -> list[str]:
    """The codes of every unit that covers `code`, itself included, coarsest first
    ("310106003" -> ["310000", "310106", "310106003"])."""
    digits = area_digits(code)
    if not digits:
        return [code]
    own = tier_of_code(digits)
    out = [digits[:2] + "0000"] if own != "city" else []
    out += [digits[:n] for t, n in TIER_DIGITS.items()
            if t != "city" and n <= len(digits)]  # fmt: skip
    if code != digits:
        out.append(code)
    return out


def in_scope(scope: str, area_code: str) -> bool:
    """Token scopes: "*" is everything, otherwise an area code prefix."""
    return scope == "*" or covers(scope, area_code)


class AreaNames(Protocol):
    """Chinese and English name of an area code, or None when unknown."""

    def names(self, code: str) -> tuple[str, str] | None: ...


class DictAreaNames:
    """AreaNames over a plain mapping code -> (zh, en)."""

    def __init__(self, names: Mapping[str, tuple[str, str]]) -> None:
        self._names = dict(names)

    def names(self, code: str) -> tuple[str, str] | None:
        return self._names.get(code)


class NoAreaNames:
    """AreaNames that knows nothing: labels fall back to the codes themselves."""

    def names(self, code: str) -> tuple[str, str] | None:
        return None


class CityAreaNames:
    """AreaNames over the city model (flows.city: `find(code) -> (level, index)` and
    `level(name)` tables with `name_zh`/`name_en`), duck-typed so that this package does not
    import the flows layer above it."""

    def __init__(self, city: Any) -> None:
        self._city = city

    def names(self, code: str) -> tuple[str, str] | None:
        try:
            level, idx = self._city.find(code)
        except (ValueError, KeyError):
            return None
        table = self._city.level(level)
        return str(table.name_zh[idx]), str(table.name_en[idx])


def area_label(code: str, names: AreaNames) -> tuple[str, str]:
    """(zh, en) labels with the ancestors below the city: "静安区 南京西路街道" and
    "Jing'an, Nanjing West Road".  Unknown parts show as their codes."""
    digits = area_digits(code)
    parts: list[str] = []
    if digits and tier_of_code(digits) == "city":
        parts = [digits]
    elif digits:
        parts = [digits[:n] for t, n in TIER_DIGITS.items() if t != "city" and n <= len(digits)]
    if code != digits:
        parts.append(code)  # a sensor: its own id after the area it sits in
    zh: list[str] = []
    en: list[str] = []
    for part in parts or [code]:
        found = names.names(part)
        zh.append(found[0] if found else part)
        en.append(found[1] if found else part)
    return " ".join(zh), ", ".join(en)


__all__ = [
    "TIERS",
    "AreaNames",
    "CityAreaNames",
    "DictAreaNames",
    "NoAreaNames",
    "ancestor_at",
    "ancestors",
    "area_digits",
    "area_label",
    "common_area",
    "covers",
    "effective_tier",
    "in_scope",
    "related",
    "tier_of_code",
]
