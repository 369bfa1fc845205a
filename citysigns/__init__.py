"""citysigns: a real-time city-sign monitoring stream processor."""

__version__ = "0.1.0"
