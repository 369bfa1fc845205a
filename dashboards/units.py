"""Catalog units -> Grafana unit ids, so a value is shown as the catalog means it (μg/m³, kPa,
dB).  Units Grafana has no id for are shown with the catalog's own spelling as a suffix:
dB(A) among them, since Grafana's "dB" would drop the A-weighting (a different quantity)."""

from __future__ import annotations

from typing import Final

GRAFANA_UNITS: Final[dict[str, str]] = {
    "ug/m3": "conμgm3",
    "mg/m3": "conmgm3",
    "kPa": "pressurekpa",
    "mm": "lengthmm",
    "m": "lengthm",
    "km/h": "velocitykmh",
    "m/s": "velocityms",
    "deg": "degree",
    "dB": "dB",
    "1": "percentunit",
    "%": "percent",
    "s": "s",
    "degC": "celsius",
    "A": "amp",
    "V": "volt",
    "kW": "kwatt",
}


def grafana_unit(unit: str) -> str:
    return GRAFANA_UNITS.get(unit, f"suffix: {unit}")
