"""Every option that counts windows has the one upper bound MAX_WINDOWS, so a slipped digit
(`halflife: 99999999999`) is refused by `check` and by editors (the JSON Schema's maximum)
instead of silently switching a detector off."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, BeforeValidator, ValidationError

from indicators.language import detection
from indicators.language.detection import MAX_WINDOWS
from indicators.language.model import Value
from indicators.language.schema import json_schema

#: Integer options with their own, tighter bound (a buffer size, days of memory).
OWN_BOUND = {("SpotDetector", "init"), ("SpotDetector", "depth"),
             ("EnsembleDetector", "recurrence")}  # fmt: skip

MODELS: list[type[BaseModel]] = [
    m
    for m in vars(detection).values()
    if isinstance(m, type) and issubclass(m, BaseModel) and m.__name__.endswith("Detector")
] + [Value]


def _int_fields() -> list[tuple[type[BaseModel], str]]:
    out = []
    for model in MODELS:
        for name, info in model.model_fields.items():
            duration = any(isinstance(m, BeforeValidator) for m in info.metadata)
            kinds = [typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a
                     for a in (info.annotation, *typing.get_args(info.annotation))]  # fmt: skip
            if not duration and int in kinds:  # (`Whole | None`: an annotated int)
                out.append((model, name))
    return out


def _upper(model: type[BaseModel], name: str) -> object:
    return next((getattr(m, "le", None) for m in model.model_fields[name].metadata
                 if getattr(m, "le", None) is not None), None)  # fmt: skip


@pytest.mark.parametrize(("model", "name"), _int_fields(), ids=lambda x: getattr(x, "__name__", x))
def test_every_count_of_windows_has_the_bound(model: type[BaseModel], name: str) -> None:
    if (model.__name__, name) in OWN_BOUND:
        assert _upper(model, name) is not None
    else:
        assert _upper(model, name) == MAX_WINDOWS


def test_the_bound_itself_is_accepted_and_one_more_is_not() -> None:
    detection.EwmaDetector(type="ewma", halflife=MAX_WINDOWS)
    with pytest.raises(ValidationError):
        detection.EwmaDetector(type="ewma", halflife=MAX_WINDOWS + 1)


def test_the_schema_gives_editors_the_bound() -> None:
    text = str(json_schema())
    assert text.count(f"'maximum': {MAX_WINDOWS}") == sum(
        1 for m, n in _int_fields() if (m.__name__, n) not in OWN_BOUND
    )
