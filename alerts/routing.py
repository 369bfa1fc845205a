"""Routing rules: from a warning or a hotline order to a department, a tier and deadlines.

The rules are YAML (alerts/routing.yaml by default), strict like the indicator language: unknown
keys, tiers, levels and departments are errors that say what was meant.  Precedence for a
warning: the matching `rules:` entries (most specific area last) > the indicator's `dispatch:`
block > `defaults:`."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from indicators.language.durations import Duration
from indicators.language.model import Deadline, Dispatch, Level, Tier
from indicators.language.registry import departments, did_you_mean
from indicators.language.validate import model_at, model_keys
from indicators.language.yamlload import YamlLoadError, load_yaml_text

from .areas import area_digits, covers
from .workcal import STATUTORY, WEEKDAYS, WorkingCalendar

log = logging.getLogger(__name__)
COVERAGE_AHEAD_DAYS = 31  # deadlines reach days ahead (supervision restarts them): warn before

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_department(v: str | None) -> str | None:
    if v is not None and v not in departments():
        raise ValueError(
            f"unknown department {v!r}{did_you_mean(v, list(departments()))}; "
            "departments are listed in indicators/registry/departments.yaml"
        )
    return v


def _weekdays() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


def _default_tiers() -> dict[Level, Tier]:
    return {"blue": "street", "yellow": "street", "orange": "district", "red": "city"}


def _default_deadlines() -> dict[Level, Deadline]:
    return {
        "blue": Deadline(accept=86400, handle=5 * 86400),
        "yellow": Deadline(accept=4 * 3600, handle=3 * 86400),
        "orange": Deadline(accept=3600, handle=86400),
        "red": Deadline(accept=1800, handle=12 * 3600),
    }


class CalendarSpec(_Strict):
    days: list[Weekday] = Field(default_factory=_weekdays)
    hours: tuple[str, str] = ("09:00", "17:00")
    statutory: str = Field(
        "none",
        description="official holidays and swapped working days: cn (mainland China) or none",
    )
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    @field_validator("statutory", mode="before")
    @classmethod
    def _statutory(cls, v: object) -> object:
        if v is None:  # `statutory:` written without a value
            return "none"
        if isinstance(v, str) and (v == "none" or v in STATUTORY):
            return v
        known = "; ".join(f"{k}: {what}" for k, what in STATUTORY.items())
        raise ValueError(
            f"unknown statutory calendar {v!r}{did_you_mean(str(v).lower(), list(STATUTORY))}; "
            "write "
            f"one of: {known}; or none (the weekdays of `days` and the listed dates only)"
        )

    @field_validator("hours")
    @classmethod
    def _hhmm(cls, v: tuple[str, str]) -> tuple[str, str]:
        for part in v:
            h, _, m = part.partition(":")
            if not (h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60):
                raise ValueError(f"{part!r} is not a time of day; write HH:MM like 09:00")
        return v


class Defaults(_Strict):
    tiers: dict[Level, Tier] = Field(default_factory=_default_tiers)
    deadlines: dict[Level, Deadline] = Field(default_factory=_default_deadlines)

    @field_validator("tiers", "deadlines")
    @classmethod
    def _all_levels(cls, v: dict[str, object]) -> dict[str, object]:
        missing = [lv for lv in ("blue", "yellow", "orange", "red") if lv not in v]
        if missing:
            raise ValueError(f"defaults must cover every level; missing {missing}")
        return v


class MergeSpec(_Strict):
    window: Duration = 86400


class VerificationSpec(_Strict):
    period: Duration = 7200


class DuplicateSpec(_Strict):
    radius_m: float = Field(30.0, gt=0, le=5000)
    window: Duration = 3 * 86400


class HotlineService(_Strict):
    department: str
    tier: Tier | None = None
    deadlines: Deadline | None = None
    working_hours_only: bool | None = None
    duplicates: DuplicateSpec | Literal[False] | None = Field(
        None, description="false: every order of this service is its own request (no merging)"
    )

    @field_validator("department")
    @classmethod
    def _dept(cls, v: str | None) -> str | None:
        return _known_department(v)


class HotlineSpec(_Strict):
    tier: Tier = "street"
    deadlines: Deadline = Deadline(accept=86400, handle=5 * 86400)
    working_hours_only: bool = True
    duplicates: DuplicateSpec = DuplicateSpec()
    services: dict[str, HotlineService] = Field(default_factory=dict)
    fallback_department: str = "street_office"


class Rule(_Strict):
    family: str | None = None
    indicator: str | None = None
    area: str | None = Field(None, description="area code prefix this rule applies in")
    department: str | None = None
    tiers: dict[Level, Tier] | None = None
    deadlines: dict[Level, Deadline] | None = None
    working_hours_only: bool | None = None

    @field_validator("department")
    @classmethod
    def _dept(cls, v: str | None) -> str | None:
        return _known_department(v)

    def matches(self, family: str, indicator_id: str, area_code: str) -> bool:
        return (
            (self.family is None or self.family == family)
            and (self.indicator is None or self.indicator == indicator_id)
            and (self.area is None or covers(self.area, area_code))
        )

    @property
    def specificity(self) -> int:
        return len(area_digits(self.area)) if self.area else 0


class RoutingConfig(_Strict):
    version: Literal[1] = 1
    timezone: str = "Asia/Shanghai"
    calendar: CalendarSpec = CalendarSpec()
    defaults: Defaults = Defaults()
    merge: MergeSpec = MergeSpec()
    verification: VerificationSpec = VerificationSpec()
    families: dict[str, str] = Field(default_factory=dict)
    hotline: HotlineSpec = HotlineSpec()
    rules: list[Rule] = Field(default_factory=list)

    def calendar_obj(self) -> WorkingCalendar:
        c = self.calendar
        return WorkingCalendar.build(
            self.timezone, c.days, c.hours[0], c.hours[1], c.holidays, c.workdays,
            statutory=None if c.statutory == "none" else c.statutory,
        )  # fmt: skip


@dataclass(frozen=True)
class Route:
    """Where one warning level or order goes."""

    family: str
    department: str
    tier: str
    accept: int
    handle: int
    working_hours_only: bool


class RoutingError(ValueError):
    pass


def load_routing(path: Path | str | None = None) -> RoutingConfig:
    """Read and validate a routing file (the packaged default when `path` is None).  Every
    mistake is reported as `file:line:col: where: what`, like the catalog's."""
    if path is None:
        text = resources.files("alerts").joinpath("routing.yaml").read_text("utf-8")
        name = "alerts/routing.yaml"
    else:
        text = Path(path).read_text("utf-8")
        name = str(path)
    try:
        loaded = load_yaml_text(text)
    except YamlLoadError as e:
        raise RoutingError(f"{name}:{e.position.line}:{e.position.col}: {e.message}") from None
    try:
        return RoutingConfig.model_validate(loaded.data or {})
    except ValidationError as e:
        found = []
        for err in e.errors():
            loc = tuple(err["loc"])
            at = loaded.position(loc, key=err["type"] == "extra_forbidden")
            msg = err["msg"].removeprefix("Value error, ")
            owner = model_at(RoutingConfig, loc[:-1]) if err["type"] == "extra_forbidden" else None
            if owner is not None and (keys := model_keys(owner)):
                msg = (
                    f'unknown key "{loc[-1]}"{did_you_mean(str(loc[-1]), keys)}; '
                    f"the keys here are: {', '.join(keys)}"
                )
            where = ".".join(str(p) for p in loc)
            found.append((at.line, at.col, f"{name}:{at.line}:{at.col}: {where}: {msg}"))
        lines = [text for _, _, text in sorted(found, key=lambda f: (f[0], f[1]))]
        raise RoutingError("\n".join(lines)) from None


class Router:
    """Answers "who, at which tier, by when" for warnings and hotline orders."""

    def __init__(self, config: RoutingConfig | None = None) -> None:
        self.config = config or load_routing()
        self.calendar = self.config.calendar_obj()
        self._rules = sorted(self.config.rules, key=lambda r: r.specificity)

    def family(
        self, category: str, indicator_id: str = "", source_categories: tuple[str, ...] = ()
    ) -> str:
        fam = self.config.families
        if indicator_id in fam:
            return fam[indicator_id]
        if category in ("hotline", "photo_report") and source_categories:
            code = source_categories[0]
            return fam.get(code, code)
        return fam.get(category, category)

    def for_warning(
        self,
        *,
        family: str,
        indicator_id: str,
        area_code: str,
        level: str,
        dispatch: Dispatch | None,
    ) -> Route | None:
        """The route for a warning at `level`, or None when nobody is to be dispatched."""
        department = dispatch.department if dispatch else None
        tiers: dict[str, str] = {k: v for k, v in dispatch.tiers.items()} if dispatch else {}
        deadlines: dict[str, Deadline] = (
            {k: v for k, v in dispatch.deadlines.items()} if dispatch else {}
        )
        whonly = dispatch.working_hours_only if dispatch else False
        for rule in self._rules:
            if not rule.matches(family, indicator_id, area_code):
                continue
            department = rule.department or department
            for lv, tier in (rule.tiers or {}).items():
                tiers[lv] = tier
            for lv, dl in (rule.deadlines or {}).items():
                deadlines[lv] = dl
            if rule.working_hours_only is not None:
                whonly = rule.working_hours_only
        if department is None:
            return None
        d = self.config.defaults
        dl = deadlines.get(level) or d.deadlines[level]  # type: ignore[index]
        return Route(
            family=family,
            department=department,
            tier=tiers.get(level) or d.tiers[level],  # type: ignore[index]
            accept=int(dl.accept),
            handle=int(dl.handle),
            working_hours_only=whonly,
        )

    def for_order(self, service_code: str) -> Route:
        h = self.config.hotline
        svc = h.services.get(service_code)
        dl = (svc.deadlines if svc else None) or h.deadlines
        wh = (
            svc.working_hours_only
            if svc and svc.working_hours_only is not None
            else (h.working_hours_only)
        )
        return Route(
            family=self.family_of_service(service_code),
            department=svc.department if svc else h.fallback_department,
            tier=(svc.tier if svc else None) or h.tier,
            accept=int(dl.accept),
            handle=int(dl.handle),
            working_hours_only=wh,
        )

    def family_of_service(self, service_code: str) -> str:
        return self.config.families.get(service_code, service_code)

    def duplicates_for(self, service_code: str) -> DuplicateSpec | None:
        """The duplicate rule of a service, or None when its orders never merge."""
        svc = self.config.hotline.services.get(service_code)
        if svc is not None and svc.duplicates is False:
            return None
        if svc is not None and svc.duplicates:
            return svc.duplicates
        return self.config.hotline.duplicates

    def deadline(self, start: int, seconds: int, working_hours_only: bool) -> int:
        if working_hours_only:
            return self.calendar.add(start, seconds)
        return start + seconds

    def calendar_coverage(self, now: float | None = None) -> tuple[str, str | None]:
        """What the working calendar is, and a warning when the statutory calendar does not
        cover the days ahead (today to COVERAGE_AHEAD_DAYS from now), whose deadlines would
        then count plain weekdays."""
        c = self.config.calendar
        cal = self.calendar
        about = f"calendar: {', '.join(c.days)} {c.hours[0]}-{c.hours[1]} ({self.config.timezone})"
        s = cal.statutory
        about += f", statutory {s.name} {s.years} ({s.source})" if s else ", no statutory holidays"
        about += f", {len(c.holidays)} holidays and {len(c.workdays)} workdays listed"
        at = datetime.now(cal.zone) if now is None else datetime.fromtimestamp(now, cal.zone)
        today = at.date()
        years = cal.uncovered_years(today, today + timedelta(days=COVERAGE_AHEAD_DAYS))
        return about, cal.uncovered_message(years) if years else None


def main(argv: list[str] | None = None) -> int:
    """`python -m alerts.routing FILE`: check a routing file."""
    args = sys.argv[1:] if argv is None else argv
    try:
        cfg = load_routing(args[0] if args else None)
    except (RoutingError, OSError) as e:
        print(e, file=sys.stderr)
        return 1
    print(f"ok: {len(cfg.hotline.services)} hotline services, {len(cfg.rules)} rules")
    about, uncovered = Router(cfg).calendar_coverage()
    print(about)
    if uncovered:
        print(f"warning: {uncovered}", file=sys.stderr)
    return 0


def warn_if_uncovered(router: Router, now: float | None = None) -> None:
    """At a service's start: log when the days ahead lie beyond the statutory calendar."""
    _, uncovered = router.calendar_coverage(now)
    if uncovered:
        log.warning("%s", uncovered)


__all__ = ["WEEKDAYS", "Route", "Router", "RoutingConfig", "RoutingError", "load_routing"]

if __name__ == "__main__":
    raise SystemExit(main())
