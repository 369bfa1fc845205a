"""No planted personal data in any output.

Distinctive phone numbers (in seven notations), identity-card numbers, names, e-mail
addresses and messaging handles are planted in a day of the simulated city's inputs: in the
hotline's caller fields and free text (the caller's own name repeated in the description, or
a name and WeChat and QQ ids that only the text gives), in photo reports, checkpoint checks and
sensor readings, in good records and in broken ones.  Then the whole path runs for real: the
Bytewax flow with a Prometheus exporter, the dispatch replay into a SQLite ticket store (with
its audit log), the ticket API over that store, the Grafana dashboards, with every log record
captured to a file.  The scanner (flows/privacy_scan.py) reads every output file: nothing.
It finds every planted value in the inputs, so "nothing" means something."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from alerts.api import create_app
from alerts.areas import CityAreaNames
from alerts.auth import TokenRegistry, TokenSpec
from alerts.clock import ManualClock
from alerts.demo import DepartmentScript, drive, print_ticket_table
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from alerts.warning_state import WarningStateMachine
from citysigns.demo import hotline_orders, scored_batches
from citysigns.paths import CATALOG_DIR
from citysigns.run import run, start_metrics
from dashboards.build import write_dashboards
from flows import instrument
from flows.city import load_city, load_default_registry
from flows.flow import FlowConfig
from flows.privacy_scan import Planted, Scanner
from flows.simulator.simulate import write_demo_inputs
from indicators.language.validate import load_catalog_or_raise

PHONES = (
    "13987650123",
    "139-8765-0124",
    "+86 139 8765 0125",
    "0086 13987650126",
    "021-62345671",
    "(+86)139 876 50127",  # grouped 3-3-5
    "+44 20 7946 0958",  # international
    "617 594 0572",  # North American, spaced, a name between it and "call"
)
IDS = (
    "31010619850317241X",
    "110101199003071236",
    "310106850317241",
    "320102 19880512 4327",
    "6217 0000 1000 1234 569",  # bank cards, typed in groups, only in free text
    "4111-1111-1111-1111",
)
# the first four are declared in name fields; the others only appear in free text, where
# the text marks them ("我叫...", "my name is ...", "患者...", "MR. ...", "我姓...", "resident
# ... called", "This is ... calling", "TENANT ... STATES")
NAMES = (
    "欧阳明远",
    "司马青衫",
    "上官婉清",
    "Zhuge Kongming",
    "司徒振宇",
    "Reginald Featherstone",
    "慕容秋水",  # after 患者
    "钟离子墨",  # after 网格员
    "诸葛",  # a surname given alone: 我姓诸葛
    "MCGILLICUDDY",  # in capitals after MR.
    "barnaby quill",  # in lower case after "my name is"
    "van der Wijngaarden",  # with the particles of a surname
    "O'Shaughnessy",
    "Cornelius Blackwood",  # after a role, doing something
    "Peregrine Whitlock",  # introducing himself
    "KATHLEEN ABERNATHY",  # in capitals after a role
)
EMAILS = ("ouyang.mingyuan@example.com", "sima_qs@example.org")
# a WeChat id and a QQ number, and the same under their slang words (加V, 扣扣)
HANDLES = ("situ_zhenyu88", "246813579", "liuyun_2024", "975310864")
PLANTED = Planted(PHONES, IDS, NAMES, EMAILS, HANDLES)


def _plant_hotline(path: Path) -> int:
    """Every third order gets a caller (name, phone, ID card) who also appears in the text."""
    out = []
    planted = 0
    for k, line in enumerate(path.read_text("utf-8").splitlines()):
        try:
            rec = json.loads(line)
        except ValueError:
            out.append(line)  # the simulator's own broken lines stay as they are
            continue
        if k % 3 == 0:
            name, phone, idn = NAMES[k % 4], PHONES[k % 7], IDS[k % 4]
            email = EMAILS[k % 2]
            rec.update(
                {
                    "name": name,
                    "caller_name": name,
                    "contact": NAMES[(k + 1) % 4],
                    "phone": phone,
                    "id_card": idn,
                    "email": email,
                }
            )
            rec["description"] = (
                f"{name}反映：{rec.get('description', '')}，"
                f"请回电{phone}，身份证{idn}，邮箱 {email}，{name}在家等"
            )
            planted += 1
        elif k % 3 == 1:  # no name field: the name and handles are only in the text
            rec["description"] = (
                f"{rec.get('description', '')}。我叫{NAMES[4]}，微信：{HANDLES[0]}，"
                f"QQ {HANDLES[1]}; my name is {NAMES[5]}。患者{NAMES[6]}，网格员{NAMES[7]}已到场，"
                f"我姓{NAMES[8]}，加V {HANDLES[2]}，扣扣 {HANDLES[3]}; SPOKE TO MR. {NAMES[9]}; "
                f"my name is {NAMES[10]}, Ms. {NAMES[11]} and Mr. {NAMES[12]} called; "
                f"resident {NAMES[13]} called. This is {NAMES[14]} calling, please call "
                f"Mr. {NAMES[12]} at {PHONES[7]}; TENANT {NAMES[15]} STATES NO HEAT; "
                f"补贴打到银行卡 {IDS[4]} 未到账; paid with {IDS[5]} at the meter"
            )
        line = json.dumps(rec, ensure_ascii=False)
        if k % 97 == 0:  # and some broken orders carrying all of it
            line = line[: max(20, len(line) - 15)]
        out.append(line)
    path.write_text("\n".join(out) + "\n", "utf-8")
    return planted


def _plant_others(files: dict[str, Path]) -> None:
    def rewrite(path: Path, change: object) -> None:
        lines = path.read_text("utf-8").splitlines()
        out = []
        for k, line in enumerate(lines):
            try:
                rec = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            if k % 5 == 0:
                change(rec, k)  # type: ignore[operator]
            out.append(json.dumps(rec, ensure_ascii=False))
        path.write_text("\n".join(out) + "\n", "utf-8")

    def photo(rec: dict[str, object], k: int) -> None:
        rec["reporter"] = NAMES[k % 4]
        rec["description"] = f"{NAMES[k % 4]}拍照：{rec.get('description', '')} {PHONES[k % 7]}"

    def check(rec: dict[str, object], k: int) -> None:
        rec.update({"person_name": NAMES[k % 4], "id_number": IDS[k % 4], "phone": PHONES[k % 7],
                    "email": EMAILS[k % 2]})  # fmt: skip

    def sensor(rec: dict[str, object], k: int) -> None:
        if k % 50 == 0:  # an unknown key: the reading becomes a dead letter, masked
            rec["note"] = f"维护人 {NAMES[k % 4]} {PHONES[k % 7]} {IDS[k % 4]} {EMAILS[k % 2]}"
        rec["name"] = NAMES[k % 4]

    rewrite(files["photo_reports"], photo)
    rewrite(files["checkpoints"], check)
    rewrite(files["sensors"], sensor)
    with files["sensors"].open("a", encoding="utf-8") as f:  # a broken reading, too
        f.write(
            '{"sensor_id": "AQ-1", "name": "'
            + NAMES[0]
            + '", "note": "'
            + PHONES[2]
            + IDS[0]
            + "\n"
        )


@pytest.fixture
def all_logs(tmp_path: Path) -> Iterator[Path]:
    """Every log record of every logger, at every level, into one file."""
    path = tmp_path / "out" / "logs" / "all.log"
    path.parent.mkdir(parents=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _dispatch(run_dir: Path, hotline: Path, db: Path) -> None:
    """`citysigns demo`'s dispatch replay (citysigns/demo.py: the orders read and masked from
    the raw hotline file, warnings from the scored windows, departments that act), with
    deadlines judged every hour of data time instead of every 5 minutes, to stay quick."""
    city = load_city()
    registry = load_default_registry()
    catalog = load_catalog_or_raise([CATALOG_DIR])

    def locate(code: str) -> str | None:
        row = int(registry.lookup([code])[0])
        return None if row < 0 else str(city.level("community").code[registry.community[row]])

    batches = scored_batches(run_dir / "scored.ndjson")
    orders = hotline_orders(hotline, city)
    clock = ManualClock(min(int(b.window_start.min()) for b in batches))
    service = TicketService(
        TicketStore.from_url(f"sqlite:///{db}"),
        router=Router(load_routing(None)),
        catalog=catalog.indicators,
        clock=clock,
        locate=locate,
    )
    machine = WarningStateMachine(catalog.indicators, CityAreaNames(city))
    result = drive(batches, orders, clock, service, machine, DepartmentScript(), tick=3600)
    assert result.count("created") > 100
    text = io.StringIO()
    every = service.list_tickets(TicketFilter(limit=100_000))
    shown = [t for t in every if t.warning_count > 0] + every[:100]  # incidents + orders
    print_ticket_table(shown, Console(file=text, width=200))
    (run_dir / "console.txt").write_text(text.getvalue(), "utf-8")
    service.store.dispose()


def test_no_planted_personal_data_in_any_output(tmp_path: Path, all_logs: Path) -> None:
    inputs = tmp_path / "inputs"
    sim = write_demo_inputs(inputs, days=1)
    files = {k: Path(v) for k, v in sim.files.items()}
    assert _plant_hotline(files["hotline"]) > 300
    _plant_others(files)
    scanner = Scanner(PLANTED)
    _n, in_inputs = scanner.scan_tree(inputs)
    kinds_in = {(f.kind, f.hint) for f in in_inputs}
    assert len(kinds_in) == len(PHONES) + len(IDS) + len(NAMES) + len(EMAILS) + len(HANDLES), (
        kinds_in
    )  # all

    out = tmp_path / "out"
    # 1. the flow, with the Prometheus exporter running
    cfg = FlowConfig(
        tuple(str(p) for p in files.values() if p.stat().st_size),
        str(out),
        chunk_bytes=1 << 20,
        write_scored=True,
    )
    _metrics, server = start_metrics(cfg, 0)
    try:
        summary = run(cfg)
        with urllib.request.urlopen(server.url, timeout=30) as resp:
            (out / "metrics.txt").write_bytes(resp.read())
    finally:
        server.stop()
        instrument.install(None)
    assert summary.windows > 1000 and sum(summary.dead_letters.values()) > 10
    # 2. dispatch: warnings and hotline orders -> tickets, audit log in the store
    db = out / "tickets.db"
    _dispatch(out, files["hotline"], db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from tickets").fetchone()[0] > 100
        assert conn.execute("select count(*) from audit").fetchone()[0] > 100
        assert conn.execute("select count(*) from ticket_orders").fetchone()[0] > 100
    # 3. the ticket API over that store: lists, details with orders and audit, Open311
    store = TicketStore.from_url(f"sqlite:///{db}")
    service = TicketService(
        store,
        router=Router(load_routing()),
        catalog=load_catalog_or_raise([CATALOG_DIR]).indicators,
    )
    viewer = TokenSpec(name="viewer", role="read-only", token="pii-scan-viewer-token")
    api_dir = out / "api"
    api_dir.mkdir()
    with TestClient(create_app(service, TokenRegistry([viewer]))) as client:
        h = {"Authorization": "Bearer pii-scan-viewer-token"}
        listed = client.get("/tickets", params={"limit": 1000}, headers=h).json()
        (api_dir / "tickets.json").write_text(json.dumps(listed, ensure_ascii=False), "utf-8")
        for t in listed["tickets"][:300]:
            detail = client.get(f"/tickets/{t['id']}", headers=h)
            assert detail.status_code == 200
            (api_dir / f"{t['id']}.json").write_text(detail.text, "utf-8")
        o311 = client.get("/open311/v2/requests.json", headers=h)
        (api_dir / "open311.json").write_text(o311.text, "utf-8")
    store.dispose()
    # 4. the dashboards
    write_dashboards(list(load_catalog_or_raise([CATALOG_DIR])), out / "grafana")

    logging.getLogger("citysigns.pii-scan").info("outputs written")  # the log file is live
    n_files, findings = scanner.scan_tree(out)
    names = {p.relative_to(out).parts[0] for p in out.rglob("*") if p.is_file()}
    assert {
        "windows.ndjson",
        "dead_letters.ndjson",
        "warnings.ndjson",
        "orders.ndjson",
        "scored.ndjson",
        "metrics.txt",
        "tickets.db",
        "console.txt",
        "api",
        "grafana",
        "logs",
    } <= names
    assert n_files > 300
    assert all_logs.stat().st_size > 0
    assert findings == [], "\n".join(map(str, findings))


def test_the_scanner_finds_every_form() -> None:
    """A leak written in any of the forms a program produces is found, and the report does not
    repeat the value."""
    s = Scanner(PLANTED)
    for text in [
        '{"d": "\\u6b27\\u9633\\u660e\\u8fdc"}',  # JSON-escaped name
        "caller=%E6%AC%A7%E9%98%B3%E6%98%8E%E8%BF%9C",  # percent-encoded
        "tel 139 8765 0123.",
        "tel (139) 8765-0123",
        "１３９８７６５０１２３",
        "id 310106 19850317 241x",
        'label{who="Zhuge Kongming"} 1',
        "mail: ouyang.mingyuan@example.com",
    ]:
        found = s.scan_text(text, "t")
        assert found, text
        assert all(PHONES[0] not in str(f) and NAMES[0] not in str(f) for f in found)
    assert s.scan_text("ticket 12345-2026-000001 at 2026-03-01T14:05:00+08:00 <phone>", "t") == []


def test_the_scanner_reads_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (v text)")
        conn.execute("insert into t values (?)", (f"回电 {PHONES[1]} {NAMES[1]}",))
    found = Scanner(PLANTED).scan_file(db)
    assert {f.kind for f in found} == {"phone", "name"}
