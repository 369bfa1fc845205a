"""Warning levels and dispatch tiers as ordered scales.

China's Emergency Response Law (art. 42) orders the levels blue (IV) < yellow (III) < orange (II)
< red (I).  Arrays in the state machine hold a level as its index in `LEVELS` (-1 = none), so
"escalate" is simply a larger number."""

from __future__ import annotations

from typing import Final

LEVELS: Final[tuple[str, ...]] = ("blue", "yellow", "orange", "red")
NO_LEVEL: Final[int] = -1

LEVEL_NAMES_ZH: Final[dict[str, str]] = {
    "blue": "蓝色预警", "yellow": "黄色预警", "orange": "橙色预警", "red": "红色预警",
}  # fmt: skip

# Dispatch tiers from the finest unit to city coordination; supervision moves a ticket one up.
TIERS: Final[tuple[str, ...]] = ("community", "grid", "street", "district", "city")
TIER_NAMES_ZH: Final[dict[str, str]] = {
    "community": "社区", "grid": "网格", "street": "街镇", "district": "区", "city": "市",
}  # fmt: skip


def level_index(level: str) -> int:
    """Position of `level` in LEVELS; raises ValueError naming the valid levels."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown warning level {level!r}; expected one of {LEVELS}") from None


def higher_level(a: str | None, b: str | None) -> str | None:
    """The more severe of two levels (None counts as below blue)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if level_index(a) >= level_index(b) else b


def tier_index(tier: str) -> int:
    try:
        return TIERS.index(tier)
    except ValueError:
        raise ValueError(f"unknown dispatch tier {tier!r}; expected one of {TIERS}") from None


def tier_above(tier: str) -> str:
    """The next tier up (city stays city: there is nobody above city coordination)."""
    i = tier_index(tier)
    return TIERS[min(i + 1, len(TIERS) - 1)]


def coarser_tier(a: str, b: str) -> str:
    return a if tier_index(a) >= tier_index(b) else b
