"""Stable Grafana dashboard uids and the links that point at them.

Alerts link to dashboards and dashboards link to each other, so the uids live in one place.
They are derived from catalog words, never from titles, so renaming a title keeps links alive."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

OVERVIEW_UID: Final = "citysigns-overview"
DISPATCH_UID: Final = "citysigns-dispatch"
PIPELINE_UID: Final = "citysigns-pipeline"
MAX_UID_LENGTH: Final = 40  # Grafana's limit


def category_uid(category: str) -> str:
    uid = f"citysigns-{category}"
    if len(uid) > MAX_UID_LENGTH:
        raise ValueError(f"category {category!r} gives a dashboard uid over 40 characters")
    return uid


def dashboard_url(base: str, uid: str, **variables: str) -> str:
    """`{base}/d/{uid}` with `var-NAME=VALUE` parameters; values may be alert templates
    (`{{ $labels.district }}`), which are left readable rather than percent-encoded."""
    url = f"{base.rstrip('/')}/d/{uid}"
    if variables:
        url += "?" + "&".join(
            f"var-{name}={value if '{{' in value else quote(value)}"
            for name, value in variables.items()
        )
    return url


def runbook_anchor(indicator_id: str) -> str:
    """The anchor of an indicator's section in the generated runbooks.md."""
    return indicator_id.replace(".", "-").replace("_", "-")
