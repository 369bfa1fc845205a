"""`citysigns dashboards push` against a local HTTP server standing in for Grafana's HTTP API
(no Grafana can be installed here): the right calls, in the right order, with the token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dashboards.cli import app as dashboards_app
from dashboards.grafana import FOLDER_UID
from dashboards.push import PushError, push_dashboards

TOKEN = "glsa_test_token_0123456789"


class FakeGrafana(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[tuple[str, str, str | None, Any]] = []  # method, path, auth, body
        self.folders: set[str] = set()
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.refuse_with: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        self.server.calls.append((self.command, self.path, self.headers.get("Authorization"),
                                  body))  # fmt: skip
        return body

    def _proxy_error(self, status: int) -> None:
        """What a reverse proxy in front of a Grafana that is down answers: an HTML page."""
        data = f"<html><body><h1>{status} Bad Gateway</h1><hr>nginx</body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record()
        if self.server.refuse_with and self.server.refuse_with >= 500:
            self._proxy_error(self.server.refuse_with)
        elif self.server.refuse_with:
            self._reply(self.server.refuse_with, {"message": "Permission denied"})
        elif self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.server.folders:
                self._reply(200, {"uid": uid, "title": uid})
            else:
                self._reply(404, {"message": "folder not found"})
        else:
            self._reply(404, {"message": "not found"})

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/api/folders":
            self.server.folders.add(body["uid"])
            self._reply(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            if body.get("folderUid") not in self.server.folders:
                self._reply(400, {"message": "folder not found"})
                return
            uid = body["dashboard"]["uid"]
            self.server.dashboards[uid] = body
            self._reply(200, {"status": "success", "uid": uid, "version": 1})
        else:
            self._reply(404, {"message": "not found"})


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


BOARDS: dict[str, dict[str, Any]] = {
    "citysigns-overview": {"uid": "citysigns-overview", "id": 7, "title": "o", "panels": []},
    "citysigns-air": {"uid": "citysigns-air", "title": "a", "panels": []},
}


def test_push_creates_the_folder_once_and_saves_every_dashboard(grafana: FakeGrafana) -> None:
    first = push_dashboards(BOARDS, grafana.url, TOKEN)
    assert first.folder_created and first.dashboards == list(BOARDS)
    assert [(m, p) for m, p, _, _ in grafana.calls] == [
        ("GET", f"/api/folders/{FOLDER_UID}"),
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
    ]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth, _ in grafana.calls)
    saved = grafana.dashboards["citysigns-overview"]
    assert saved["overwrite"] is True and saved["folderUid"] == FOLDER_UID
    assert "id" not in saved["dashboard"]  # matched by uid, never by a stale numeric id
    grafana.calls.clear()
    second = push_dashboards(BOARDS, grafana.url, TOKEN)
    assert not second.folder_created
    assert [(m, p) for m, p, _, _ in grafana.calls][:2] == [
        ("GET", f"/api/folders/{FOLDER_UID}"), ("POST", "/api/dashboards/db")]  # fmt: skip


def test_a_refusal_says_what_to_fix(grafana: FakeGrafana) -> None:
    grafana.refuse_with = 403
    with pytest.raises(PushError, match=r"403.*Editor role"):
        push_dashboards(BOARDS, grafana.url, "wrong")


def test_cli_push_uploads_the_generated_dashboards(grafana: FakeGrafana) -> None:
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    done = CliRunner().invoke(root, ["dashboards", "push", "--url", grafana.url, "--token", TOKEN])
    assert done.exit_code == 0, done.output
    assert "folder created" in done.output
    assert "citysigns-overview" in grafana.dashboards and "citysigns-dispatch" in grafana.dashboards
    assert grafana.dashboards["citysigns-overview"]["dashboard"]["schemaVersion"] == 41
    unreachable = CliRunner().invoke(
        root, ["dashboards", "push", "--url", "http://127.0.0.1:9", "--token", TOKEN]
    )
    assert unreachable.exit_code == 1
    assert "error:" in unreachable.output


def test_cli_push_to_a_failing_server_says_so(grafana: FakeGrafana) -> None:
    """A 5xx (a proxy's 502 while Grafana is down) is a message and exit 1, not a traceback."""
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    grafana.refuse_with = 502
    done = CliRunner().invoke(root, ["dashboards", "push", "--url", grafana.url, "--token", TOKEN])
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
    assert f"error: Grafana at {grafana.url} failed with HTTP 502" in done.output
    assert "check that Grafana is up" in done.output and "Traceback" not in done.output


def test_cli_push_refuses_a_url_that_is_not_http(grafana: FakeGrafana) -> None:
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    done = CliRunner().invoke(root, ["dashboards", "push", "--url", "not-a-url", "--token", TOKEN])
    assert done.exit_code == 2, done.output
    assert "--url 'not-a-url' is not an http:// or https:// URL" in done.output


def test_cli_push_builds_with_the_job_and_area_level_given(grafana: FakeGrafana) -> None:
    """`push` built the dashboards with the defaults whatever it was given: before `push`,
    --job and --max-area-level were dropped silently, so a deployment exporting districts
    only, scraped as job `city`, got noise and gas dashboards that could never show data and
    pipeline tiles reading `up{job="citysigns"}`, "flow down" for ever."""
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    push = ["push", "--url", grafana.url, "--token", TOKEN]
    for args in (
        ["dashboards", "--job", "city", "--max-area-level", "district", *push],
        ["dashboards", *push, "--job", "city", "--max-area-level", "district"],
    ):
        grafana.dashboards.clear()
        done = CliRunner().invoke(root, args)
        assert done.exit_code == 0, done.output
        assert "citysigns-noise" not in grafana.dashboards  # street and finer only
        assert "citysigns-air" in grafana.dashboards
        overview = json.dumps(grafana.dashboards["citysigns-overview"])
        assert 'up{job=\\"city\\"}' in overview and 'job=\\"citysigns\\"' not in overview
    bad = CliRunner().invoke(root, ["dashboards", *push, "--max-area-level", "block"])
    assert bad.exit_code == 2
    assert "max_area_level 'block' is not an area level" in bad.output


def test_cli_push_builds_from_the_catalog_given_before_it(grafana: FakeGrafana) -> None:
    """`citysigns dashboards --catalog mine/ push ...` pushed the packaged catalog's
    dashboards (noise, traffic, ... that the deployment has no data for), as --job and
    --max-area-level were once dropped there: the catalog given before `push` holds too."""
    root = typer.Typer()
    root.add_typer(dashboards_app, name="dashboards")
    small = str(Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small")
    push = ["push", "--url", grafana.url, "--token", TOKEN]
    for args in (
        ["dashboards", "--catalog", small, *push],
        ["dashboards", *push, "--catalog", small],
    ):
        grafana.dashboards.clear()
        done = CliRunner().invoke(root, args)
        assert done.exit_code == 0, done.output
        assert "citysigns-air" in grafana.dashboards
        assert "citysigns-noise" not in grafana.dashboards
