"""Ticket-store outage, short version: PostgreSQL (a real server) is stopped for 5 s while
the flow's warnings stream into the ticket service through its outbox, then started again.
No ticket is lost or duplicated, every event key is applied once, the backlog drains, and the
exporter, scraped over HTTP, shows the outage.  The long version (30 s):
`python -m benchmarks.reliability.store_outage --outage 30`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.reliability.store_outage import flow_warnings, store_outage
from tests.alerts.conftest import PgServer, running_pg_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_pg_server() -> Iterator[PgServer]:
    """A server of this module's own: the test stops and starts it, so it must not be the
    one the alerts tests share."""
    with running_pg_server() as server:
        yield server


def test_five_second_outage_loses_nothing_and_shows_in_the_metrics(
    own_pg_server: PgServer, tmp_path: Path
) -> None:
    warnings = flow_warnings(tmp_path, 12 * 24 * 20)  # the flow on 20 days of Beijing
    res = store_outage(
        own_pg_server, warnings, tmp_path, outage_s=5.0, outage_at=1.5, duration_s=6.0
    )
    assert res.events > 500
    t = res.tickets
    assert t is not None and t.reference >= 5
    assert (t.lost, t.duplicated, t.changed) == (0, 0, 0), t
    assert res.applied_keys == res.distinct_event_keys  # every warning applied, once
    assert res.max_pending > 50  # warnings really queued in the outbox during the outage
    assert res.drained_after_restart_s is not None  # the backlog drained
    assert res.store_errors > 0
    # what Prometheus would have seen
    assert res.scrapes >= 10
    assert res.scraped_up_min == 0.0 and res.scraped_up_last == 1.0
    assert (res.scraped_pending_max or 0) > 0 and res.scraped_pending_last == 0.0
    assert (res.scraped_errors_last or 0) == res.store_errors
    down = [row for row in res.timeline if row[1] == 0.0]
    assert down and all(row[2] > 0 for row in down)  # down while items waited
    assert res.ok
