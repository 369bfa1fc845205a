"""The `detection:` block: which anomaly detectors score an indicator's windows, and the
warning levels those scores (or the raw values) raise.

Each detector config is a frozen, validated model; `indicators.detectors.build(config)` turns it
into the logic object that holds state as arrays (Bytewax's config/logic split)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from .durations import Duration
from .strict import AS_WRITTEN, STRICT, Number, Strict, Whole, as_written, error_at

#: The most windows any count-of-windows option may name (half-lives, warm-ups, memories,
#: silences).  A million windows of one minute are almost two years, beyond any history a
#: detector keeps (no duration in the language exceeds a year); the default ensemble's
#: largest is a 4,000-window novelty half-life.  Without a bound a slipped digit
#: (`warmup: 99999999999`, `silence_after: 99999999999`) passed `check` and silently turned
#: the detector or the no-signal rule off: it never warms up, forgets or fires.
MAX_WINDOWS = 1_000_000

AreaLevel = Literal["sensor", "community", "grid", "street", "district", "city"]
WarningLevel = Literal["blue", "yellow", "orange", "red"]


#: How the mapping form of a limit is named in error locations ("float" names the number).
PER_LEVEL_TAG = "per_level"


def _number_or_per_level(v: Any) -> str:
    """Which form a limit is written in: a mapping is one number per area level."""
    return PER_LEVEL_TAG if isinstance(v, dict) else "float"


#: A limit on a value: one number for every area level, or one per area level where they
#: need different ones (`{street: 5, district: 15}`).  A district sums dozens of streets, so
#: a count's limit for a street is reached in a district by a handful of scattered reports.
PerAreaLevel = Annotated[
    Annotated[Number, Tag("float")]
    | Annotated[dict[AreaLevel, Number], Tag(PER_LEVEL_TAG), Field(min_length=1)],
    Discriminator(_number_or_per_level),
]


#: A limit as a consumer holds it: a plain number or a mapping of area levels to numbers.
Limit = float | Mapping[Any, float]


def at_level(limit: Limit, area_level: str) -> float:
    """The number of `limit` that applies at `area_level`: a plain number applies at every
    level.  A mapping without the level is a catalog `check` refuses (it names every level of
    `value.levels`), so meeting one here is a programming error, said as such."""
    if not isinstance(limit, Mapping):
        return float(limit)
    if area_level not in limit:
        raise KeyError(f"no limit for area level {area_level!r} (given for {', '.join(limit)})")
    return float(limit[area_level])


def per_level(limit: Limit | None) -> bool:
    """Whether a limit is written per area level."""
    return isinstance(limit, Mapping)


def number_at(key: str, limit: Limit, area_level: str) -> tuple[str, ...]:
    """Where the number of limit `key` that applies at `area_level` is written, under the
    mapping that holds `key`: in its per-level mapping, or the plain number ("" area level:
    the plain number).  Errors about a limit point at that number, not at the mapping."""
    return (key, area_level) if per_level(limit) and area_level else (key,)


class _DetectorBase(Strict):
    learn_on_anomaly: bool = Field(
        False,
        description="let points judged anomalous update the baseline (default: they do not)",
    )


class ThresholdDetector(_DetectorBase):
    """Static limits, e.g. a regulatory limit.  Score 1 beyond a limit, rising towards it."""

    type: Literal["threshold"]
    upper: PerAreaLevel | None = Field(
        None,
        description="values above this are anomalous; one number, or one per area level "
        "({street: 5, district: 15})",
    )
    lower: PerAreaLevel | None = Field(
        None,
        description="values below this are anomalous; one number, or one per area level",
    )

    @model_validator(mode="after")
    def _one_limit(self) -> Self:
        if self.upper is None and self.lower is None:
            raise ValueError("a threshold detector needs `upper`, `lower` or both")
        if self.upper is None or self.lower is None:
            return self
        # Pointed at `lower`'s number, or at `upper`'s where only that is written per level.
        if per_level(self.lower) or not per_level(self.upper):
            side, limit = "lower", self.lower
        else:
            side, limit = "upper", self.upper
        for area_level in self.limited_levels() or [""]:
            if not (_has(self.lower, area_level) and _has(self.upper, area_level)):
                continue  # a level missing from one of them is reported by `check`
            lo, up = at_level(self.lower, area_level), at_level(self.upper, area_level)
            if lo >= up:
                at = f"at {area_level} level " if area_level else ""
                raise error_at(
                    f"{at}`lower` ({as_written(lo)}) must be below `upper` ({as_written(up)})",
                    *number_at(side, limit, area_level),
                )
        return self

    def limited_levels(self) -> list[str]:
        """The area levels its limits name (none when both are plain numbers)."""
        named = [lim for lim in (self.lower, self.upper) if isinstance(lim, Mapping)]
        return list(dict.fromkeys(lvl for lim in named for lvl in lim))

    def limits_at(self, area_level: str) -> tuple[float | None, float | None]:
        """(lower, upper) at one area level; None: no limit on that side."""
        lo = None if self.lower is None else at_level(self.lower, area_level)
        up = None if self.upper is None else at_level(self.upper, area_level)
        return lo, up

    @property
    def per_area_level(self) -> bool:
        return per_level(self.upper) or per_level(self.lower)


def _has(limit: Limit | None, area_level: str) -> bool:
    return limit is not None and (not isinstance(limit, Mapping) or area_level in limit)


def _as_set(model: Strict, key: str) -> str:
    """An option's value for a message, saying so when it is the default (not written)."""
    value = getattr(model, key)
    return f"{value}" if key in model.model_fields_set else f"{value}, the default"


class SeasonalDetector(_DetectorBase):
    """Robust time-of-day (x weekday) profile: a level per slot, learnt from winsorised values
    so outliers cannot drag it, and the series' robust residual scale."""

    type: Literal["seasonal"]
    period: Literal["day", "week"] = "week"
    slot: Duration = Field(3600, description="width of one profile slot")
    min_history: Whole = Field(
        3, ge=1, le=MAX_WINDOWS, description="samples per slot before it scores"
    )
    halflife: Whole = Field(
        8, ge=1, le=MAX_WINDOWS, description="half-life of a slot's level, in its samples"
    )
    direction: Literal["both", "above", "below"] = "both"

    @model_validator(mode="after")
    def _slot_divides_period(self) -> Self:
        period = 86400 if self.period == "day" else 7 * 86400
        if self.slot <= 0 or period % self.slot:
            raise error_at(f"`slot` must divide the {self.period} (e.g. 15m, 30m, 1h, 3h)", "slot")
        return self


class EwmaDetector(_DetectorBase):
    """Exponentially weighted mean and variance; score from the standardised residual."""

    type: Literal["ewma"]
    halflife: Whole = Field(
        24, ge=1, le=MAX_WINDOWS, description="half-life of the weights, in windows"
    )
    warmup: Whole = Field(12, ge=1, le=MAX_WINDOWS, description="windows before it scores")
    direction: Literal["both", "above", "below"] = "both"


class SpotDetector(_DetectorBase):
    """Extreme-value (SPOT / DSPOT) tail threshold: a generalised Pareto fit to the excesses."""

    type: Literal["spot"]
    risk: Number = Field(1e-4, gt=0, lt=0.5, description="target tail probability")
    # (both are buffers of that many points per series: bounded, so a typo cannot take the
    # machine's memory)
    init: Whole = Field(
        200, ge=20, le=10_000, description="points used to calibrate the first threshold"
    )
    depth: Whole | None = Field(
        None,
        ge=2,
        le=10_000,
        description="DSPOT: drift-corrected against a moving mean of this many points",
    )
    direction: Literal["both", "above", "below"] = "above"


class CusumDetector(_DetectorBase):
    """Two-sided CUSUM for persistent shifts, in units of the series' standard deviation."""

    type: Literal["cusum"]
    k: Number = Field(0.5, gt=0, description="allowance (slack) in standard deviations")
    h: Number = Field(5.0, gt=0, description="decision interval in standard deviations")
    warmup: Whole = Field(24, ge=2, le=MAX_WINDOWS)
    halflife: Whole = Field(
        96, ge=2, le=MAX_WINDOWS, description="half-life of the in-control baseline, windows"
    )
    direction: Literal["both", "above", "below"] = "both"


class RateOfChangeDetector(_DetectorBase):
    """Jumps between consecutive windows, robustly standardised."""

    type: Literal["rate_of_change"]
    max_change: Annotated[float, Field(gt=0), AS_WRITTEN] | None = Field(
        None, description="absolute change that scores 1"
    )
    warmup: Whole = Field(12, ge=2, le=MAX_WINDOWS)
    direction: Literal["both", "above", "below"] = "both"


class VolatilityDetector(_DetectorBase):
    """Variance change: recent spread of window-to-window changes against the long-run one."""

    type: Literal["volatility"]
    short: Whole = Field(
        8, ge=1, le=MAX_WINDOWS, description="half-life of the recent spread, in windows"
    )
    long: Whole = Field(
        512, ge=2, le=MAX_WINDOWS, description="half-life of the long-run spread, in windows"
    )
    warmup: Whole = Field(50, ge=2, le=MAX_WINDOWS)
    direction: Literal["both", "above", "below"] = "both"

    @model_validator(mode="after")
    def _short_below_long(self) -> Self:
        if self.short >= self.long:
            # (at the number written: a default `short` is not in the file)
            at = "short" if "short" in self.model_fields_set else "long"
            raise error_at(
                f"`short` ({_as_set(self, 'short')}) must be below `long` "
                f"({_as_set(self, 'long')})",
                at,
            )
        return self


class NoSignalDetector(_DetectorBase):
    """A series that stops reporting: scores 1 after `after` silent windows."""

    type: Literal["no_signal"]
    after: Whole = Field(3, ge=1, le=MAX_WINDOWS, description="silent windows before it fires")


class StuckDetector(_DetectorBase):
    """A sensor repeating the same value (frozen reading)."""

    type: Literal["stuck"]
    windows: Whole = Field(
        6, ge=2, le=MAX_WINDOWS, description="identical consecutive windows before it fires"
    )
    tolerance: Number = Field(0.0, ge=0, description="values closer than this count as equal")


class EnsembleDetector(_DetectorBase):
    """Combines several detectors' calibrated scores."""

    type: Literal["ensemble"]
    members: list[DetectorConfig] = Field(min_length=1)
    combine: Literal["max", "mean"] = "max"
    likelihood: Whole | None = Field(
        None,
        ge=2,
        le=MAX_WINDOWS,
        description="re-calibrate the combined surprise against its own history with this "
        "half-life (windows): the tail probability of today's surprise among past ones",
    )
    smoothing: Whole = Field(
        1, ge=1, le=MAX_WINDOWS, description="half-life (windows) of the surprise average"
    )
    refractory: Number = Field(
        0.0,
        ge=0,
        lt=1,
        description="per-window decay of the alert envelope: a score passes only when it "
        "beats the decayed previous peak (0 = off), so one event alerts once",
    )
    novelty: Whole | None = Field(
        None,
        ge=2,
        le=MAX_WINDOWS,
        description="weigh the surprise by how rarely the series has visited the current value "
        "range (a histogram of value bins forgotten with this half-life in windows)",
    )
    recurrence: Whole | None = Field(
        None,
        ge=2,
        le=31,
        description="days of memory: a row whose value the series already reached at this time "
        "of day (within 30 minutes) on at least 2 of these earlier days raises nothing, so a "
        "daily routine (a nightly job, a morning peak) is not news; for windows under a day",
    )
    dead_time: Whole = Field(
        0,
        ge=0,
        le=MAX_WINDOWS,
        description="windows after an alarm (a score of at least 0.99) during which the series "
        "raises nothing more: one event, one alarm (0 = off)",
    )
    fatigue: Whole | None = Field(
        None,
        ge=2,
        le=MAX_WINDOWS,
        description="half-life (windows) of the series' count of recent alarms; its surprise is "
        "divided by the square root of 1 + that count, so a series that alarms often needs more "
        "to alarm again",
    )


class DefaultDetector(Strict):
    """The default ensemble: an EWMA, day and week profiles and CUSUM, each judged against its
    own history of surprise, shaped into one alarm (a score of 0.99) per event.  It is what an
    indicator without `detectors:` gets and what the NAB benchmark measures (docs/detectors.md);
    written `{type: default}` it can sit beside other detectors.  One alarm per event: warning
    levels on it use `for: 0s`."""

    type: Literal["default"]


DetectorConfig = Annotated[
    ThresholdDetector
    | SeasonalDetector
    | EwmaDetector
    | SpotDetector
    | CusumDetector
    | RateOfChangeDetector
    | VolatilityDetector
    | NoSignalDetector
    | StuckDetector
    | EnsembleDetector
    | DefaultDetector,
    Field(discriminator="type"),
]


def all_detectors(
    configs: typing.Sequence[DetectorConfig], path: tuple[str | int, ...] = ()
) -> typing.Iterator[tuple[tuple[str | int, ...], DetectorConfig]]:
    """Every detector among `configs`, ensembles' members included, with its path below
    `path` (the checker points at it; the warning state only wants the detectors)."""
    for i, c in enumerate(configs):
        yield (*path, i), c
        if isinstance(c, EnsembleDetector):
            yield from all_detectors(c.members, (*path, i, "members"))


DETECTOR_TYPES: tuple[str, ...] = (
    "threshold", "seasonal", "ewma", "spot", "cusum", "rate_of_change", "volatility",
    "no_signal", "stuck", "ensemble", "default",
)  # fmt: skip

EnsembleDetector.model_rebuild()

DAY = 86400  # seconds: the recurrence memory needs windows less than this apart
ALARM_DIGITS = 2  # an ensemble's alarm (for dead time and fatigue) is a tail of 10^-2 or less
ALARM_SCORE = 1.0 - 10.0**-ALARM_DIGITS  # i.e. a score of at least 0.99

#: The default ensemble: an EWMA, day and week profiles and CUSUM, judged against their own
#: history of surprise and shaped into one alarm per event.  docs/detectors.md gives its NAB
#: scores and how each stage was chosen.
DEFAULT_ENSEMBLE = EnsembleDetector(
    type="ensemble",
    members=[
        EwmaDetector(type="ewma", halflife=64, warmup=50),
        SeasonalDetector(type="seasonal", period="day", slot=1800, min_history=3),
        SeasonalDetector(type="seasonal", period="week", slot=3600, min_history=3),
        CusumDetector(type="cusum", k=0.5, h=20.0, halflife=256, warmup=50),
    ],
    combine="max",
    likelihood=300,
    smoothing=2,
    refractory=0.99,
    novelty=4000,
    recurrence=7,
    dead_time=20,
    fatigue=2000,
)


def alarm_rest(config: DetectorConfig) -> int:
    """Windows after an alarm (a score of at least 0.99) during which `config`'s score cannot
    reach an alarm again; 0 when it can hold one.  `config` is spelt out (`concrete`).

    An ensemble's own `dead_time` rests it.  An ensemble without one rests as long as its
    member when it has a single member and no `likelihood` or `novelty`: it then alarms only
    when the member does (refractory, recurrence and fatigue only lower the surprise), and
    while the member rests its score is 0 (a tail of 1).  `likelihood` smooths the surprise,
    which outlasts the member's alarm; `novelty` can lift a member's lesser surprise to an
    alarm; of several members another can alarm while one rests."""
    if not isinstance(config, EnsembleDetector):
        return 0
    inherited = 0
    if len(config.members) == 1 and config.likelihood is None and config.novelty is None:
        inherited = alarm_rest(config.members[0])
    return max(config.dead_time, inherited)


def default_ensemble(spacing: int) -> EnsembleDetector:
    """The default ensemble for windows `spacing` seconds apart: from a day on, without the
    recurrence memory (every daily window falls in the same time-of-day slot, so "reached at
    this time of day" would excuse anything within the last week's range)."""
    if spacing < DAY:
        return DEFAULT_ENSEMBLE
    return DEFAULT_ENSEMBLE.model_copy(update={"recurrence": None})


class LevelRule(Strict):
    threshold: PerAreaLevel = Field(
        description="score (0..1) or value that raises this level; with `on: value`, one "
        "number per area level where the levels need different ones ({street: 5, district: 15})"
    )
    for_: Duration = Field(0, alias="for", description="how long it must hold first")

    model_config = ConfigDict(**STRICT, populate_by_name=True)

    def at(self, area_level: str) -> float:
        """The threshold at one area level."""
        return at_level(self.threshold, area_level)


class WarningRules(Strict):
    """Blue < yellow < orange < red (IV .. I).  `clear` is the hysteresis: a firing warning
    resolves only once the value is back past `clear.threshold` for `clear.for`.  A threshold
    may be given per area level (`on: value` only); everything that judges a series uses the
    numbers of the series' own level (`thresholds`, `clear_threshold`)."""

    on: Literal["score", "value"] = "score"
    direction: Literal["above", "below"] = "above"
    levels: dict[WarningLevel, LevelRule] = Field(min_length=1)
    clear: LevelRule | None = None

    def rules(self) -> list[tuple[WarningLevel, LevelRule]]:
        """The warning levels written, blue first."""
        order = typing.get_args(WarningLevel)
        return sorted(self.levels.items(), key=lambda kv: order.index(kv[0]))

    def thresholds(self, area_level: str) -> dict[str, float]:
        """Warning level -> its threshold at `area_level`, blue first."""
        return {lvl: rule.at(area_level) for lvl, rule in self.rules()}

    def clear_threshold(self, area_level: str) -> float | None:
        """The clear threshold at `area_level`; None when no `clear` is written."""
        return None if self.clear is None else self.clear.at(area_level)

    @property
    def per_area_level(self) -> bool:
        """Whether any threshold is written per area level."""
        rules = [r for _, r in self.rules()] + ([self.clear] if self.clear else [])
        return any(per_level(r.threshold) for r in rules)

    def same_at(self, area_levels: list[str] | tuple[str, ...]) -> bool:
        """Whether every threshold is the same number at all of `area_levels`."""
        seen = {(tuple(self.thresholds(a).values()), self.clear_threshold(a)) for a in area_levels}
        return len(seen) <= 1


def _the_default() -> list[DetectorConfig]:
    return [DefaultDetector(type="default")]


class Detection(Strict):
    detectors: list[DetectorConfig] = Field(
        default_factory=_the_default,
        min_length=1,
        description="the detectors that score each closed window; the indicator's score is the "
        "highest of theirs.  Left out: the default ensemble (`{type: default}`)",
    )
    warnings: WarningRules

    def concrete(self, spacing: int) -> list[DetectorConfig]:
        """The detectors to build for windows `spacing` seconds apart: `default` spelt out,
        in ensembles' members too."""
        return [_spelt_out(d, spacing) for d in self.detectors]


def _spelt_out(config: DetectorConfig, spacing: int) -> DetectorConfig:
    if isinstance(config, DefaultDetector):
        return default_ensemble(spacing)
    if isinstance(config, EnsembleDetector):
        members = [_spelt_out(m, spacing) for m in config.members]
        if members != config.members:
            return config.model_copy(update={"members": members})
    return config
