"""Upload the generated dashboards to a running Grafana with grafana-client: make sure the
citysigns folder exists, then save every dashboard into it, overwriting the previous version
(the uids are stable, so a push replaces rather than duplicates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from .grafana import FOLDER_TITLE, FOLDER_UID


@dataclass
class PushResult:
    folder_created: bool = False
    dashboards: list[str] = field(default_factory=list)  # uids saved


class PushError(Exception):
    """Grafana refused something; the message says what and how to fix it."""


def ensure_folder(api: GrafanaApi) -> bool:
    """True when the folder had to be created."""
    try:
        api.folder.get_folder(FOLDER_UID)
        return False
    except GrafanaClientError as e:
        if e.status_code != 404:
            raise
    api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
    return True


def push_dashboards(
    dashboards: Mapping[str, Mapping[str, Any]], url: str, token: str, timeout: float = 10.0
) -> PushResult:
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    result = PushResult()
    try:
        result.folder_created = ensure_folder(api)
        for uid, doc in dashboards.items():
            body = dict(doc)
            body.pop("id", None)  # Grafana matches on uid; a stale numeric id would conflict
            api.dashboard.update_dashboard(
                {
                    "dashboard": body,
                    "folderUid": FOLDER_UID,
                    "overwrite": True,
                    "message": "citysigns dashboards push",
                }
            )
            result.dashboards.append(uid)
    except GrafanaClientError as e:
        hint = " (check the token: it needs the Editor role)" if e.status_code in (401, 403) else ""
        raise PushError(f"Grafana at {url} refused: {e.status_code} {e.message}{hint}") from e
    return result
