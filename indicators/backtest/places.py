"""Where a labelled incident happened, in the city model's terms: an area code, a sensor id or
an unambiguous area name, and which warnings are about the same place.

A label's `area` is typed by hand.  Compared as text, a typo (`31O101`) or a name
(`Huangpu`) matched no episode and the label silently counted as missed; and a district's
incident was credited only to the district's own series, while its station and the city,
warning at the same time about the same incident, counted as false alarms.  Here the area is
resolved once, when the labels are read, and an episode is about the place of a label when
its area is that place, lies inside it, or contains it (`related`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from flows.city import City, SensorRegistry
from flows.city.model import LEVELS
from indicators.language.registry import closest

#: area levels from the finest; a sensor sits in a community
_AREA_LEVELS = ("community", "grid", "street", "district", "city")
_SHOWN = 3  # areas listed when a name is ambiguous


def _plain(text: str) -> str:
    """A code or id as it was probably meant: case-folded, O and l read as 0 and 1 where a
    digit is expected, numbers without their zero padding."""
    folded = text.strip().casefold()
    if sum(c.isdigit() for c in folded) >= 3:
        folded = folded.translate(str.maketrans("oil", "011"))
    return re.sub(r"\d+", lambda m: str(int(m.group())), folded)


@dataclass
class Places:
    """The city model and the sensor registry, asked about areas by code, id or name."""

    city: City
    registry: SensorRegistry
    _chains: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @cached_property
    def _codes(self) -> dict[str, tuple[str, int]]:
        """Every area code: its level and index."""
        return {
            str(code): (lvl, i)
            for lvl in _AREA_LEVELS
            for i, code in enumerate(self.city.level(lvl).code.tolist())
        }

    @cached_property
    def _names(self) -> dict[str, list[str]]:
        """Area codes by name (Chinese as written, English case-folded)."""
        out: dict[str, list[str]] = {}
        for lvl in _AREA_LEVELS:
            table = self.city.level(lvl)
            for code, zh, en in zip(
                table.code.tolist(), table.name_zh.tolist(), table.name_en.tolist(), strict=True
            ):
                for name in {str(zh), str(en).casefold()}:
                    out.setdefault(name, []).append(str(code))
        return out

    @cached_property
    def _spelled(self) -> dict[str, str]:
        """Each unambiguous name as the city model spells it, by its key in `_names`."""
        out: dict[str, str] = {}
        for lvl in _AREA_LEVELS:
            table = self.city.level(lvl)
            for zh, en in zip(table.name_zh.tolist(), table.name_en.tolist(), strict=True):
                for key, shown in ((str(zh), str(zh)), (str(en).casefold(), str(en))):
                    if len(self._names[key]) == 1:
                        out[key] = shown
        return out

    @cached_property
    def _plain(self) -> dict[str, list[str]]:
        """Area codes and sensor ids by `_plain` form."""
        out: dict[str, list[str]] = {}
        for area in [*self._codes, *self.registry.ids()]:
            out.setdefault(_plain(area), []).append(area)
        return out

    def _is_sensor(self, text: str) -> bool:
        return bool(text.isascii() and int(self.registry.lookup(np.array([text]))[0]) >= 0)

    def resolve(self, text: str) -> tuple[str | None, str]:
        """(the area's code or sensor id, "") for what a label names, or (None, why not)."""
        text = text.strip()
        if text in self._codes or self._is_sensor(text):
            return text, ""
        named = self._names.get(text) or self._names.get(text.casefold()) or []
        if len(named) == 1:
            return named[0], ""
        if named:
            shown = ", ".join(f"{c} ({self.describe(c)})" for c in named[:_SHOWN])
            more = f" and {len(named) - _SHOWN} more" if len(named) > _SHOWN else ""
            return None, (
                f"{text!r} names {len(named)} areas ({shown}{more}): write the area's code"
            )
        return None, f"{text!r} is not an area of the city model{self._suggest(text)}"

    def _suggest(self, text: str) -> str:
        """The likeliest code, sensor id or name the text misspells, as "(did you mean ...)".
        A letter typed for a digit (O for 0, l for 1) or a number's zero padding is looked
        for first: difflib ranks a code one digit away no lower than the one meant."""
        same = self._plain.get(_plain(text), [])
        if len(same) == 1:
            return f' (did you mean "{same[0]}", {self.describe(same[0])}?)'
        if any(c.isdigit() for c in text) and "-" in text:  # a sensor id
            choices: list[str] = self.registry.ids()
        elif sum(c.isdigit() for c in text) >= len(text) // 2:  # mostly digits: a code
            choices = [c for c in self._codes if len(c) == len(text)] or list(self._codes)
        else:
            choices = list(self._spelled)
        near = closest(text, choices)
        if near is None:
            return (
                "; write an area code (district 310101, street 310101001, ...), a sensor id "
                "or a district's or street's name"
            )
        if near in self._spelled:
            code = self._names[near][0]
            return f' (did you mean "{self._spelled[near]}", {code}?)'
        return f' (did you mean "{near}", {self.describe(near)}?)'

    def describe(self, area: str) -> str:
        """The area's English name with its ancestors, or what a sensor is and where."""
        if area not in self._codes:
            row = int(self.registry.lookup(np.array([area]))[0]) if area.isascii() else -1
            if row < 0:
                return area
            kind = self.registry.kinds[int(self.registry.kind[row])]
            where = self.city.full_name("community", int(self.registry.community[row]), "en")
            return f"{kind} sensor in {where}"
        lvl, i = self._codes[area]
        return self.city.full_name(lvl, i, "en")

    def chain(self, area: str) -> tuple[str, ...]:
        """The area itself and every area containing it, finest first (a sensor: its
        community, grid, street, district and the city); unknown areas: themselves only."""
        got = self._chains.get(area)
        if got is not None:
            return got
        out: list[str] = [area]
        if area in self._codes:
            lvl, i = self._codes[area]
        else:
            row = int(self.registry.lookup(np.array([area]))[0]) if area.isascii() else -1
            lvl, i = ("community", int(self.registry.community[row])) if row >= 0 else ("", -1)
        if i >= 0:
            up = self.city.ancestors(lvl, [i])
            for coarser in LEVELS[LEVELS.index(lvl) :]:
                code = str(self.city.level(coarser).code[up[coarser][0]])
                if code != area:
                    out.append(code)
        self._chains[area] = got = tuple(out)
        return got

    def related(self, label_area: str, episode_area: str) -> bool:
        """An episode is about a label's place when its area is the place, lies inside it
        (a station or a street of the labelled district) or contains it (the district's or
        the city's mean, which an incident there moves)."""
        return label_area in self.chain(episode_area) or episode_area in self.chain(label_area)
