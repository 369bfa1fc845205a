"""`citysigns dispatch`: a real flow's warnings into the ticket store, once or followed as they
are appended; idempotent on a second reading; damaged lines skipped with their place; hotline
orders masked before they become tickets."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from typer.testing import CliRunner

from alerts import feed as feed_module
from alerts.clock import EventClock
from alerts.events import WarningEvent
from alerts.feed import Feed, LineFollower, OrderHold, follow
from alerts.hotline import HotlineOrder
from alerts.routing import Router, load_routing
from alerts.service import TicketService
from alerts.store import TicketFilter, TicketStore
from alerts.warning_state import WarningStateMachine
from citysigns.cli import app
from citysigns.run import run
from flows.city import load_city, load_default_registry
from flows.flow import FlowConfig
from flows.realdata import beijing_records, write_ndjson
from indicators.language.validate import load_catalog_or_raise
from tests.alerts.conftest import PgServer

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "small"
CLI = CliRunner()
EVERY = TicketFilter(limit=1_000_000)
TICK = 300  # the dispatch command's default
T0_ORDERS = 1772420400  # 2026-03-02 11:00 +08:00


@pytest.fixture(scope="module")
def warnings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten days of real Beijing readings through the flow and the small catalog."""
    work = tmp_path_factory.mktemp("feed")
    inputs = work / "beijing.ndjson"
    write_ndjson(itertools.islice(beijing_records(load_default_registry()), 12 * 24 * 10), inputs)
    run(FlowConfig((str(inputs),), str(work / "out"), catalog=(str(SMALL),)))
    path = work / "out" / "warnings.ndjson"
    assert sum(1 for _ in path.open()) > 50
    return path


def service_at(db: Path | str, clock: EventClock | None = None) -> TicketService:
    """The service over a SQLite file, or a store's URL."""
    city = load_city()
    return TicketService(
        TicketStore.from_url(db if isinstance(db, str) else f"sqlite:///{db}"),
        router=Router(load_routing(None)),
        catalog=load_catalog_or_raise([SMALL]).indicators,
        clock=clock,
        locate=load_default_registry().locator(city),
    )


def ticket_rows(db: Path | str) -> list[tuple[object, ...]]:
    service = service_at(db)
    rows = sorted(
        (t.id, t.incident_key, t.department, t.level, t.status, t.warning_count,
         t.firing_count, t.opened_at, t.last_signal_at, len(service.audit(t.id)))
        for t in service.list_tickets(EVERY)
    )  # fmt: skip
    service.store.dispose()
    return rows


def audit_trail(db: Path | str) -> list[tuple[str, int, str]]:
    """(ticket, time, action) of every audit entry, in the order written (a SQLite file, or
    a store's URL)."""
    store = TicketStore.from_url(db if isinstance(db, str) else f"sqlite:///{db}")
    with store.begin() as conn:
        query = text("select ticket_id, at, action from audit order by id")
        rows = [(str(t), int(at), str(a)) for t, at, a in conn.execute(query)]
    store.dispose()
    return rows


def applied_keys(db: Path) -> int:
    """Event keys the store recorded as applied: one per event, however often it was read."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from applied_keys").fetchone()[0])


def dispatch(*args: str) -> str:
    result = CLI.invoke(app, ["dispatch", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_flow_s_warnings_become_tickets_once(warnings_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "tickets.db"
    base = ["--warnings", str(warnings_file), "--db", f"sqlite:///{db}", "-c", str(SMALL)]
    first = dispatch(*base, "--data-time")
    # the same events applied in process, each at its own time, give the same tickets
    events = [WarningEvent.from_dict(json.loads(line)) for line in warnings_file.open()]
    clock = EventClock()
    reference = service_at(tmp_path / "reference.db", clock)
    # deadlines judged every TICK s of data time, on multiples of TICK since the epoch
    next_tick = (min(e.at for e in events) // TICK + 1) * TICK
    for at, group in itertools.groupby(sorted(events, key=lambda e: e.at), key=lambda e: e.at):
        while next_tick <= at:
            clock.set(next_tick)
            reference.tick(next_tick)
            next_tick += TICK
        clock.set(at)
        reference.submit_warnings(list(group))
    reference.store.dispose()
    rows = ticket_rows(db)
    assert rows == ticket_rows(tmp_path / "reference.db")
    assert sum(r[5] for r in rows) > 50  # warnings merged into their incidents
    assert f"created {len(rows):,}" in first
    # read again from the start: nothing applied twice
    again = dispatch(*base, "--data-time")
    assert f"already-applied {len(events):,}" in again and "created" not in again
    assert ticket_rows(db) == rows


def test_a_position_directory_skips_what_was_applied(warnings_file: Path, tmp_path: Path) -> None:
    lines = warnings_file.read_bytes().splitlines(keepends=True)
    feed_file = tmp_path / "warnings.ndjson"
    feed_file.write_bytes(b"".join(lines[:30]))
    base = ["--warnings", str(feed_file), "--db", f"sqlite:///{tmp_path / 't.db'}",
            "-c", str(SMALL), "--position", str(tmp_path / "pos")]  # fmt: skip
    dispatch(*base)
    assert (tmp_path / "pos" / "warnings.pos").read_text().split() == [
        str(len(b"".join(lines[:30])))
    ]
    assert "nothing new" in dispatch(*base)
    with feed_file.open("ab") as f:
        f.write(b"".join(lines[30:40]))
    out = dispatch(*base)
    assert "already-applied" not in out  # only the ten new lines were read


def test_a_data_time_dispatcher_killed_mid_batch_resumes_at_the_items_own_time(
    warnings_file: Path, tmp_path: Path
) -> None:
    """A dispatcher killed (SIGKILL) while applying a batch leaves it in its outbox journal;
    the restart applied those items first, with the data-time clock still at 0: their tickets
    opened in 1970, the next tick supervised them at once, and their deadlines were long past.
    Killed and restarted with --position and --outbox, it must give the tickets of a run
    that was never killed, audit entries and deadline judgements included."""
    # in time order, so that a file cut at a line is what a dispatcher that ran through
    # had applied by then (one read sorts what it reads; the flow's file is in window order)
    lines = sorted(warnings_file.read_bytes().splitlines(keepends=True),
                   key=lambda line: int(json.loads(line)["at"]))  # fmt: skip
    events = [WarningEvent.from_dict(json.loads(line)) for line in lines]
    whole = tmp_path / "whole.ndjson"
    whole.write_bytes(b"".join(lines))
    through = tmp_path / "through.db"
    dispatch("--warnings", str(whole), "--db", f"sqlite:///{through}", "-c", str(SMALL),
             "--data-time")  # fmt: skip
    rows = ticket_rows(through)
    # the kill: the lines before `cut` applied and their position saved; the events of the
    # next moment, which open a ticket, in the journal (written before the store applies
    # them), not yet applied
    opened = {r[7] for r in rows}
    cut = max(i for i, e in enumerate(events)
              if e.at in opened and (i == 0 or e.at > events[i - 1].at))  # fmt: skip
    batch = [e for e in events[cut:] if e.at == events[cut].at]
    feed_file = tmp_path / "warnings.ndjson"
    feed_file.write_bytes(b"".join(lines[:cut]))
    db, journal = tmp_path / "t.db", tmp_path / "outbox"
    base = ["--warnings", str(feed_file), "--db", f"sqlite:///{db}", "-c", str(SMALL),
            "--data-time", "--position", str(tmp_path / "pos"),
            "--outbox", str(journal)]  # fmt: skip
    dispatch(*base)
    with journal.open("a", encoding="utf-8") as f:
        for e in batch:
            payload = {"event": e.to_dict(), "dispatch": None, "origin": "warning",
                       "actor": "system"}  # fmt: skip
            f.write(json.dumps({"op": "put", "key": "w:" + e.event_key, "kind": "warning",
                                "payload": payload}) + "\n")  # fmt: skip
    feed_file.write_bytes(b"".join(lines))  # the flow wrote on meanwhile
    dispatch(*base)
    resumed = ticket_rows(db)
    assert min(r[7] for r in resumed) >= events[0].at  # opened_at: none in 1970
    assert resumed == rows
    assert audit_trail(db) == audit_trail(through)
    assert applied_keys(db) == applied_keys(through) == len(events)


def test_a_data_time_dispatcher_restarted_mid_file_judges_deadlines_as_one_that_ran_through(
    warnings_file: Path, tmp_path: Path
) -> None:
    """Restarted with --position after the files' first half, a data-time dispatcher began
    judging deadlines `tick` after the first item it read: the deadlines that fell between
    the last item of the first run and that one were judged late, and its supervisions came
    at other moments than those of a dispatcher that ran through.  (A tick of 7 minutes:
    the windows are hourly, and 5 would put every restart on the same grid.)"""
    lines = sorted(warnings_file.read_bytes().splitlines(keepends=True),
                   key=lambda line: int(json.loads(line)["at"]))  # fmt: skip
    ats = [int(json.loads(line)["at"]) for line in lines]
    whole = tmp_path / "whole.ndjson"
    whole.write_bytes(b"".join(lines))
    through = tmp_path / "through.db"
    dispatch("--warnings", str(whole), "--db", f"sqlite:///{through}", "-c", str(SMALL),
             "--data-time", "--tick", "420")  # fmt: skip
    with sqlite3.connect(through) as conn:
        judged = [at for (at,) in conn.execute("select at from audit where action = 'supervised'")]
    # the restart's first line comes after a supervision that fell between two lines
    cut = max(i for i in range(1, len(ats)) if any(ats[i - 1] < at < ats[i] for at in judged))
    feed_file = tmp_path / "warnings.ndjson"
    feed_file.write_bytes(b"".join(lines[:cut]))
    db = tmp_path / "t.db"
    base = ["--warnings", str(feed_file), "--db", f"sqlite:///{db}", "-c", str(SMALL),
            "--data-time", "--tick", "420", "--position", str(tmp_path / "pos")]  # fmt: skip
    dispatch(*base)
    feed_file.write_bytes(b"".join(lines))
    dispatch(*base)
    assert ticket_rows(db) == ticket_rows(through)
    assert audit_trail(db) == audit_trail(through)  # supervised at the same moments


@pytest.mark.integration
def test_a_data_time_dispatcher_outlives_a_store_outage(
    warnings_file: Path,
    tmp_path: Path,
    pg_server: PgServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL stopped while a data-time dispatcher read stopped it with a traceback (the
    deadlines' query is no write: nothing caught its OperationalError).  Now the events wait
    in the outbox, the run ends with exit status 1 saying how many and where they are kept,
    and the run started again once the store is back gives the tickets and the audit trail
    of a run without the outage, each event at its own time."""
    lines = sorted(warnings_file.read_bytes().splitlines(keepends=True),
                   key=lambda line: int(json.loads(line)["at"]))  # fmt: skip
    whole = tmp_path / "whole.ndjson"
    whole.write_bytes(b"".join(lines))
    through = tmp_path / "through.db"
    dispatch("--warnings", str(whole), "--db", f"sqlite:///{through}", "-c", str(SMALL),
             "--data-time")  # fmt: skip
    journal = tmp_path / "outbox"
    args = ["dispatch", "--warnings", str(whole), "--db", pg_url, "-c", str(SMALL),
            "--data-time", "--outbox", str(journal)]  # fmt: skip
    submit = TicketService.submit_warnings
    calls = itertools.count()

    def outage_after_a_few(self: TicketService, *a: Any, **kw: Any) -> Any:
        if next(calls) == 10:
            pg_server.stop()
        return submit(self, *a, **kw)

    monkeypatch.setattr(TicketService, "submit_warnings", outage_after_a_few)
    try:
        down = CLI.invoke(app, args)
    finally:
        pg_server.start()
    monkeypatch.undo()
    assert down.exit_code == 1 and isinstance(down.exception, SystemExit), down.output
    assert "warnings and orders not applied: ticket store unavailable" in down.output
    assert f"kept in {journal}" in down.output
    dispatch(*args[1:])
    assert ticket_rows(pg_url) == ticket_rows(through)
    assert audit_trail(pg_url) == audit_trail(through)


def test_damaged_lines_are_skipped_with_their_place(
    warnings_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = warnings_file.read_bytes().splitlines(keepends=True)[:5]
    damaged = tmp_path / "warnings.ndjson"
    damaged.write_bytes(b"".join([lines[0], b'{"kind": "firing"\n', lines[1], b'{"a": 1}\n']))
    with caplog.at_level(logging.WARNING, logger="alerts.feed"):
        out = dispatch("--warnings", str(damaged), "--db", f"sqlite:///{tmp_path / 't.db'}",
                       "-c", str(SMALL))  # fmt: skip
    assert "lines skipped: 1 not JSON, 1 not a warning event" in out
    assert applied_keys(tmp_path / "t.db") == 2  # the good lines
    places = [r.getMessage() for r in caplog.records]
    assert f"{damaged}:2: skipped, not JSON" in places
    assert f"{damaged}:4: skipped, not a warning event" in places


def test_following_applies_lines_as_they_are_appended(warnings_file: Path, tmp_path: Path) -> None:
    """Half the file, then a line cut in the middle of its writing (not read until its end
    comes), then the rest: every event applied once, in the order written."""
    data = warnings_file.read_bytes()
    lines = data.splitlines(keepends=True)
    half = len(lines) // 2
    live = tmp_path / "warnings.ndjson"
    live.write_bytes(b"".join(lines[:half]) + lines[half][:20])
    clock = EventClock()
    service = service_at(tmp_path / "t.db", clock)
    feed = Feed(service, LineFollower(live), set_clock=clock.set)
    stop = threading.Event()
    worker = threading.Thread(target=follow, args=(feed, stop, 0.05))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while feed.warnings.offset < len(b"".join(lines[:half])):
            assert time.monotonic() < deadline, "the first half was not applied"
            time.sleep(0.02)
        assert feed.warnings.line_no == half  # the cut line waits for its end
        with live.open("ab") as f:
            f.write(lines[half][20:] + b"".join(lines[half + 1 :]))
    finally:
        stop.set()
        worker.join(30)
    service.store.dispose()
    assert feed.counts.outcomes["already-applied"] == 0
    assert applied_keys(tmp_path / "t.db") == len(lines)


def test_hotline_orders_become_tickets_without_personal_data(tmp_path: Path) -> None:
    phone = "13812345678"
    records = [
        {"service_request_id": f"SR-{i}", "service_code": "noise_complaint",
         "requested_datetime": f"2026-03-02T10:0{i}:00+08:00", "lat": 31.2304, "long": 121.4737,
         "description": f"工地夜间施工噪音, 联系 {phone}"}
        for i in range(3)
    ]  # fmt: skip
    orders = tmp_path / "hotline.ndjson"
    orders.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    empty = tmp_path / "warnings.ndjson"
    empty.write_text("")
    db = tmp_path / "t.db"
    out = dispatch("--warnings", str(empty), "--orders", str(orders), "--db", f"sqlite:///{db}")
    assert "created" in out
    service = service_at(db)
    tickets = service.list_tickets(EVERY)
    assert tickets
    stored = json.dumps([dataclasses.asdict(t) for t in tickets], default=str, ensure_ascii=False)
    assert phone not in stored and "1381" not in stored
    service.store.dispose()


def test_a_file_cut_back_by_the_flow_s_restart_is_read_on_from_its_new_end(
    tmp_path: Path,
) -> None:
    """A resumed flow cuts its output back to its last snapshot and writes the lines after
    it again: those are read again (the store ignores them); line numbers stay the file's."""
    path = tmp_path / "warnings.ndjson"
    path.write_bytes(b"a\nb\nc\nd\n")
    tail = LineFollower(path, tmp_path / "pos")
    assert tail.read() == [(1, b"a"), (2, b"b"), (3, b"c"), (4, b"d")]
    tail.commit()
    with path.open("r+b") as f:  # back to the snapshot after "b"
        f.truncate(4)
    assert tail.read() == []
    with path.open("ab") as f:  # "c" and "d" again, then on
        f.write(b"c\nd\ne\n")
    assert tail.read() == [(3, b"c"), (4, b"d"), (5, b"e")]
    tail.commit()
    with path.open("ab") as f:
        f.write(b"f\n")
    resumed = LineFollower(path, tmp_path / "pos")  # a restart of the dispatcher
    assert resumed.read() == [(6, b"f")]


def test_a_store_that_refuses_writes_holds_the_position_back(
    warnings_file: Path, tmp_path: Path
) -> None:
    """While the store refuses writes (another connection holds it locked) the events wait
    in the memory outbox and the position stays: a crash then would read them again rather
    than lose them.  Once the store takes them, the position moves on."""
    lines = warnings_file.read_bytes().splitlines(keepends=True)[:20]
    path = tmp_path / "warnings.ndjson"
    path.write_bytes(b"".join(lines))
    db = tmp_path / "t.db"
    service = service_at(db)
    feed = Feed(service, LineFollower(path, tmp_path / "warnings.pos"))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert feed.step() == 20
        assert feed.counts.outcomes["queued"] == 20 and service.pending() == 20
        assert not (tmp_path / "warnings.pos").exists()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert feed.step() == 0  # nothing new in the file; the queue goes in
    assert service.pending() == 0 and applied_keys(db) == 20
    assert (tmp_path / "warnings.pos").read_text().split() == [str(path.stat().st_size)]
    service.store.dispose()


def scrape(port: int) -> dict[str, float]:
    """The dispatcher's samples of an exporter (store, outbox, held orders), {} while it is
    not up yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode("utf-8")
    except OSError:
        return {}
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(
            ("citysigns_ticket_store", "citysigns_ticket_outbox", "citysigns_dispatch")
        )
    }


def wait_for(port: int, want: dict[str, float], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        got = scrape(port)
        if got and all(got.get(k) == v for k, v in want.items()):
            return
        assert time.monotonic() < deadline, f"exporter shows {got}, expected {want}"
        time.sleep(0.1)


def test_the_following_dispatcher_exports_the_store_s_health(
    warnings_file: Path, tmp_path: Path
) -> None:
    """`citysigns dispatch --follow --metrics-port`: the store refusing writes shows as
    ticket_store_up 0 and a backlog in the outbox (what CitySignsTicketStoreDown watches),
    the store back as 1 and 0; SIGTERM ends it with its summary."""
    db = tmp_path / "t.db"
    service_at(db).store.dispose()  # the schema exists before the store is locked
    live = tmp_path / "warnings.ndjson"
    live.write_bytes(b"")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "citysigns.cli", "dispatch", "--warnings", str(live),
         "--db", f"sqlite:///{db}", "-c", str(SMALL), "--follow", "--poll", "0.05",
         "--metrics-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        up = "citysigns_ticket_store_up"
        pending = "citysigns_ticket_outbox_pending"
        wait_for(port, {up: 1.0, pending: 0.0})
        blocker.execute("BEGIN EXCLUSIVE")
        live.write_bytes(b"".join(warnings_file.read_bytes().splitlines(keepends=True)[:20]))
        wait_for(port, {up: 0.0, pending: 20.0})
        blocker.execute("ROLLBACK")
        wait_for(port, {up: 1.0, pending: 0.0})
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        blocker.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "queued 20" in out and applied_keys(db) == 20


def test_a_line_longer_than_a_read_is_skipped_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A line with no end within a whole read (a foreign or damaged file) would otherwise
    hold the reader for ever; it is skipped with its place and the lines after it are read."""
    monkeypatch.setattr(feed_module, "READ_BYTES", 16)
    path = tmp_path / "warnings.ndjson"
    path.write_bytes(b"ok1\n" + b"x" * 40 + b"\nok2\n")
    tail = LineFollower(path)
    got: list[tuple[int, bytes]] = []
    with caplog.at_level(logging.WARNING, logger="alerts.feed"):
        for _ in range(10):
            got += tail.read()
    assert got == [(1, b"ok1"), (3, b"ok2")]
    assert f"{path}:2: skipped, a line of more than 16 bytes" in caplog.messages


def test_the_flow_s_orders_file_gives_the_tickets_of_the_raw_records(tmp_path: Path) -> None:
    """The flow writes the hotline's orders as decoding made them (masked, placed) to
    OUT/orders.ndjson; dispatching that file gives the same tickets as dispatching the raw
    records, and no personal data reaches the file."""
    communities = load_city().level("community")
    phone, name = "13912345678", "王小明"
    codes = ["noise_complaint", "road_damage", "illegal_construction", "water_outage"]
    records: list[dict[str, object]] = []
    for i in range(40):
        c = (i * 37) % len(communities.code)
        records.append({
            "service_request_id": f"12345-2026-{i:06d}", "service_code": codes[i % 4],
            "description": f"第{i}号 夜里有噪音, 请回电 {phone}",
            "requested_datetime": f"2026-03-02T{8 + i // 10:02d}:{i % 10 * 5:02d}:00+08:00",
            "lat": float(communities.lat[c]) + (0.0001 if i % 7 == 0 else 0.0),
            "long": float(communities.lon[c]), "channel": "phone", "phone": phone, "name": name,
        })  # fmt: skip
    records[5]["service_code"] = None  # no category: not an order to dispatch
    raw = tmp_path / "hotline.ndjson"
    raw.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    run(FlowConfig((str(raw),), str(tmp_path / "out")))
    orders = tmp_path / "out" / "orders.ndjson"
    text = orders.read_text("utf-8")
    assert len(text.splitlines()) == 39
    assert phone not in text and name not in text
    empty = tmp_path / "warnings.ndjson"
    empty.write_text("")
    for source, db in ((raw, "raw.db"), (orders, "flow.db")):
        dispatch("--warnings", str(empty), "--orders", str(source),
                 "--db", f"sqlite:///{tmp_path / db}", "--data-time")  # fmt: skip
    rows = ticket_rows(tmp_path / "flow.db")
    assert len(rows) >= 10 and rows == ticket_rows(tmp_path / "raw.db")


def test_one_read_of_both_files_corroborates_in_time_order(tmp_path: Path) -> None:
    """Orders and warnings read together go in the order they happened.  Submitted all
    orders first, the five water-outage orders below, called in after the street's pressure
    warning fired, each opened a ticket of their own instead of corroborating the incident
    (the demo city's files read at once: 2,593 tickets, 0 corroborated; in time order 2,272
    and 332, as a replay in data time gives).  The orders carry only their community's code,
    as the flow writes it for an order placed without coordinates: the dispatcher masked that
    15-digit code as an identity number, and such an order was nowhere."""
    from tests.alerts.alerts_helpers import T0, make_indicator
    from tests.alerts.test_alerts_demo import replay

    machine = WarningStateMachine([make_indicator()])
    events = [e for batch in replay() for e in machine.process(batch)]
    fired = min(e.at for e in events if e.area_code == "310106003")
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    orders = [
        HotlineOrder(f"o{i}", "water_outage", fired + 60 * (i + 1), None, None,
                     "310106003001001")
        for i in range(5)
    ]  # fmt: skip
    assert all(o.ts > T0 for o in orders)
    orders_file = tmp_path / "orders.ndjson"
    orders_file.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in orders))
    catalog = tmp_path / "water.yaml"  # the indicator the warnings came from
    spec = make_indicator().model_dump(mode="json", by_alias=True, exclude_none=True)
    catalog.write_text(yaml.safe_dump({"version": 1, "indicators": [spec]}, allow_unicode=True))
    db = tmp_path / "t.db"
    out = dispatch("--warnings", str(warnings), "--orders", str(orders_file),
                   "--db", f"sqlite:///{db}", "-c", str(catalog))  # fmt: skip
    assert "corroborated 5" in out
    service = service_at(db)
    tickets = service.list_tickets(EVERY)
    (incident,) = [t for t in tickets if t.incident_unit == "310106003"]
    assert incident.order_count == 5
    assert not [t for t in tickets if t.origin != "warning"]
    service.store.dispose()


def test_a_file_that_is_not_there_is_an_error_unless_followed(tmp_path: Path) -> None:
    """A mistyped path used to read as an empty file: "nothing new", exit 0, every order
    dropped without a word.  Followed, the file may not be written yet: said, then waited."""
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_text("")
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}"]
    for args in (
        ["--warnings", str(tmp_path / "warnings.ndjsn")],
        ["--warnings", str(warnings), "--orders", str(tmp_path / "nope.ndjson")],
    ):
        result = CLI.invoke(app, ["dispatch", *args, *db])
        assert result.exit_code == 2 and "no such file" in result.output, result.output
    dispatch("--warnings", str(warnings), *db)  # an empty file is fine


def test_raw_hotline_records_get_the_flow_s_checks(tmp_path: Path) -> None:
    """Raw records went to the tickets as they came: an unknown category, a latitude of 300,
    an order without an id (stored as order "None", so every such order was one).  They go
    through the flow's decoder now, refused with its reasons at their lines."""
    good = {"service_request_id": "SR-1", "service_code": "noise_complaint",
            "requested_datetime": "2026-03-02T10:00:00+08:00", "lat": 31.2304,
            "long": 121.4737, "description": "工地夜间施工噪音"}  # fmt: skip
    bad = [
        {**good, "service_request_id": "SR-2", "service_code": "张三丰"},
        {**good, "service_request_id": "SR-3", "lat": 300.0},
        {**good, "service_request_id": None},
        {**good, "service_request_id": "SR-4", "requested_datetime": "2026-03-02 10:00"},
    ]
    orders = tmp_path / "hotline.ndjson"
    orders.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [good, *bad]))
    empty = tmp_path / "warnings.ndjson"
    empty.write_text("")
    db = tmp_path / "t.db"
    out = dispatch("--warnings", str(empty), "--orders", str(orders), "--db", f"sqlite:///{db}")
    assert "dispatch: created 1\n" in out
    for reason in ("unknown_category", "bad_value", "missing_field", "no_timezone"):
        assert f"refused: {reason}" in out, out
    service = service_at(db)
    assert [t.description for t in service.list_tickets(EVERY)] == ["工地夜间施工噪音"]
    service.store.dispose()


def water_incident(tmp_path: Path) -> tuple[list[WarningEvent], list[HotlineOrder], Path]:
    """The water-pressure warnings of test_one_read_of_both_files_corroborates_in_time_order,
    five water-outage orders called in after the street's warning fired, and the catalog
    file of the indicator the warnings came from."""
    from tests.alerts.alerts_helpers import make_indicator
    from tests.alerts.test_alerts_demo import replay

    machine = WarningStateMachine([make_indicator()])
    events = [e for batch in replay() for e in machine.process(batch)]
    fired = min(e.at for e in events if e.area_code == "310106003")
    orders = [
        HotlineOrder(f"o{i}", "water_outage", fired + 60 * (i + 1), None, None,
                     "310106003001001")
        for i in range(5)
    ]  # fmt: skip
    catalog = tmp_path / "water.yaml"
    spec = make_indicator().model_dump(mode="json", by_alias=True, exclude_none=True)
    catalog.write_text(yaml.safe_dump({"version": 1, "indicators": [spec]}, allow_unicode=True))
    return events, orders, catalog


def ndjson(items: Iterable[WarningEvent | HotlineOrder]) -> bytes:
    return "".join(json.dumps(i.to_dict()) + "\n" for i in items).encode()


def wait_until(what: str, condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def test_following_an_order_waits_for_the_warnings_before_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Followed, the orders file runs ahead of the warnings file: the flow writes an order
    when it is decoded and a warning when its window closes.  The orders, all written,
    were applied at the first read and each opened a ticket of its own; the warning of
    their incident, appended after, then had nothing to corroborate.  They wait now until
    the warnings read reach their time, and corroborate the incident as a reading of both
    files at once does (test_one_read_of_both_files_corroborates_in_time_order)."""
    from tests.alerts.alerts_helpers import make_indicator

    events, orders, _ = water_incident(tmp_path)
    url = (request.getfixturevalue("pg_url") if backend == "postgresql"
           else f"sqlite:///{tmp_path / 't.db'}")  # fmt: skip
    city = load_city()
    service = TicketService(TicketStore.from_url(url), router=Router(load_routing(None)),
                            catalog=[make_indicator()])  # fmt: skip
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_bytes(b"")
    orders_file = tmp_path / "orders.ndjson"
    orders_file.write_bytes(ndjson(orders))
    orders_tail = LineFollower(orders_file)
    feed = Feed(service, LineFollower(warnings), orders_tail, city)
    feed.wall_clock = lambda: 0.0  # however slow the machine, no order waits its time out
    before = [e for e in events if e.at < orders[0].ts]
    stop = threading.Event()
    worker = threading.Thread(target=follow, args=(feed, stop, 0.05))
    worker.start()
    try:
        wait_until("the orders were not read", lambda: orders_tail.line_no == 5)
        with warnings.open("ab") as f:  # the warnings up to the orders' time: not yet past it
            f.write(ndjson(before))
        wait_until("the first warnings were not applied",
                   lambda: sum(feed.counts.outcomes.values()) >= len(before))  # fmt: skip
        time.sleep(0.3)  # a few more reads: the orders still wait
        assert {t.origin for t in service.list_tickets(EVERY)} == {"warning"}
        assert sum(feed.counts.outcomes.values()) == len(before)
        with warnings.open("ab") as f:
            f.write(ndjson(events[len(before) :]))
        wait_until("the orders were not applied after the warnings",
                   lambda: sum(feed.counts.outcomes.values()) == len(events) + 5)  # fmt: skip
    finally:
        stop.set()
        worker.join(30)
    assert feed.counts.outcomes["corroborated"] == 5, feed.counts.outcomes
    tickets = service.list_tickets(EVERY)
    (incident,) = [t for t in tickets if t.incident_unit == "310106003"]
    assert incident.order_count == 5
    assert not [t for t in tickets if t.origin != "warning"]
    service.store.dispose()


def test_an_order_waits_for_its_family_s_windows_in_time_order() -> None:
    """The warnings read show how far the flow's watermark is (a warning's window end plus its
    indicator's lateness); an order waits until it passes the order's time by the largest
    lateness of the order's family, so a gas sensor's quick warnings do not release a water
    order whose pressure window is still open.  A family no indicator has is not held; one
    whose warnings do not come waits its lateness and a grace, `hold` seconds at most, and
    takes the earlier orders of its family along."""
    wait = {"water": 600, "gas": 60}
    families = {"water_outage": "water", "gas_smell": "gas"}
    hold = OrderHold(wait.get, lambda o: families.get(o.service_code, o.service_code),
                     hold=900, grace=60)  # fmt: skip
    w1, w0 = HotlineOrder("w1", "water_outage", 1000), HotlineOrder("w0", "water_outage", 990)
    g, x = HotlineOrder("g", "gas_smell", 1000), HotlineOrder("x", "graffiti", 1000)
    assert hold.add([w1, g, x], batch=0, now=0.0) == [x]
    assert hold.add([w0], batch=50, now=10.0) == []
    hold.watermark = 1100  # a gas warning of window end 1040 and 60 s lateness was read
    assert hold.release(now=1.0) == [g]
    hold.watermark = 1589  # water: not yet 600 s past 990
    assert hold.release(now=2.0) == [] and len(hold) == 2 and hold.oldest_batch() == 0
    hold.watermark = 1600
    assert hold.release(now=3.0) == [w0, w1]  # in time order, not as read
    assert len(hold) == 0 and hold.oldest_batch() is None
    w2, w3 = HotlineOrder("w2", "water_outage", 5000), HotlineOrder("w3", "water_outage", 4000)
    hold.add([w2], batch=100, now=100.0)
    hold.add([w3], batch=200, now=200.0)  # earlier, read later
    assert hold.release(now=100.0 + 659) == [] and hold.oldest_batch() == 100
    assert hold.release(now=100.0 + 660) == [w3, w2]  # w2 waited 600 + 60 s; w3 before it
    short = OrderHold(lambda _: 86400, lambda o: "road", hold=900, grace=60)  # a daily window
    short.add([w1], batch=0, now=0.0)
    assert short.release(now=899.0) == [] and short.release(now=900.0) == [w1]


def test_a_held_order_is_applied_after_its_hold_once_across_a_restart(tmp_path: Path) -> None:
    """When no warning comes (a quiet city writes none), an order is applied after its hold;
    its position is not saved before, so a dispatcher stopped meanwhile reads it again at
    its start (and the order that was applied at once is not applied twice)."""
    from tests.alerts.alerts_helpers import make_indicator

    city = load_city()
    db = tmp_path / "t.db"
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_bytes(b"")
    orders = [HotlineOrder(f"o{i}", "water_outage", T0_ORDERS + 60 * i, None, None,
                           "310106003001001") for i in range(3)]  # fmt: skip
    orders.append(HotlineOrder("g1", "graffiti", T0_ORDERS, None, None, "310106003001001"))
    orders_file = tmp_path / "orders.ndjson"
    orders_file.write_bytes(ndjson(orders))
    pos = tmp_path / "pos"
    pos.mkdir()
    now = [0.0]

    def started() -> Feed:
        store = TicketStore.from_url(f"sqlite:///{db}")
        service = TicketService(store, router=Router(load_routing()), catalog=[make_indicator()])
        return Feed(service, LineFollower(warnings, pos / "warnings.pos"),
                    LineFollower(orders_file, pos / "orders.pos"), city, live=True,
                    order_hold=30, wall_clock=lambda: now[0])  # fmt: skip

    first = started()
    assert first.step() == 4
    assert dict(first.counts.outcomes) == {"created": 1}  # graffiti: no indicator waits
    assert first.held == 3 and (pos / "orders.pos").read_text().split() == ["0"]
    first.service.store.dispose()  # stopped with three orders held
    again = started()
    assert again.step() == 4 and again.held == 3
    assert dict(again.counts.outcomes) == {"already-applied": 1}
    now[0] = 29.0
    assert again.step() == 0 and again.held == 3
    now[0] = 30.0  # --order-hold 30: sooner than the water family's 0 s lateness + 60 s
    again.step()
    assert again.held == 0 and sum(again.counts.outcomes.values()) == 4
    assert applied_keys(db) == 4
    assert (pos / "orders.pos").read_text().split() == [str(orders_file.stat().st_size)]
    again.service.store.dispose()


def test_one_reading_of_files_that_take_several_reads_keeps_the_time_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files larger than one read (8 MB) went a read of each at a time: the orders of the
    first read, all five in it, were applied before the warning they came after, which was
    in a later read of the warnings file.  They wait for the warnings up to their time now."""
    events, orders, catalog = water_incident(tmp_path)
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_bytes(ndjson(events))
    orders_file = tmp_path / "orders.ndjson"
    orders_file.write_bytes(ndjson(orders))
    monkeypatch.setattr(feed_module, "READ_BYTES", 1300)  # a warning a read, the orders in one
    assert max(len(line) for line in warnings.read_bytes().splitlines()) < 1300
    assert warnings.stat().st_size > 5 * 1300 and orders_file.stat().st_size < 1300
    db = tmp_path / "t.db"
    out = dispatch("--warnings", str(warnings), "--orders", str(orders_file),
                   "--db", f"sqlite:///{db}", "-c", str(catalog))  # fmt: skip
    assert "corroborated 5" in out and "waiting" not in out
    service = service_at(db)
    tickets = service.list_tickets(EVERY)
    assert not [t for t in tickets if t.origin != "warning"]
    service.store.dispose()


def test_a_data_time_dispatch_gives_the_same_tickets_however_the_file_is_cut_into_reads(
    warnings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow's warnings file is in time order per indicator only: the windows one step of
    its watermark closed come out indicator by indicator, and a replay at full speed steps
    by days.  Each read was applied in time order on its own, so a later read held warnings
    older than the deadlines already judged: their tickets were opened in the past and first
    judged at the next tick after the newest item, and the tickets and audit trail depended
    on where the reads cut the file (the demo city: 1,931 of 5,218 audit entries)."""
    ats = [int(json.loads(line)["at"]) for line in warnings_file.read_bytes().splitlines()]
    assert ats != sorted(ats)
    base = ["--warnings", str(warnings_file), "-c", str(SMALL), "--data-time"]
    whole = tmp_path / "whole.db"
    dispatch(*base, "--db", f"sqlite:///{whole}")
    monkeypatch.setattr(feed_module, "READ_BYTES", 4096)
    assert max(len(line) for line in warnings_file.read_bytes().splitlines()) < 4096
    assert warnings_file.stat().st_size > 100 * 4096
    cut = tmp_path / "cut.db"
    dispatch(*base, "--db", f"sqlite:///{cut}")
    assert ticket_rows(cut) == ticket_rows(whole)
    assert audit_trail(cut) == audit_trail(whole)


def test_the_warnings_read_release_an_order_once_its_family_s_windows_closed(
    tmp_path: Path,
) -> None:
    """A warning of window end `at` from an indicator with 10 minutes of lateness shows the
    flow's watermark at `at` + 10 min at least.  A water order at `ts` waits for the
    watermark to reach `ts` + 10 min (every water window up to `ts` closed by then): a gas
    warning past `ts` (no lateness) does not release it, nor a water warning ending a second
    before `ts`; one ending at `ts` does.  A graffiti order (no indicator) waits for nothing."""
    from tests.alerts.alerts_helpers import make_indicator

    events, _, _ = water_incident(tmp_path)
    value = {"field": "pressure", "aggregate": "mean", "levels": ["street", "district"]}
    water = make_indicator(value={**value, "window": {"length": "15m", "lateness": "10m"}})
    gas = make_indicator(id="gas.pressure", category="gas",
                         value={**value, "window": {"length": "5m"}})  # fmt: skip
    store = TicketStore.from_url(f"sqlite:///{tmp_path / 't.db'}")
    service = TicketService(store, router=Router(load_routing()), catalog=[water, gas])
    ts = T0_ORDERS
    place = "310106003001001"
    orders = tmp_path / "orders.ndjson"
    orders.write_bytes(ndjson([HotlineOrder("w", "water_outage", ts, None, None, place),
                               HotlineOrder("g", "graffiti", ts, None, None, place)]))  # fmt: skip
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_bytes(b"")
    feed = Feed(service, LineFollower(warnings), LineFollower(orders), load_city(), live=True,
                wall_clock=lambda: 0.0)  # fmt: skip
    feed.step()
    assert feed.held == 1 and dict(feed.counts.outcomes) == {"created": 1}  # graffiti
    event = dataclasses.replace(events[0], area_code="310115001")  # elsewhere
    for indicator, category, at, held in (("gas.pressure", "gas", ts + 300, 1),
                                          ("water.pressure", "water", ts - 1, 1),
                                          ("water.pressure", "water", ts, 0)):  # fmt: skip
        e = dataclasses.replace(event, indicator_id=indicator, category=category, at=at,
                                warning_id=f"{indicator}@310115001@{at}")  # fmt: skip
        with warnings.open("ab") as f:
            f.write(ndjson([e]))
        feed.step()
        assert feed.held == held, (indicator, at - ts)
    assert sum(feed.counts.outcomes.values()) == 5
    service.store.dispose()


def test_the_following_dispatcher_exports_the_orders_it_holds(tmp_path: Path) -> None:
    """`citysigns dispatch --follow --metrics-port`: orders waiting for the flow's warnings
    show as citysigns_dispatch_orders_held, and go back to 0 once the warnings reach them."""
    events, orders, catalog = water_incident(tmp_path)
    warnings = tmp_path / "warnings.ndjson"
    warnings.write_bytes(b"")
    orders_file = tmp_path / "orders.ndjson"
    orders_file.write_bytes(ndjson(orders))
    db = tmp_path / "t.db"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "citysigns.cli", "dispatch", "--warnings", str(warnings),
         "--orders", str(orders_file), "--db", f"sqlite:///{db}", "-c", str(catalog),
         "--follow", "--poll", "0.05", "--metrics-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    held = "citysigns_dispatch_orders_held"
    try:
        wait_for(port, {held: 5.0})
        warnings.write_bytes(ndjson(events))
        wait_for(port, {held: 0.0})
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
