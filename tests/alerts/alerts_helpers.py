"""Builders shared by the alerts tests: valid indicator definitions and scored-window
batches (a module with its own name, so it never collides with other test folders)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alerts.scored import ScoredBatch
from indicators.language.model import Indicator

T0 = 1772330400  # 2026-03-01 10:00 +08:00, a Sunday


def make_indicator(**overrides: Any) -> Indicator:
    """A valid water-pressure indicator; keyword arguments replace top-level keys."""
    spec: dict[str, Any] = {
        "id": "water.pressure",
        "title": {"zh": "供水压力", "en": "Water pressure"},
        "category": "water",
        "unit": "MPa",
        "owner": "water",
        "source": {"kind": "water_supply"},
        "value": {"field": "pressure", "aggregate": "mean",
                  "window": {"length": "15m"}, "levels": ["street", "district"]},
        "detection": {
            "detectors": [{"type": "threshold", "lower": 0.14}],
            "warnings": {
                "on": "value", "direction": "below",
                "levels": {"blue": {"threshold": 0.2, "for": "30m"},
                           "yellow": {"threshold": 0.17, "for": "15m"},
                           "orange": {"threshold": 0.14, "for": "15m"},
                           "red": {"threshold": 0.1, "for": "0s"}},
                "clear": {"threshold": 0.25, "for": "30m"},
            },
        },
        "dispatch": {
            "department": "water_supply",
            "tiers": {"blue": "street", "yellow": "street", "orange": "district",
                      "red": "city"},
            "deadlines": {"blue": {"accept": "2h", "handle": "1d"},
                          "yellow": {"accept": "1h", "handle": "12h"},
                          "orange": {"accept": "30m", "handle": "6h"},
                          "red": {"accept": "15m", "handle": "4h"}},
        },
    }  # fmt: skip
    spec.update(overrides)
    return Indicator.model_validate(spec)


def surge_indicator() -> Indicator:
    """A hotline count of water-outage orders per street (the surge that corroborates)."""
    return Indicator.model_validate({
        "id": "hotline.water_outage",
        "title": {"zh": "热线停水诉求", "en": "Hotline reports of no water"},
        "category": "hotline", "unit": "orders", "owner": "water",
        "source": {"kind": "hotline", "categories": ["water_outage"]},
        "value": {"aggregate": "count", "window": {"length": "1h"}, "levels": ["street"]},
        "detection": {"detectors": [{"type": "threshold", "upper": 5}],
                      "warnings": {"on": "value",
                                   "levels": {"blue": {"threshold": 5, "for": "0s"}},
                                   "clear": {"threshold": 2, "for": "0s"}}},
        "dispatch": {"department": "water_supply", "tiers": {"blue": "street"}},
    })  # fmt: skip


def windows(
    values: Sequence[float],
    area: str = "310106001",
    indicator_id: str = "water.pressure",
    step: int = 900,
    start: int = T0,
    level: str = "street",
    lower: float = 0.28,
    upper: float = 0.35,
    counts: Sequence[int] | None = None,
) -> list[ScoredBatch]:
    """One single-row batch per window, back to back from `start` (`counts`: the records of
    each, not known when not given)."""
    out = []
    for k, v in enumerate(values):
        end = start + step * (k + 1)
        out.append(ScoredBatch.from_columns(
            indicator_id=[indicator_id], area_code=[area], area_level=[level],
            window_start=[end - step], window_end=[end], value=[v], score=[0.0],
            lower=[lower], upper=[upper], detectors="threshold",
            count=None if counts is None else [counts[k]]))  # fmt: skip
    return out


def concat(batches: Sequence[ScoredBatch]) -> ScoredBatch:
    cols: dict[str, Any] = {
        name: np.concatenate([getattr(b, name) for b in batches])
        for name in ScoredBatch.__dataclass_fields__
    }
    return ScoredBatch(**cols)


FIXTURES = Path(__file__).resolve().parent
