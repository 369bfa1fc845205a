"""Real public data, replayed through the flow as if it came from the demo city's sources.

Two small slices are kept here (sources and licences in README.md beside this file):
- Beijing multi-site air quality, January-February 2017, 12 stations, hourly (UCI);
- Boston 311 requests, 2015-01-20 .. 2015-02-03, the weeks of the January 2015 blizzard.

The readings and requests are real; only their places are borrowed: each Beijing station is
replayed as one air-quality station of the demo city (one per district), and Boston's
coordinates are mapped linearly onto central Shanghai, so that the same catalog, windows and
areas apply.  Beijing keeps its real instants (its clock is Shanghai's, UTC+8).  Boston's
requests keep their local wall-clock times, stamped on the demo city's clock: a call made at
09:00 in Boston arrives at 09:00 in the city, so days are cut at Boston's midnight, the
hour-of-day profiles and the departments' working hours meet the calls at the hours they were
made, and the sentences print the times Boston saw.  The slice lies within Eastern Standard
Time (no daylight-saving change), so no local time is skipped or repeated."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np

from flows.city import SensorRegistry, load_city
from flows.output import CITY_TZ

HERE = Path(__file__).resolve().parent
BEIJING_CSV = HERE / "beijing_aq_2017JanFeb.csv.gz"
BOSTON_CSV = HERE / "boston311_2015-01-20_02-03.csv.gz"

# Beijing column -> FIWARE AirQualityObserved field, and the factor to our unit
BEIJING_FIELDS = {
    "PM2.5": ("pm25", 1.0),
    "PM10": ("pm10", 1.0),
    "SO2": ("so2", 1.0),
    "NO2": ("no2", 1.0),
    "CO": ("co", 0.001),  # the data set gives ug/m3; our registry says mg/m3
    "O3": ("o3", 1.0),
}

# Boston's request TYPE -> hotline category (indicators/registry/hotline_categories.yaml)
BOSTON_TYPES = {
    "Street Light Outages": "street_lights",
    "General Lighting Request": "street_lights",
    "Pothole Repair (Internal)": "road_damage",
    "Sidewalk Repair": "road_damage",
    "Sidewalk Repair (Make Safe)": "road_damage",
    "Misc. Snow Complaint": "snow_ice",
    "Request for Snow Plowing (Emergency Responder)": "snow_ice",
    "Request for Snow Plowing": "snow_ice",
    "Space Savers": "snow_ice",
    "Unshoveled Sidewalk": "snow_ice",
    "PWD Graffiti": "graffiti",
    "Graffiti Removal": "graffiti",
    "Empty Litter Basket": "sanitation",
    "Rodent Activity": "sanitation",
    "Pick up Dead Animal": "sanitation",
    "Improper Storage of Trash (Barrels)": "sanitation",
    "Heat - Excessive  Insufficient": "heating",
    "Traffic Signal Repair": "traffic_signal",
    "Building Inspection Request": "illegal_construction",
    "Contractor Complaints": "illegal_construction",
    "Unsafe Dangerous Conditions": "road_damage",
    "Catchbasin": "flooding",
    "Water in Basement": "flooding",
}
BOSTON_BOX = (42.23, 42.40, -71.19, -70.99)  # lat min/max, lon min/max
SHANGHAI_BOX = (31.15, 31.32, 121.38, 121.56)


def beijing_station_sensors(registry: SensorRegistry) -> dict[str, str]:
    """Each Beijing station -> an air-quality sensor of the demo city, one per district."""
    with gzip.open(BEIJING_CSV, "rt", newline="") as f:
        stations = sorted({row["station"] for row in csv.DictReader(f)})
    city = load_city()
    rows = registry.kind_rows("air_quality")
    district = registry.area(city, "district")[rows]
    chosen: list[int] = []
    for d in np.unique(district):
        chosen.append(int(rows[np.flatnonzero(district == d)[0]]))
    if len(chosen) < len(stations):
        raise ValueError("the registry has air-quality sensors in too few districts")
    ids = registry.ids(chosen[: len(stations)])
    return dict(zip(stations, ids, strict=True))


def beijing_records(registry: SensorRegistry) -> Iterator[dict[str, object]]:
    """FIWARE-style sensor readings, one per station and hour; missing values are omitted."""
    sensor_of = beijing_station_sensors(registry)
    with gzip.open(BEIJING_CSV, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    # the file lists one station after another; a live feed interleaves them in time
    rows.sort(key=lambda r: (int(r["month"]), int(r["day"]), int(r["hour"]), r["station"]))
    for row in rows:
        ts = (
            f"{int(row['year']):04d}-{int(row['month']):02d}-{int(row['day']):02d}"
            f"T{int(row['hour']):02d}:00:00+08:00"
        )
        rec: dict[str, object] = {"sensor_id": sensor_of[row["station"]], "ts": ts}
        for col, (name, factor) in BEIJING_FIELDS.items():
            if row[col] not in ("", "NA"):
                rec[name] = round(float(row[col]) * factor, 6)
        if len(rec) > 2:
            yield rec


def _map(value: float, src: tuple[float, float], dst: tuple[float, float]) -> float:
    return dst[0] + (value - src[0]) * (dst[1] - dst[0]) / (src[1] - src[0])


def boston_records() -> Iterator[dict[str, object]]:
    """Open311-shaped hotline orders in opening order, placed on the demo city."""
    with gzip.open(BOSTON_CSV, "rt", newline="") as f:
        for row in csv.DictReader(f):
            opened = datetime.strptime(row["OPEN_DT"], "%m/%d/%Y %I:%M:%S %p")
            rec: dict[str, object] = {
                "service_request_id": f"BOS-{row['CASE_ENQUIRY_ID']}",
                "service_code": BOSTON_TYPES.get(row["TYPE"], "other"),
                "description": f"{row['TYPE']} ({row['REASON']})",
                "requested_datetime": opened.replace(tzinfo=CITY_TZ).isoformat(),
                "channel": row["Source"],
            }
            try:
                lat, lon = float(row["LATITUDE"]), float(row["LONGITUDE"])
            except ValueError:
                lat = lon = float("nan")
            box = BOSTON_BOX
            if box[0] <= lat <= box[1] and box[2] <= lon <= box[3]:
                rec["lat"] = round(_map(lat, box[:2], SHANGHAI_BOX[:2]), 6)
                rec["long"] = round(_map(lon, box[2:], SHANGHAI_BOX[2:]), 6)
            yield rec


def write_ndjson(records: Iterator[dict[str, object]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, allow_nan=False))
            f.write("\n")
            n += 1
    return n
