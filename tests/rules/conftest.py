"""Generated rules of the shipped catalog, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.rules import RuleSet, RulesOptions, write_rules
from citysigns.paths import CATALOG_DIR
from indicators.language.validate import Catalog, load_catalog_or_raise


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog_or_raise([CATALOG_DIR])


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> tuple[RuleSet, Path]:
    out = tmp_path_factory.mktemp("rules")
    rule_set, _ = write_rules(catalog, out, RulesOptions())
    return rule_set, out
