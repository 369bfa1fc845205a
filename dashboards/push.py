"""Upload the generated dashboards to a running Grafana with grafana-client: make sure the
citysigns folder exists, then save every dashboard into it, overwriting the previous version
(the uids are stable, so a push replaces rather than duplicates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaServerError

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
    except GrafanaServerError as e:  # Grafana failing, or a proxy or another server answering
        raise PushError(
            f"Grafana at {url} failed with HTTP {e.status_code}{_server_said(e.response)}: "
            "check that Grafana is up and that --url points at it"
        ) from e
    except GrafanaException as e:  # the client's wrapping of a transport error or a timeout
        raise PushError(f"cannot reach Grafana at {url}: {e.message}") from e
    return result


def _server_said(response: object) -> str:
    """The start of an error body worth showing: Grafana's JSON message, or a line of text
    (a proxy's HTML page is cut, not printed whole)."""
    if isinstance(response, dict) and response.get("message"):
        return f" ({response['message']})"
    text = " ".join(str(response or "").split())
    return f" ({text[:80]}…)" if len(text) > 80 else f" ({text})" if text else ""
