"""The indicator language: what an analyst writes, as strict models.

Unknown keys are rejected everywhere (`extra="forbid"`), so a misspelt key is an error with a
did-you-mean rather than a silently ignored setting; NaN and infinite numbers are refused
everywhere too (`indicators.language.strict`).  Cross-references (record kinds, fields,
departments, area levels) are checked in `validate.py`, where every error gets its position."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from .detection import MAX_WINDOWS, AreaLevel, Detection, WarningLevel
from .durations import Duration
from .strict import STRICT, Number, Strict, Whole, as_written

Tier = Literal["community", "grid", "street", "district", "city"]
Level = WarningLevel  # (the name the dispatch models use)
Aggregate = Literal[
    "count", "sum", "mean", "min", "max", "rate", "p50", "p90", "p95", "p99", "distinct"
]
ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"


class Title(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


#: What every sensor reading carries besides its kind's fields: the sensor that sent it.  A
#: `filter` on it says which sensors an indicator takes, not which readings.
SENSOR_ID = "sensor_id"


class Filter(Strict):
    """One condition on a record field; all conditions of a source must hold."""

    field: str
    equals: str | float | bool | None = None
    # (not empty: `in: []` matched nothing and `not_in: []` left everything, both silently)
    in_: list[str | float] | None = Field(None, alias="in", min_length=1)
    not_in: list[str | float] | None = Field(None, min_length=1)
    range: tuple[Number, Number] | None = Field(None, description="[low, high], both included")

    model_config = ConfigDict(**STRICT, populate_by_name=True)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and v[0] > v[1]:
            low, high = as_written(v[0]), as_written(v[1])
            raise ValueError(f"range low {low} is above high {high}; write [{high}, {low}]")
        return v

    def conditions(self) -> list[str]:
        return [
            k
            for k, v in (
                ("equals", self.equals),
                ("in", self.in_),
                ("not_in", self.not_in),
                ("range", self.range),
            )
            if v is not None
        ]


class Source(Strict):
    kind: str = Field(description="a sensor kind or a citizen channel (see indicators/registry)")
    filter: list[Filter] = Field(default_factory=list)
    # (not empty: `[]` selects nothing, and the flow took it for "no selection" and counted
    # every record)
    categories: list[str] | None = Field(
        None, min_length=1, description="hotline / photo_report: service codes to count"
    )
    keywords: list[str] | None = Field(
        None,
        min_length=1,
        description="hotline / photo_report: words in the description (any matches)",
    )

    def reading_filters(self) -> list[Filter]:
        """The filters on a reading's value: all but those on the sensor's id."""
        return [f for f in self.filter if f.field != SENSOR_ID]


class Window(Strict):
    type: Literal["tumbling", "sliding"] = "tumbling"
    length: Duration
    step: Duration | None = Field(None, description="sliding windows only: how often one starts")
    lateness: Duration = Field(0, description="how late an event may arrive and still count")

    @property
    def spacing(self) -> int:
        """Seconds between the ends of consecutive windows of a series: the step of sliding
        windows, the length of tumbling ones."""
        return int(self.step if self.type == "sliding" and self.step else self.length)


class Value(Strict):
    field: str | None = Field(None, description="record field; not needed for count and rate")
    aggregate: Aggregate
    window: Window
    levels: list[AreaLevel] = Field(min_length=1)
    silence_after: Whole | None = Field(
        None,
        ge=1,
        le=MAX_WINDOWS,
        description="windows without data before a series reports no-signal",
    )
    min_count: Whole | None = Field(
        None,
        ge=1,
        le=MAX_WINDOWS,
        description=(
            "records a window needs before its value is judged; a thinner window is written "
            "out but scored and warned on as a window without data (1 abnormal check of 1 is "
            "not a 100% abnormal rate)"
        ),
    )


class Deadline(Strict):
    accept: Duration
    handle: Duration


def _default_tiers() -> dict[Level, Tier]:
    """Street handles the mild levels, the district orange, city coordination red."""
    return {"blue": "street", "yellow": "street", "orange": "district", "red": "city"}


class Dispatch(Strict):
    department: str
    tiers: dict[Level, Tier] = Field(default_factory=_default_tiers)
    deadlines: dict[Level, Deadline] = Field(default_factory=dict)
    working_hours_only: bool = Field(
        False, description="deadlines count working hours only (as 12345 orders do)"
    )


def _none_word(v: Any) -> Any:
    return None if v == "none" else v


class Indicator(Strict):
    id: str = Field(pattern=ID_PATTERN, description="stable id, e.g. air.pm25")
    title: Title
    category: str
    unit: str
    owner: str = Field(description="department id of the owner")
    description: str = ""
    source: Source
    value: Value
    detection: Detection
    dispatch: Annotated[Dispatch | None, BeforeValidator(_none_word)] = Field(
        None, description="who handles its warnings, or `none` for indicators that only inform"
    )

    def dispatched(self) -> Dispatch | None:
        return self.dispatch

    def row_field(self) -> str | None:
        """The field whose readings a sensor indicator takes (readings travel one field per
        row): its value's field, or for a count the field its first reading filter tests."""
        readings = self.source.reading_filters()
        return self.value.field or (readings[0].field if readings else None)


class CatalogFile(Strict):
    """The shape of one catalog file: a list of indicators under `indicators:`.  At least one:
    `indicators:` with nothing after it was refused while `indicators: []` passed as "ok: 0
    indicators", and a file that defines nothing is a draft left empty or a list lost."""

    version: Literal[1] = 1
    indicators: list[Any] = Field(min_length=1)
