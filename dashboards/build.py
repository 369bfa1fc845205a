"""All dashboards of a catalog as Grafana JSON, keyed by uid, plus the provisioning files.

A rerun into the same directory removes the dashboards an earlier run wrote and this one did
not (a category whose indicators were all removed, or are no longer exported at a coarser
`--max-area-level`): copied into Grafana's provisioning folder with the others, such a
dashboard kept showing panels that could never have data again.  Only files this generator
writes go (`<uid>.json` tagged `citysigns`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from alerts.rules.indicator_alerts import exported_levels
from alerts.rules.options import RulesOptions
from indicators.language.model import Indicator

from .category import category_dashboard
from .dispatch import dispatch_dashboard
from .grafana import (
    SCHEMA_VERSION,
    TAG,
    check_sdk_version,
    dashboards_provisioning,
    datasources_provisioning,
)
from .overview import overview
from .pipeline import pipeline_dashboard

DASHBOARDS_DIR = "dashboards"
PROVISIONING_DIR = "provisioning"

log = logging.getLogger("citysigns.dashboards")


def to_json(builder: Dashboard) -> dict[str, Any]:
    model = builder.build()
    doc: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    # Panel ids must be unique within a dashboard (links and annotations refer to them); the
    # builders leave them at 0, so number them in layout order.
    for n, panel in enumerate(doc.get("panels", []), start=1):
        panel["id"] = n
    # Grafana expects both lists even when empty.
    doc.setdefault("templating", {}).setdefault("list", [])
    doc.setdefault("annotations", {}).setdefault("list", [])
    if doc.get("schemaVersion") != SCHEMA_VERSION:
        raise ValueError(
            f"dashboard {doc.get('uid')} has schemaVersion {doc.get('schemaVersion')}, "
            f"expected {SCHEMA_VERSION} (Grafana 11.6)"
        )
    return doc


def exported_by_category(
    catalog: Iterable[Indicator], options: RulesOptions | None = None
) -> tuple[dict[str, list[Indicator]], list[Indicator]]:
    """The indicators Prometheus has series of, by category, and those it has none of: all
    their area levels are finer than the exporter's max_area_level.  The same test as the
    rules generator's (which writes no alert for them), so a tile or panel that could never
    show data is not drawn."""
    o = options or RulesOptions()
    by_category: dict[str, list[Indicator]] = {}
    unexported: list[Indicator] = []
    for ind in catalog:
        if exported_levels(ind, o):
            by_category.setdefault(ind.category, []).append(ind)
        else:
            unexported.append(ind)
    return by_category, sorted(unexported, key=lambda i: i.id)


def build_dashboards(
    catalog: Iterable[Indicator], base: str = "", options: RulesOptions | None = None
) -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON.  `base` prefixes the links between dashboards (empty: relative
    links, right when Grafana serves them); `options` are those the rules are written with
    (scrape job, exported area levels, pipeline limits), so the dashboards agree with them."""
    check_sdk_version()
    o = options or RulesOptions()
    by_category, _ = exported_by_category(catalog, o)
    builders = [overview(sorted(by_category), base, o), dispatch_dashboard(base, o),
                pipeline_dashboard(base, o)]  # fmt: skip
    builders += [category_dashboard(c, inds, base) for c, inds in sorted(by_category.items())]
    out: dict[str, dict[str, Any]] = {}
    for b in builders:
        doc = to_json(b)
        uid = str(doc["uid"])
        if uid in out:
            raise ValueError(f"two dashboards share the uid {uid}")
        out[uid] = doc
    return out


def write_dashboards(
    catalog: Iterable[Indicator],
    out: Path,
    *,
    prometheus_url: str = "http://127.0.0.1:9090",
    dashboards_path: str = "/var/lib/grafana/dashboards/citysigns",
    options: RulesOptions | None = None,
) -> list[Path]:
    """OUT/dashboards/<uid>.json, OUT/provisioning/datasources/citysigns.yaml and
    OUT/provisioning/dashboards/citysigns.yaml (a file provider reading `dashboards_path`,
    where OUT/dashboards is to be copied or mounted)."""
    written: list[Path] = []

    def put(rel: str, text: str) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    for uid, doc in build_dashboards(catalog, options=options).items():
        put(f"{DASHBOARDS_DIR}/{uid}.json",
            json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")  # fmt: skip
    put(f"{PROVISIONING_DIR}/datasources/citysigns.yaml",
        yaml.safe_dump(datasources_provisioning(prometheus_url), sort_keys=False))  # fmt: skip
    put(f"{PROVISIONING_DIR}/dashboards/citysigns.yaml",
        yaml.safe_dump(dashboards_provisioning(dashboards_path), sort_keys=False))  # fmt: skip
    removed = remove_earlier_dashboards(out / DASHBOARDS_DIR, written)
    if removed:
        log.info(
            "removed %d dashboard(s) an earlier run wrote into %s that this catalog no longer "
            "generates: %s", len(removed), out / DASHBOARDS_DIR, ", ".join(p.name for p in removed)
        )  # fmt: skip
    return written


def remove_earlier_dashboards(folder: Path, written: list[Path]) -> list[Path]:
    """Delete the generated dashboards in `folder` that are not among `written` (an earlier
    run's), and return them: JSON files named after their uid and tagged `citysigns`."""
    keep = {p.resolve() for p in written}
    removed: list[Path] = []
    for path in sorted(folder.glob("*.json")):
        if path.resolve() in keep or not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue  # not one of ours
        if not isinstance(doc, dict) or doc.get("uid") != path.stem:
            continue
        if TAG not in (doc.get("tags") or []):
            continue
        path.unlink()
        removed.append(path)
    return removed
