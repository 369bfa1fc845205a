"""`citysigns serve` and `citysigns dispatch` on an operator's mistakes: a --db that is not a URL,
names a server that is down, a directory that does not exist or a driver that is not
installed; a routing file or catalog that is not there; a metrics port that is taken.  Each is
one line naming what is wrong (never the database password) and exit status 2, like a missing
input of `citysigns run`, with no traceback and no server started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from citysigns.cli import app

TOKENS = Path(__file__).resolve().parents[2] / "alerts" / "examples" / "tokens.yaml"
SECRET = "s3cret-Pa55"
CLI = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def warnings_file(tmp_path: Path) -> Path:
    path = tmp_path / "warnings.ndjson"
    path.write_text("", encoding="utf-8")
    return path


def serve(*args: str) -> Result:
    # --port: should a check be missed, uvicorn would listen here rather than on 8080
    return CLI.invoke(app, ["serve", "--tokens", str(TOKENS), "--port", str(_free_port()), *args])


def dispatch(warnings: Path, *args: str) -> Result:
    return CLI.invoke(app, ["dispatch", "--warnings", str(warnings), *args])


def assert_refused(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    for w in words:
        assert w in result.output, result.output


def bad_dbs(tmp_path: Path) -> list[tuple[str, str]]:
    """(a --db, words its message must hold)."""
    return [
        ("notaurl", "not a database URL"),
        (f"postgresql+psycopg://citysigns:{SECRET}@127.0.0.1:1/tickets", "Connection refused"),
        (f"sqlite:///{tmp_path}/no/such/dir/t.db", f"the directory {tmp_path}/no/such/dir"),
        (f"mysql://citysigns:{SECRET}@127.0.0.1/tickets", "driver for 'mysql' (MySQLdb)"),
        (f"nosuchdb://citysigns:{SECRET}@host/tickets", "knows no database 'nosuchdb'"),
        (f"not a url citysigns:{SECRET}@host", "not a database URL"),
    ]


def test_serve_says_what_is_wrong_with_the_db_without_its_password(tmp_path: Path) -> None:
    for db, words in bad_dbs(tmp_path):
        done = serve("--db", db)
        assert_refused(done, "cannot start: ticket store", words)
        assert SECRET not in done.output


def test_dispatch_says_what_is_wrong_with_the_db_without_its_password(
    tmp_path: Path, warnings_file: Path
) -> None:
    for db, words in bad_dbs(tmp_path):
        done = dispatch(warnings_file, "--db", db)
        assert_refused(done, "cannot start: ticket store", words)
        assert SECRET not in done.output


def test_serve_and_dispatch_name_a_missing_routing_file_or_catalog(
    tmp_path: Path, warnings_file: Path
) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    nope, nodir = str(tmp_path / "nope.yaml"), str(tmp_path / "nodir")
    assert_refused(serve("--db", db, "--routing", nope), f"no such routing file: {nope}")
    assert_refused(serve("--db", db, "-c", nodir), f"no such catalog file or directory: {nodir}")
    assert_refused(dispatch(warnings_file, "--db", db, "--routing", nope), "no such routing file")
    assert_refused(dispatch(warnings_file, "--db", db, "-c", nodir), "no such catalog file")


def test_a_taken_metrics_port_is_named_by_serve_and_dispatch(
    tmp_path: Path, warnings_file: Path, taken_port: int
) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    for done in (
        serve("--db", db, "--metrics-port", str(taken_port)),
        dispatch(warnings_file, "--db", db, "--metrics-port", str(taken_port)),
    ):
        assert_refused(done, f"metrics port {taken_port}", "already in use", "--metrics-port")


def test_ports_out_of_range_are_usage_errors(tmp_path: Path, warnings_file: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    for done in (
        serve("--db", db, "--metrics-port", "99999"),
        serve("--db", db, "--port", "70000"),
        dispatch(warnings_file, "--db", db, "--metrics-port", "-1"),
    ):
        assert done.exit_code == 2 and "Traceback" not in done.output, done.output


def test_the_store_hides_the_password_of_any_url() -> None:
    from alerts.store import StoreUnavailableError, TicketStore, masked_url

    assert masked_url(f"postgresql+psycopg://u:{SECRET}@h/db") == "postgresql+psycopg://u:***@h/db"
    for unparsable in (f"postgres//u:{SECRET}@h", f"u:{SECRET}:x/y@h", f"a b u:{SECRET}@h"):
        assert SECRET not in masked_url(unparsable)
    with pytest.raises(StoreUnavailableError) as refused:
        TicketStore.from_url(f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db")
    assert SECRET not in str(refused.value) and "u:***@127.0.0.1:1/db" in str(refused.value)


def test_a_postgresql_host_that_never_answers_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libpq waits for ever on a server that takes the connection and never answers (a hung
    host, a half-open firewall): /health's probe, the dispatcher's flush and every request
    hung with it.  A connection now gives up after `CONNECT_TIMEOUT_S`."""
    import socket
    import threading

    from alerts import store as store_module
    from alerts.store import TicketStore

    monkeypatch.setattr(store_module, "CONNECT_TIMEOUT_S", 1)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # takes connections (the kernel's backlog), never answers
    try:
        port = silent.getsockname()[1]
        store = TicketStore.from_url(f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
                                     migrate=False)  # fmt: skip
        found: list[str | None] = []
        probe = threading.Thread(target=lambda: found.append(store.reachable()), daemon=True)
        probe.start()
        probe.join(30)
        assert not probe.is_alive(), "the probe still waits for the silent server"
        assert found == ["OperationalError"]
    finally:
        silent.close()
