"""The JSON Schema of a catalog file, for editors (yaml-language-server) to complete and check.

Generated from the same models that validate the catalog, plus the registries' names as enums,
so the editor and `citysigns check` can never disagree on what a key is called."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import registry
from .model import Indicator

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "indicators.schema.json"
SCHEMA_ID = "https://citysigns.invalid/schema/indicators.schema.json"


class _CatalogDocument(BaseModel):
    """A catalog file: a list of indicators."""

    model_config = ConfigDict(extra="forbid", title="citysigns indicator catalog file")
    # (the one version `check` accepts: an editor said nothing of `version: 2`)
    version: Literal[1] = Field(1, description="the language version; 1")
    indicators: list[Indicator] = Field(min_length=1)  # (as `check` asks: at least one)


def json_schema() -> dict[str, Any]:
    schema = _CatalogDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    defs = schema["$defs"]
    props = defs["Indicator"]["properties"]
    props["category"]["enum"] = list(registry.CATEGORIES)
    depts = sorted(registry.departments())
    props["owner"]["enum"] = depts
    defs["Dispatch"]["properties"]["department"]["enum"] = depts
    defs["Source"]["properties"]["kind"]["enum"] = sorted(registry.kinds())
    cats = defs["Source"]["properties"]["categories"]
    cats["anyOf"][0]["items"]["enum"] = sorted(registry.hotline_categories())
    # `dispatch: none` reads better than null in YAML; both mean "no tickets".
    props["dispatch"]["anyOf"].append({"const": "none"})
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
