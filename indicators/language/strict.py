"""The one configuration every model of the indicator language shares.

`extra="forbid"`: a misspelt key is an error with a did-you-mean, never a silently ignored
setting.  `frozen=True`: a validated definition cannot change under the flow that uses it.
`allow_inf_nan=False`: YAML reads `.nan`, `.inf` and `1e999` as floats, and every comparison
with NaN is false, so a NaN threshold would never fire (and the generated Prometheus rule
`> nan` does not parse); an infinite one never fires either.  Refusing them once here covers
every number a catalog holds (thresholds, detector options, filter ranges) at once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Strict(BaseModel):
    """Base of every catalog model (see the module docstring for why each setting)."""

    model_config = STRICT
