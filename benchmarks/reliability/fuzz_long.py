"""Bad input and hostile requests, the long version of tests/reliability/test_fuzz_*.py and
test_security_matrix.py: many more generated examples through the sensor and hotline
decoders, the real Bytewax flow over fuzzed files, the ticket API and its security matrix.

    python -m benchmarks.reliability.fuzz_long --decode-examples 3000 --api-examples 3000

Prints what was tried (lines per kind, outcomes per reason, requests per status) and writes
benchmarks/results/reliability_fuzz.json.  Any crash, 5xx, unaccounted line or changed store
stops the run with hypothesis' smallest failing example."""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from benchmarks.reliability.common import machine, write_result
from tests.reliability.api_world import auth, client_for, fingerprint, make_service, ticket_ids
from tests.reliability.fuzz_inputs import Line, Tally, hotline_lines, sensor_lines
from tests.reliability.test_fuzz_api import ApiCase, ApiTally, api_cases, check_case
from tests.reliability.test_fuzz_decode import (
    decode_hotline_lines,
    decode_sensor_lines,
    test_flow_accounts_for_every_line,
)
from tests.reliability.test_security_matrix import ROWS


def _settings(n: int, shrink: bool = True) -> settings:
    phases = list(Phase) if shrink else [Phase.generate]
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )


def fuzz_decoders(n: int) -> tuple[Tally, Tally]:
    sensor, hotline = Tally(), Tally()

    @_settings(n)
    @given(lines=sensor_lines())
    def sensors(lines: list[Line]) -> None:
        decode_sensor_lines(lines, sensor)

    @_settings(n)
    @given(lines=hotline_lines())
    def orders(lines: list[Line]) -> None:
        decode_hotline_lines(lines, hotline)

    sensors()
    orders()
    return sensor, hotline


class _Tmp:
    """The one method of pytest's TempPathFactory the flow check uses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def mktemp(self, name: str) -> Path:
        self.n += 1
        path = self.root / f"{name}{self.n}"
        path.mkdir()
        return path


def fuzz_flow(runs: int, root: Path) -> int:
    """Runs of the real flow over fuzzed files, each checked line by line."""
    inner = test_flow_accounts_for_every_line.hypothesis.inner_test  # type: ignore[attr-defined]
    done = 0
    tmp = _Tmp(root)

    @_settings(runs, shrink=False)
    @given(
        s_fuzz=sensor_lines(min_size=30, max_size=40, first_slot=50 * 370),
        h_fuzz=hotline_lines(min_size=20, max_size=30),
    )
    def flow(s_fuzz: list[Line], h_fuzz: list[Line]) -> None:
        nonlocal done
        inner(tmp, s_fuzz, h_fuzz)
        done += 1

    flow()
    return done


def fuzz_api(n: int, root: Path) -> ApiTally:
    tally = ApiTally()
    svc = make_service(f"sqlite:///{root / 'api.db'}")
    with client_for(svc, max_body=64 * 1024) as client:

        @_settings(n)
        @given(case=api_cases)
        def api(case: ApiCase) -> None:
            check_case(svc, client, case, tally)

        api()
    svc.store.dispose()
    return tally


def security_matrix(root: Path, rounds: int) -> dict[str, Any]:
    """Every row of the matrix `rounds` times on SQLite: status, log line, store unchanged."""
    svc = make_service(f"sqlite:///{root / 'matrix.db'}")
    handler = _Capture()
    log = logging.getLogger("citysigns.api")
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    statuses: Counter[int] = Counter()
    try:
        with client_for(svc) as client:
            ids = ticket_ids(svc)
            before = fingerprint(svc)
            for _ in range(rounds):
                for row_id, method, path, who, body, status, needle in ROWS:
                    handler.messages.clear()
                    headers = (
                        {"Authorization": who[1]}
                        if isinstance(who, tuple)
                        else auth(who)
                        if who
                        else {}
                    )
                    url = path.format(jingan=ids["310106"], pudong=ids["310115"])
                    r = client.request(method, url, headers=headers, json=body)
                    assert r.status_code == status, (row_id, r.status_code, r.text)
                    assert any(needle in m for m in handler.messages), (row_id, handler.messages)
                    statuses[r.status_code] += 1
            assert fingerprint(svc) == before
            refusals = dict(client.app.state.refusals)  # type: ignore[attr-defined]
    finally:
        log.removeHandler(handler)
        svc.store.dispose()
    return {
        "rows": len(ROWS),
        "rounds": rounds,
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "refusals_counted": refusals,
        "store_unchanged": True,
    }


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--decode-examples", type=int, default=3000, help="per decoder")
    ap.add_argument("--api-examples", type=int, default=3000)
    ap.add_argument("--flow-runs", type=int, default=10)
    ap.add_argument("--matrix-rounds", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="JSON (default benchmarks/results)")
    args = ap.parse_args(argv)
    # refusals are logged by the thousand here: keep them off the terminal (the matrix still
    # checks each one through its own handler)
    logging.getLogger("citysigns").addHandler(logging.NullHandler())
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="citysigns-fuzz-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        sensor, hotline = fuzz_decoders(args.decode_examples)
        seconds["decoders"] = round(time.perf_counter() - t, 1)
        print(
            f"sensor decoder: {sensor.examples} examples, {sensor.lines} lines, "
            f"outcomes {dict(sensor.outcomes.most_common())}"
        )
        print(
            f"hotline decoder: {hotline.examples} examples, {hotline.lines} lines, "
            f"outcomes {dict(hotline.outcomes.most_common())}"
        )
        t = time.perf_counter()
        flow_runs = fuzz_flow(args.flow_runs, root)
        seconds["flow"] = round(time.perf_counter() - t, 1)
        print(f"Bytewax flow over fuzzed files: {flow_runs} runs, every line accounted for")
        t = time.perf_counter()
        api = fuzz_api(args.api_examples, root)
        seconds["api"] = round(time.perf_counter() - t, 1)
        print(
            f"ticket API: {api.tried} requests, statuses {dict(sorted(api.statuses.items()))}, "
            f"{api.refused_unchanged} refused with the store unchanged"
        )
        t = time.perf_counter()
        matrix = security_matrix(root, args.matrix_rounds)
        seconds["matrix"] = round(time.perf_counter() - t, 1)
        print(
            f"security matrix: {matrix['rows']} rows x {matrix['rounds']} rounds, statuses "
            f"{matrix['statuses']}, every refusal logged, store unchanged"
        )
    data: dict[str, Any] = {
        "what": "generated bad input through the decoders, the Bytewax flow and the ticket "
        "API; the API security matrix",
        "sensor_decoder": sensor.to_dict(),
        "hotline_decoder": hotline.to_dict(),
        "flow_runs": flow_runs,
        "api": {
            "requests": api.tried,
            "statuses": dict(sorted(api.statuses.items())),
            "refused_store_unchanged": api.refused_unchanged,
            "server_errors": sum(n for s, n in api.statuses.items() if s >= 500),
        },
        "security_matrix": matrix,
        "crashes": 0,
        "seconds": seconds,
        "machine": machine(),
    }
    path = write_result("reliability_fuzz.json", data, args.out)
    print(f"no crash, no 5xx, every line accounted for; {seconds} s; {path}")
    return data


if __name__ == "__main__":
    main()
