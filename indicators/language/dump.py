"""Indicators back to YAML: the canonical spelling of a definition (durations as "15m", no
defaults repeated), used by tests to prove load -> validate -> dump -> load is lossless."""

from __future__ import annotations

from typing import Any

import yaml

from .model import Indicator


def indicator_to_data(ind: Indicator) -> dict[str, Any]:
    """Defaults are left out: besides being noise, the default dispatch tiers name every level,
    and tiers written for a level the indicator never raises are refused by the checker."""
    return ind.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def catalog_to_yaml(indicators: list[Indicator]) -> str:
    doc = {"version": 1, "indicators": [indicator_to_data(i) for i in indicators]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
