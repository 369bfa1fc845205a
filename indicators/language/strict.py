"""The one configuration every model of the indicator language shares.

`extra="forbid"`: a misspelt key is an error with a did-you-mean, never a silently ignored
setting.  `frozen=True`: a validated definition cannot change under the flow that uses it.
`allow_inf_nan=False`: YAML reads `.nan`, `.inf` and `1e999` as floats, and every comparison
with NaN is false, so a NaN threshold would never fire (and the generated Prometheus rule
`> nan` does not parse); an infinite one never fires either.  Refusing them once here covers
every number a catalog holds (thresholds, detector options, filter ranges) at once.  A number
written in quotes (`threshold: "50"`) is refused by `Number` as `Whole` refuses it, where the
loader marks it (`yamlload.QuotedNumber`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic import Strict as StrictInput
from pydantic_core import PydanticCustomError

from .yamlload import QuotedNumber

STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

#: a whole number as YAML writes one: `20`, not `"20"`, `20.5` or `true` (which pydantic would
#: otherwise read as 20 and 1: `min_count: yes` is a mistake, not a count of one).  Not the
#: model-wide `strict=True`, which would also refuse YAML's lists where a pair is a tuple.
Whole = Annotated[int, StrictInput()]


#: The error type of a number written in quotes; its context holds the text (`number`).
NUMBER_QUOTED = "number_quoted"


def _a_number_as_written(value: Any) -> Any:
    """YAML's `true`/`yes`/`on` is no number (pydantic would read it as 1), nor is a number in
    quotes (`"50"`, which it would read as 50.0).  Other text is left to the float parser:
    YAML 1.1 reads a plain `1e5`, without a dot, as text."""
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    if isinstance(value, QuotedNumber):
        raise PydanticCustomError(
            NUMBER_QUOTED, "a number is written without quotes", {"number": value.strip()}
        )
    return value


#: `Number`'s check of what was written.  An optional number with bounds puts the bounds
#: before it, `Annotated[float, Field(gt=0), AS_WRITTEN] | None`: bounds on `Number | None`
#: reach the JSON Schema under pydantic's names (`gt`), which editors do not know.
AS_WRITTEN = BeforeValidator(_a_number_as_written)

#: a number, whole or not (`15`, `0.99`, `1e5`), but not `true` nor `"15"`
Number = Annotated[float, AS_WRITTEN]


def as_written(number: float) -> str:
    """A number for a message, as the analyst wrote it: `Number` reads every number as a
    float, so `55` came back as `55.0` (and `:g` rounds to six digits, 1234567 to
    1.23457e+06); 15 significant digits give back any decimal as written, without noise."""
    return f"{number:.15g}"


#: The error type of a rule across several keys that is pinned on one value: `ctx["at"]` is
#: that value's path under the model that raised it (`("lower", "district")`), so `check`
#: points at the number to change rather than at the mapping around it.
AT_VALUE = "at_value"


def error_at(message: str, *at: str | int) -> PydanticCustomError:
    """An error of a model validator, about the value at path `at` under the model."""
    return PydanticCustomError(AT_VALUE, message, {"at": at})


class Strict(BaseModel):
    """Base of every catalog model (see the module docstring for why each setting)."""

    model_config = STRICT
