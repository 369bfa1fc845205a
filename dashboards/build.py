"""All dashboards of a catalog as Grafana JSON, keyed by uid, plus the provisioning files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from indicators.language.model import Indicator

from .category import category_dashboard
from .dispatch import dispatch_dashboard
from .grafana import (
    SCHEMA_VERSION,
    check_sdk_version,
    dashboards_provisioning,
    datasources_provisioning,
)
from .overview import overview
from .pipeline import pipeline_dashboard

DASHBOARDS_DIR = "dashboards"
PROVISIONING_DIR = "provisioning"


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


def build_dashboards(catalog: Iterable[Indicator], base: str = "") -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON.  `base` prefixes the links between dashboards (empty: relative
    links, right when Grafana serves them)."""
    check_sdk_version()
    by_category: dict[str, list[Indicator]] = {}
    for ind in catalog:
        by_category.setdefault(ind.category, []).append(ind)
    builders = [overview(sorted(by_category), base), dispatch_dashboard(base),
                pipeline_dashboard(base)]  # fmt: skip
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

    for uid, doc in build_dashboards(catalog).items():
        put(f"{DASHBOARDS_DIR}/{uid}.json",
            json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")  # fmt: skip
    put(f"{PROVISIONING_DIR}/datasources/citysigns.yaml",
        yaml.safe_dump(datasources_provisioning(prometheus_url), sort_keys=False))  # fmt: skip
    put(f"{PROVISIONING_DIR}/dashboards/citysigns.yaml",
        yaml.safe_dump(dashboards_provisioning(dashboards_path), sort_keys=False))  # fmt: skip
    return written
