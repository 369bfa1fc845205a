"""The categories' names for the wall.  The catalog's registry lists categories by key only
(indicators/language/registry.py CATEGORIES), and a tile reading "photo_report" means nothing
to a control-room operator; a category missing here falls back to its key."""

from __future__ import annotations

from typing import Final

CATEGORY_TITLES: Final[dict[str, tuple[str, str]]] = {
    "air": ("空气", "Air"),
    "water": ("供水", "Water"),
    "traffic": ("交通", "Traffic"),
    "flood": ("防汛", "Flooding"),
    "power": ("电力", "Power"),
    "gas": ("燃气", "Gas"),
    "noise": ("噪声", "Noise"),
    "elevator": ("电梯", "Elevators"),
    "manhole": ("井盖", "Manholes"),
    "hotline": ("12345热线", "Hotline"),
    "photo_report": ("随申拍", "Photo reports"),
    "checkpoint": ("场所核验", "Checkpoints"),
    "sensor_health": ("传感器状态", "Sensor health"),
}


def category_title(category: str) -> str:
    """'空气 Air', or the key itself for a category without names."""
    names = CATEGORY_TITLES.get(category)
    return f"{names[0]} {names[1]}" if names else category
