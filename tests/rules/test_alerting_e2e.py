"""The real alerting path, end to end: the flow replays ponding-gauge readings in (sped-up)
real time -> its exporter -> Prometheus (scrapes it, evaluates the generated rules) ->
Alertmanager (routes, inhibits) -> the ticket API's webhook -> a ticket; then the water
drains away and the resolution closes the ticket.

Prometheus and Alertmanager are Debian's packages, started on 127.0.0.1 with temporary storage
and stopped by PID at the end, also when the test fails.  The flow and the ticket API run in
this process (the flow in a thread, uvicorn on a free port, a fresh SQLite store)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
import yaml

from alerts.api import create_app
from alerts.auth import TokenRegistry, TokenSpec
from alerts.rules import RulesOptions, write_rules
from alerts.rules.alertmanager_config import AlertmanagerOptions
from alerts.rules.write import dump_yaml, prometheus_config
from alerts.service import TicketService
from alerts.store import TicketStore
from citysigns.run import run
from flows import instrument
from flows.city import load_city, load_default_registry
from flows.flow import FlowConfig
from flows.metrics import CitySignsMetrics, MetricsConfig, serve
from indicators.language.validate import load_catalog_or_raise
from tests.rules.servers import free_port, require_binary, running, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURE = Path(__file__).parent / "fixtures" / "incident.yaml"
INDICATOR = "flood.ponding_test"
SPEED = 60.0  # one data minute per real second
TOKEN = "dispatcher-token-for-the-e2e-test"
T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_json(url: str, token: str | None = None) -> Any:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


class TicketApi:
    """The ticket API on a free port, served by uvicorn in a thread."""

    def __init__(self, tmp: Path) -> None:
        catalog = load_catalog_or_raise([FIXTURE])
        self.service = TicketService(TicketStore.from_url(f"sqlite:///{tmp / 'tickets.db'}"),
                                     catalog=catalog)  # fmt: skip
        tokens = TokenRegistry([TokenSpec(name="alertmanager", role="dispatcher", token=TOKEN)])
        self.port = free_port()
        config = uvicorn.Config(create_app(self.service, tokens), host="127.0.0.1",
                                port=self.port, log_level="warning")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TicketApi:
        self.thread.start()
        eventually("the ticket API", lambda: self.server.started, timeout=20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def tickets(self) -> list[dict[str, Any]]:
        return list(get_json(f"{self.url}/tickets", TOKEN)["tickets"])


@pytest.fixture
def ticket_api(tmp_path: Path) -> Iterator[TicketApi]:
    with TicketApi(tmp_path) as api:
        yield api


def ponding_readings(path: Path) -> tuple[str, str]:
    """One gauge of the demo city, one reading a minute: dry for 10 minutes, 55 cm for 12
    (an underpass floods), then 1 cm for 20.  Returns the gauge's street and district."""
    city, registry = load_city(), load_default_registry()
    row = int(registry.kind_rows("flood")[0])
    sensor = registry.ids([row])[0]
    street = str(city.level("street").code[registry.area(city, "street")[row]])
    start = 1_772_409_600  # 2026-03-02 08:00 +08:00
    depth = [3.0] * 10 + [55.0] * 12 + [1.0] * 20
    with path.open("w", encoding="utf-8") as f:
        for minute, d in enumerate(depth):
            ts = time.strftime(
                "%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(start + 8 * 3600 + 60 * minute)
            )
            f.write(json.dumps({"sensor_id": sensor, "ts": ts, "level": d}) + "\n")
    return street, street[:6]


def test_incident_raises_a_ticket_and_its_resolution_closes_it(
    tmp_path: Path, ticket_api: TicketApi
) -> None:
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager")
    catalog = load_catalog_or_raise([FIXTURE])
    readings = tmp_path / "ponding.ndjson"
    STREET, DISTRICT = ponding_readings(readings)  # noqa: N806

    # the flow's exporter, served as `citysigns run --metrics-port` does
    metrics = CitySignsMetrics.for_catalog(catalog, MetricsConfig(port=0))
    exporter = serve(metrics)
    instrument.install(metrics)
    cfg = FlowConfig((str(readings),), str(tmp_path / "flow"), catalog=(str(FIXTURE),),
                     speed=SPEED, chunk_bytes=1024)  # fmt: skip
    flow = threading.Thread(target=run, args=(cfg,), daemon=True)

    prom_port, am_port = free_port(), free_port()
    out = tmp_path / "generated"
    token_file = tmp_path / "dispatcher.token"  # as an operator deploys it: out of the config
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    write_rules(
        catalog, out, RulesOptions(grafana_url="http://127.0.0.1:3000"),
        AlertmanagerOptions(
            webhook_url=f"{ticket_api.url}/alertmanager/webhook", token_file=str(token_file),
            group_wait="1s", group_interval="1s", urgent_group_wait="1s",
        ),
        districts=[DISTRICT],
    )  # fmt: skip
    (out / "prometheus.yml").write_text(dump_yaml(prometheus_config(
        [f"127.0.0.1:{exporter.port}"], [f"127.0.0.1:{am_port}"],
        scrape_interval="1s", evaluation_interval="1s")), encoding="utf-8")  # fmt: skip

    am_url, prom_url = f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{prom_port}"
    am_log, prom_log = tmp_path / "alertmanager.log", tmp_path / "prometheus.log"
    try:
        with (
            running([alertmanager, f"--config.file={out / 'alertmanager/alertmanager.yml'}",
                     f"--storage.path={tmp_path / 'am-data'}",
                     f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                     f"--web.external-url={am_url}/"], am_log),
            running([prometheus, f"--config.file={out / 'prometheus.yml'}",
                     f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}",
                     f"--web.external-url={prom_url}/"], prom_log, cwd=out),
        ):  # fmt: skip
            wait_ready(f"{am_url}/-/ready", am_log)
            wait_ready(f"{prom_url}/-/ready", prom_log)

            def scraped() -> bool:
                q = urllib.parse.quote(f'citysigns_indicator_value{{area="{STREET}"}}')
                res = get_json(f"{prom_url}/api/v1/query?query={q}")["data"]["result"]
                return bool(res)

            flow.start()  # dry minutes first: the exporter shows the street, no ticket yet
            eventually("Prometheus to scrape the flow's exporter", scraped)
            assert ticket_api.tickets() == []
            # then the underpass floods: red and blue at once

            def red_ticket() -> dict[str, Any] | None:
                return next((t for t in ticket_api.tickets() if t["level"] == "red"), None)

            ticket = eventually("a ticket from the red alert", red_ticket)
            assert ticket["origin"] == "alert"
            assert ticket["department"] == "drainage"
            assert ticket["tier"] == "district"  # the catalog's tier for red
            assert ticket["area_code"].startswith(DISTRICT)
            assert ticket["status"] != "closed"

            # the blue alert fires too, but Alertmanager holds it back behind the red one
            def blue_inhibited() -> list[Any]:
                alerts = get_json(
                    f"{am_url}/api/v2/alerts?filter="
                    + urllib.parse.quote('alertname="FloodPondingTestBlue"')
                )
                return [a for a in alerts if a["labels"]["area"] == STREET
                        and a["status"]["inhibitedBy"]]  # fmt: skip

            blue = eventually("the blue alert to be inhibited", blue_inhibited)[0]
            assert blue["labels"]["level"] == "blue" and blue["labels"]["district"] == DISTRICT
            red_alerts = get_json(
                f"{am_url}/api/v2/alerts?filter="
                + urllib.parse.quote('alertname="FloodPondingTestRed"')
            )
            street_red = [a for a in red_alerts if a["labels"]["area"] == STREET]
            assert street_red and street_red[0]["labels"] | {"severity": "critical"} == \
                street_red[0]["labels"]  # fmt: skip
            assert street_red[0]["receivers"][0]["name"] == f"district-{DISTRICT}"
            assert not any(t["level"] == "blue" for t in ticket_api.tickets())

            # the water drains away, below the clear threshold

            def closed() -> dict[str, Any] | None:
                now = {t["id"]: t for t in ticket_api.tickets()}
                t = now.get(ticket["id"])
                return t if t and t["status"] == "closed" else None

            eventually("the resolution to close the ticket", closed, timeout=90)
            flow.join(timeout=120)
    finally:
        instrument.install(None)
        exporter.stop()
    rules = yaml.safe_load((out / "rules" / f"indicator-{INDICATOR}.rules.yml").read_text())
    assert [r["alert"] for r in rules["groups"][0]["rules"]] == [
        "FloodPondingTestBlue", "FloodPondingTestRed"]  # fmt: skip
