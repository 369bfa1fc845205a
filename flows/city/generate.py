"""Build the city model's CSV files from shanghai.yaml, deterministically.

Run `python -m flows.city.generate` after changing shanghai.yaml (or the generator) to rewrite
the files next to this module; a test rebuilds them in memory and fails if the committed files
differ, so the data can never drift from its recipe.

Every level file has the same columns: code, name_zh, name_en, lat, lon.  A code's parent is the
code without its last three digits (a district's parent is the city), so the hierarchy needs no
column of its own.  The default sensor registry (sensors_default.csv.gz) is generated from the
same city with a fixed seed."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .geo import from_plane, push_apart, spread_in_disc, to_plane

SOURCE_FILE = "shanghai.yaml"
LEVEL_FILES: dict[str, str] = {
    "district": "districts.csv",
    "street": "streets.csv",
    "grid": "grids.csv",
    "community": "communities.csv",
}
COLUMNS = ("code", "name_zh", "name_en", "lat", "lon")
DEFAULT_REGISTRY_FILE = "sensors_default.csv.gz"
DEFAULT_REGISTRY_SIZE = 6000
DEFAULT_REGISTRY_SEED = 20260301
# Closest two community centres may be; real ones are a few hundred metres apart.
MIN_COMMUNITY_KM = 0.08


@dataclass(frozen=True)
class Area:
    code: str
    name_zh: str
    name_en: str
    x_km: float
    y_km: float


def read_source() -> dict[str, Any]:
    text = resources.files("flows.city").joinpath(SOURCE_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "districts" not in data:
        raise ValueError(f"{SOURCE_FILE}: expected a mapping with a 'districts' list")
    return data


def _inclusive(spec: Any, what: str) -> tuple[int, int]:
    low, high = (int(v) for v in spec)
    if not 1 <= low <= high <= 999:
        raise ValueError(f"{SOURCE_FILE}: generator.{what} must be [low, high] within 1..999")
    return low, high


def build_areas(source: dict[str, Any]) -> dict[str, list[Area]]:
    """All areas of the four generated levels, in code order."""
    gen = source["generator"]
    seed = int(gen["seed"])
    grids_range = _inclusive(gen["grids_per_street"], "grids_per_street")
    comms_range = _inclusive(gen["communities_per_grid"], "communities_per_grid")
    out: dict[str, list[Area]] = {level: [] for level in LEVEL_FILES}
    for d in sorted(source["districts"], key=lambda d: str(d["code"])):
        code = str(d["code"])
        rng = np.random.default_rng([seed, int(code)])
        lat, lon = (float(v) for v in d["centre"])
        centre = to_plane(lat, lon)
        radius = math.sqrt(float(d["area_km2"]) / math.pi)
        out["district"].append(Area(code, d["zh"], d["en"], *map(float, centre)))
        n_streets = int(d["streets"])
        named = [tuple(pair) for pair in d.get("named", [])]
        if len(named) > n_streets or n_streets > 999:
            raise ValueError(f"{SOURCE_FILE}: district {code} names more streets than it has")
        street_xy = centre + spread_in_disc(n_streets, radius, rng)
        street_r = radius / math.sqrt(n_streets)
        for s in range(n_streets):
            zh, en = (
                named[s]
                if s < len(named)
                else (f"{d['zh']}第{s + 1}街道", f"{d['en']} Street {s + 1}")
            )
            s_code = f"{code}{s + 1:03d}"
            out["street"].append(Area(s_code, str(zh), str(en), *map(float, street_xy[s])))
            n_grids = int(rng.integers(grids_range[0], grids_range[1] + 1))
            grid_xy = street_xy[s] + spread_in_disc(n_grids, street_r, rng)
            grid_r = street_r / math.sqrt(n_grids)
            for g in range(n_grids):
                g_code = f"{s_code}{g + 1:03d}"
                out["grid"].append(
                    Area(g_code, f"第{g + 1}网格", f"Grid {g + 1}", *map(float, grid_xy[g]))
                )
                n_comms = int(rng.integers(comms_range[0], comms_range[1] + 1))
                comm_xy = grid_xy[g] + spread_in_disc(n_comms, grid_r, rng)
                for c in range(n_comms):
                    out["community"].append(
                        Area(
                            f"{g_code}{c + 1:03d}",
                            f"第{c + 1}社区",
                            f"Community {c + 1}",
                            *map(float, comm_xy[c]),
                        )
                    )
    comms = out["community"]
    relaxed = push_apart(np.array([(a.x_km, a.y_km) for a in comms]), MIN_COMMUNITY_KM)
    out["community"] = [
        Area(a.code, a.name_zh, a.name_en, float(x), float(y))
        for a, (x, y) in zip(comms, relaxed, strict=True)
    ]
    return out


def render_csv(areas: list[Area]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    xy = np.array([(a.x_km, a.y_km) for a in areas], dtype=np.float64).reshape(-1, 2)
    lat, lon = from_plane(xy)
    for a, la, lo in zip(areas, lat, lon, strict=True):
        writer.writerow((a.code, a.name_zh, a.name_en, f"{la:.5f}", f"{lo:.5f}"))
    return buf.getvalue()


def render_level_files(source: dict[str, Any] | None = None) -> dict[str, str]:
    """File name -> CSV text for the four generated levels."""
    areas = build_areas(source if source is not None else read_source())
    return {LEVEL_FILES[level]: render_csv(rows) for level, rows in areas.items()}


def render_default_registry(level_files: dict[str, str]) -> str:
    """The default registry's CSV text, generated on the city described by `level_files`."""
    from .model import City
    from .registry import generate_registry

    city = City.from_texts(read_source()["city"], level_files)
    registry = generate_registry(city, DEFAULT_REGISTRY_SIZE, seed=DEFAULT_REGISTRY_SEED)
    return registry.to_csv_text(city)


def write_all(directory: Path) -> list[Path]:
    level_files = render_level_files()
    written = []
    for name, text in level_files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    path = directory / DEFAULT_REGISTRY_FILE
    data = render_default_registry(level_files).encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)  # mtime=0: the same content gives the same bytes
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent,
        help="directory to write into (default: the package itself)",
    )
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
