"""The city model (city -> district -> street -> grid -> community), the sensor registry and
the venue registry.  Load with `load_city()`, `load_default_registry()`,
`load_default_venues()`; all three are cached per process."""

from .model import LEVELS, City, LevelTable, load_city
from .registry import (
    DEFAULT_MIX,
    SENSOR_KIND_PREFIX,
    RegistryError,
    SensorRegistry,
    generate_registry,
    load_default_registry,
    load_registry,
    sensor_kinds,
)
from .venues import VenueRegistry, generate_venues, load_default_venues

__all__ = [
    "DEFAULT_MIX",
    "LEVELS",
    "SENSOR_KIND_PREFIX",
    "City",
    "LevelTable",
    "RegistryError",
    "SensorRegistry",
    "VenueRegistry",
    "generate_registry",
    "generate_venues",
    "load_city",
    "load_default_registry",
    "load_default_venues",
    "load_registry",
    "sensor_kinds",
]
