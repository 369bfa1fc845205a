"""The measurement vocabulary: which fields exist, their ids, and which kind may send which.

Field ids are the positions in `sensor_fields()` (sensor_kinds.yaml order, first occurrence),
so they mean the same thing in every process and every batch; the windows engine selects an
indicator's events with `batch.field == field_id(name)`.  The same name in two kinds (water
and gas both have `pressure`) is one field id: the sensor's kind tells them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from indicators.language import registry as lang_registry

# Keys a sensor record carries besides its measurements.
SENSOR_ID = "sensor_id"
TIMESTAMP = "ts"
METRIC = "metric"
VALUE = "value"


@cache
def sensor_fields() -> tuple[str, ...]:
    """Numeric (number, integer, boolean) fields of all sensor kinds; index = field id."""
    names: dict[str, None] = {}
    for spec in lang_registry.kinds().values():
        if spec.channel:
            continue
        for name, field in spec.fields.items():
            if field.numeric:
                names.setdefault(name, None)
    return tuple(names)


@cache
def field_ranges() -> tuple[np.ndarray, np.ndarray]:
    """(least, greatest) possible value of each field of `sensor_fields()` (-inf / inf where
    sensor_kinds.yaml gives none); a name two kinds share takes the wider of their ranges."""
    fields = sensor_fields()
    lo = np.full(len(fields), np.inf)
    hi = np.full(len(fields), -np.inf)
    for spec in lang_registry.kinds().values():
        if spec.channel:
            continue
        for name, field in spec.fields.items():
            if not field.numeric:
                continue
            f = fields.index(name)
            lo[f] = min(lo[f], -np.inf if field.minimum is None else field.minimum)
            hi[f] = max(hi[f], np.inf if field.maximum is None else field.maximum)
    return lo, hi


@cache
def boolean_fields() -> frozenset[str]:
    return frozenset(
        name
        for spec in lang_registry.kinds().values()
        if not spec.channel
        for name, field in spec.fields.items()
        if field.type == "boolean"
    )


@cache
def text_fields() -> frozenset[str]:
    """Sensor fields that are not numbers (e.g. an elevator's faultCode): read, not windowed."""
    return frozenset(
        name
        for spec in lang_registry.kinds().values()
        if not spec.channel
        for name, field in spec.fields.items()
        if not field.numeric
    )


def field_id(name: str) -> int:
    """Id of a numeric sensor field; ValueError with a suggestion for an unknown name."""
    fields = sensor_fields()
    try:
        return fields.index(name)
    except ValueError:
        raise ValueError(
            f"unknown sensor field {name!r}{lang_registry.did_you_mean(name, fields)}"
        ) from None


@dataclass(frozen=True)
class KindFields:
    """`allowed[k, f]`: may a sensor of kind k (registry kind index) send field f?"""

    kinds: tuple[str, ...]
    allowed: np.ndarray

    @classmethod
    def for_kinds(cls, kinds: Sequence[str]) -> KindFields:
        specs = lang_registry.kinds()
        fields = sensor_fields()
        allowed = np.zeros((len(kinds) + 1, len(fields)), dtype=bool)  # last row: unknown kind
        for k, kind in enumerate(kinds):
            spec = specs.get(kind)
            if spec is None:
                raise ValueError(
                    f"registry kind {kind!r} is not in sensor_kinds.yaml"
                    f"{lang_registry.did_you_mean(kind, list(specs))}"
                )
            for f, name in enumerate(fields):
                allowed[k, f] = name in spec.fields
        return cls(tuple(kinds), allowed)
