from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from flows.city import load_default_registry
from flows.realdata import beijing_records, write_ndjson


@pytest.fixture(scope="session")
def beijing_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten days of the real Beijing readings, as the flow's NDJSON sensor records."""
    path = tmp_path_factory.mktemp("inputs") / "beijing.ndjson"
    write_ndjson(itertools.islice(beijing_records(load_default_registry()), 12 * 24 * 10), path)
    return path
