"""Fixtures for the alerts tests: small indicator definitions, a ticket service on a fresh
SQLite file, and a real PostgreSQL server started for the session in a temp directory.

PostgreSQL comes from Debian's packages (scripts/ensure-postgres.sh installs them when absent).
The server runs on 127.0.0.1 with a free port and its unix socket in the temp directory, as the
`postgres` system user when the tests run as root (postgres refuses to run as root), and is
stopped by its PID at the end, also when tests fail.  Without PostgreSQL the PG tests fail with
a clear message when CI is set, and are skipped otherwise."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.clock import ManualClock
from alerts.routing import Router, RoutingConfig, load_routing
from alerts.service import TicketService
from alerts.store import TicketStore
from indicators.language.model import Indicator
from tests.alerts.alerts_helpers import T0, make_indicator, surge_indicator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def indicator() -> Indicator:
    return make_indicator()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def router() -> Router:
    return Router(load_routing())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tickets.db'}"


ServiceFactory = Callable[..., TicketService]


@pytest.fixture
def make_service(
    sqlite_url: str, clock: ManualClock, indicator: Indicator
) -> Iterator[ServiceFactory]:
    stores: list[TicketStore] = []

    def factory(url: str | None = None, routing: RoutingConfig | None = None,
                **kw: Any) -> TicketService:  # fmt: skip
        store = TicketStore.from_url(url or sqlite_url)
        stores.append(store)
        kw.setdefault("catalog", [indicator, surge_indicator()])
        kw.setdefault("clock", clock)
        return TicketService(store, router=Router(routing or load_routing()), **kw)

    yield factory
    for s in stores:
        s.dispose()


# ---------------------------------------------------------------------- PostgreSQL
def _initdb() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]) if found else None


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL integration tests cannot run: {message}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {message}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A throwaway PostgreSQL cluster; `stop()`/`start()` simulate an outage."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="citysigns-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.pid: int | None = None
        self.sock.mkdir()
        if self.as_root:
            for p in (self.root, self.sock):
                shutil.chown(p, "postgres", "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*(["runuser", "-u", "postgres", "--"] if self.as_root else []), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def init(self) -> None:
        r = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")

    def start(self) -> None:
        opts = (f"-h 127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off")  # fmt: skip
        r = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                      "-o", opts, "-w", "-t", "60", "start")  # fmt: skip
        if r.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"postgres did not start: {r.stderr.strip()} {log[-800:]}")
        self.pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT), waiting until the postmaster is gone."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
            for _ in range(300):
                os.kill(self.pid, 0)
                time.sleep(0.05)
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server of its own on 127.0.0.1, installed first if absent, stopped and
    removed on exit (also when the test fails)."""
    initdb = _initdb()
    if initdb is None:
        script = REPO / "scripts" / "ensure-postgres.sh"
        r = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
        initdb = _initdb()
        if initdb is None:
            _unavailable(f"initdb not found and {script.name} failed: {r.stderr.strip()}")
    assert initdb is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root and `runuser` is missing (postgres refuses root)")
    server = PgServer(initdb.parent)
    try:
        server.init()
        server.start()
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as e:
        server.cleanup()
        _unavailable(str(e))
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with running_pg_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A SQLAlchemy URL of a fresh, empty database on the session's server."""
    if pg_server.pid is None:  # a previous test left it stopped
        pg_server.start()
    return pg_server.create_database()
