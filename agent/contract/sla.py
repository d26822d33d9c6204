"""Calendar-month availability per component: exclusions, allowance, service credits. Pure but for loaders.

Unavailable time = confirmed down intervals, clipped to the month (in the configured zone), merged, minus
counted maintenance windows and recorded exclusions. Each excluded minute is attributed once, to the
first of EXCLUSION_ORDER that covers it. Availability = 1 - unavailable / total; excluded time counts as
available. The allowance is (1 - target) x the month's minutes. Credit: one day for each cumulative
`credit_unit` (default one hour) of unavailability beyond the allowance, rounded by `credit_rounding`
(default floor: only a completed hour is an "each cumulative hour").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from agent.contract.intervals import Span, clip_merge, overlap, subtract, total
from agent.contract.sla_config import SlaConfig
from agent.maintenance.calendar import MaintenanceCalendar, Occurrence
from agent.maintenance.rules import zone

CAUSES: tuple[str, ...] = ("carrier", "customer", "dns", "force_majeure", "other")
"""Recorded exclusion causes (the contract's list, plus `other`, which needs a note)."""
EXCLUSION_ORDER: tuple[str, ...] = ("maintenance", "force_majeure", "carrier", "dns", "customer", "other")
"""Attribution order when exclusions overlap: each minute is counted once, under the first that covers it."""

Cause = Literal["carrier", "customer", "dns", "force_majeure", "other"]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A recorded exclusion: cause, [start, end) in UTC, components (empty = all) and a note."""

    cause: str
    start: datetime
    end: datetime
    components: frozenset[str] = frozenset()
    note: str = ""

    def applies_to(self, component: str) -> bool:
        """True when the exclusion covers `component`."""
        return not self.components or component in self.components


@dataclass(frozen=True, slots=True)
class SlaReport:
    """One component's month (or month to date). Minutes are floats; ratios are 0..1."""

    component: str
    month: str
    zone: str
    start: datetime
    end: datetime
    total_minutes: float
    down_minutes: float
    excluded_minutes: dict[str, float]
    unavailable_minutes: float
    availability: float
    target: float
    allowed_minutes: float
    met: bool
    hours_beyond: float
    credit_days: float
    budget_remaining: float
    month_to_date: bool = False
    notes: list[str] = field(default_factory=list)
    experienced_unavailable_minutes: float = 0.0
    """Also counting answered calls without usable audio (quality incidents), after the same exclusions."""
    experienced_availability: float = 1.0

    @property
    def contract_availability(self) -> float:
        """What the contract counts (not answered, not responding): credits come from this figure."""
        return self.availability

    def to_json(self) -> dict[str, object]:
        """A stable JSON shape."""
        return {
            "component": self.component,
            "month": self.month,
            "zone": self.zone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "month_to_date": self.month_to_date,
            "total_minutes": round(self.total_minutes, 3),
            "down_minutes": round(self.down_minutes, 3),
            "excluded_minutes": {k: round(v, 3) for k, v in self.excluded_minutes.items()},
            "unavailable_minutes": round(self.unavailable_minutes, 3),
            "availability": round(self.availability, 8),
            "contract_availability": round(self.availability, 8),
            "experienced_availability": round(self.experienced_availability, 8),
            "experienced_unavailable_minutes": round(self.experienced_unavailable_minutes, 3),
            "target": self.target,
            "allowed_minutes": round(self.allowed_minutes, 3),
            "met": self.met,
            "hours_beyond": round(self.hours_beyond, 4),
            "credit_days": self.credit_days,
            "error_budget_remaining": round(self.budget_remaining, 6),
        }


def parse_month(text: str) -> tuple[int, int]:
    """'2026-03' -> (2026, 3), with a clear error."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise ValueError(f"month {text!r}: use YYYY-MM, e.g. 2026-03")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(f"month {text!r}: month must be 01 to 12")
    if not 1970 <= year <= 9998:  # the month's edges, shifted to UTC and local zones, must stay representable
        raise ValueError(f"month {text!r}: year must be 1970 to 9998")
    return year, month


def month_bounds(year: int, month: int, tz_name: str) -> tuple[datetime, datetime]:
    """The calendar month as [start, end) aware UTC instants, its edges at local midnight in `tz_name`."""
    tz = zone(tz_name)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(at: datetime, tz_name: str) -> tuple[int, int]:
    """The (year, month) containing `at` in `tz_name`."""
    local = at.astimezone(zone(tz_name))
    return local.year, local.month


def credit_days(beyond_seconds: float, config: SlaConfig) -> float:
    """Credit days for `beyond_seconds` of unavailability beyond the allowance."""
    units = max(0.0, beyond_seconds) / config.credit_unit
    # Round away float noise first so 3600.0000001 s is one hour, not a second credit under ceil.
    units = round(units, 9)
    days = {"floor": math.floor, "ceil": math.ceil}.get(config.credit_rounding, lambda u: u)(units)
    if config.credit_cap_days is not None:
        days = min(days, config.credit_cap_days)
    return float(days)


def percent_ratio(percent: float) -> float:
    """99.99 -> 0.9999 exactly as written (plain division gives 0.9998999999999999)."""
    return round(percent / 100.0, 12)


def _bounds(start: datetime, end: datetime) -> tuple[float, float]:
    return start.timestamp(), end.timestamp()


def _ts(spans: Iterable[tuple[datetime, datetime]]) -> list[Span]:
    return [(a.timestamp(), b.timestamp()) for a, b in spans]


class SlaCalculator:
    """Computes SlaReports from down intervals given as plain data; maintenance comes from the calendar."""

    def __init__(
        self,
        config: SlaConfig | None = None,
        calendar: MaintenanceCalendar | None = None,
        exclusions: Sequence[Exclusion] = (),
    ) -> None:
        self.config = config or SlaConfig()
        self.calendar = calendar
        self.exclusions = list(exclusions)
        self._windows: dict[tuple[datetime, datetime], list[Occurrence]] = {}
        self._recorded: dict[tuple[float, float], dict[str, list[tuple[float, float, frozenset[str]]]]] = {}

    def _excluded(self, component: str, cause: str, lo: float, hi: float) -> list[Span]:
        # Index the records overlapping this month once; each report then scans only those.
        key = (lo, hi)
        if key not in self._recorded:
            if len(self._recorded) > 64:
                self._recorded.clear()
            index: dict[str, list[tuple[float, float, frozenset[str]]]] = {}
            for e in self.exclusions:
                a, b = e.start.timestamp(), e.end.timestamp()
                if b > lo and a < hi:
                    index.setdefault(e.cause, []).append((a, b, e.components))
            self._recorded[key] = index
        return [(a, b) for a, b, scope in self._recorded[key].get(cause, ()) if not scope or component in scope]

    def _maintenance(self, component: str, start: datetime, end: datetime) -> list[Span]:
        if self.calendar is None:
            return []
        key = (start, end)
        if key not in self._windows:
            if len(self._windows) > 64:
                self._windows.clear()
            self._windows[key] = self.calendar.occurrences(start, end, informational=False)
        return [(o.start.timestamp(), o.end.timestamp()) for o in self._windows[key] if o.applies_to(component)]

    def report(
        self,
        component: str,
        target_percent: float,
        year: int,
        month: int,
        down: Iterable[tuple[datetime, datetime]],
        *,
        now: datetime | None = None,
        causes: Sequence[tuple[datetime, datetime, str]] = (),
        quality: Iterable[tuple[datetime, datetime]] = (),
    ) -> SlaReport:
        """The month's report; with `now` inside the month, the month to date. `causes`: outages with a cause.

        `down` is the contract's downtime; `quality` adds the answered calls without usable audio, which count
        against the experienced availability only."""
        start, end = month_bounds(year, month, self.config.zone)
        span_end = min(end, now) if now is not None and now > start else end
        down, lohi = list(down), _bounds(start, span_end)
        remaining, excluded = self._exclude(component, start, span_end, clip_merge(_ts(down), *lohi), causes)
        experienced, _ = self._exclude(component, start, span_end, clip_merge(_ts(down) + _ts(quality), *lohi), causes)
        report = self._summarise(component, target_percent, (year, month), (start, end, span_end), remaining, excluded)
        total_s = (span_end - start).total_seconds()
        lost = total(experienced)
        return replace(
            report,
            experienced_unavailable_minutes=lost / 60,
            experienced_availability=1.0 - lost / total_s if total_s > 0 else 1.0,
        )

    def _exclude(
        self,
        component: str,
        start: datetime,
        span_end: datetime,
        remaining: list[Span],
        causes: Sequence[tuple[datetime, datetime, str]],
    ) -> tuple[list[Span], dict[str, float]]:
        """Take each exclusion cause's minutes out of `remaining`, in EXCLUSION_ORDER."""
        lo, hi = _bounds(start, span_end)
        excluded: dict[str, float] = {}
        for cause in EXCLUSION_ORDER:
            if cause == "maintenance":
                spans = self._maintenance(component, start, span_end)
            else:
                spans = self._excluded(component, cause, lo, hi)
                spans += [(a.timestamp(), b.timestamp()) for a, b, c in causes if c == cause]
            merged = clip_merge(spans, lo, hi)
            taken = overlap(remaining, merged)
            if taken > 0:
                excluded[cause] = taken / 60
                remaining = subtract(remaining, merged)
        return remaining, excluded

    def _summarise(
        self,
        component: str,
        target_percent: float,
        ym: tuple[int, int],
        bounds: tuple[datetime, datetime, datetime],
        remaining: list[Span],
        excluded: dict[str, float],
    ) -> SlaReport:
        start, end, span_end = bounds
        total_s = (span_end - start).total_seconds()
        unavailable_s = total(remaining)
        # Percent arithmetic rounded to the microsecond so 99.95 % of a month is not 1e-12 s off.
        allowed_s = round((100.0 - target_percent) / 100.0 * (end - start).total_seconds(), 6)
        beyond_s = max(0.0, unavailable_s - allowed_s)
        # With no allowance (a 100 % target) the budget is whole until the first unavailable second.
        budget = 1.0 - unavailable_s / allowed_s if allowed_s > 0 else float(unavailable_s == 0)
        return SlaReport(
            component=component,
            month=f"{ym[0]:04d}-{ym[1]:02d}",
            zone=self.config.zone,
            start=start,
            end=span_end,
            total_minutes=total_s / 60,
            down_minutes=unavailable_s / 60 + sum(excluded.values()),
            excluded_minutes=excluded,
            unavailable_minutes=unavailable_s / 60,
            availability=1.0 - unavailable_s / total_s if total_s > 0 else 1.0,
            target=percent_ratio(target_percent),
            allowed_minutes=allowed_s / 60,
            met=unavailable_s <= allowed_s + 1e-6,
            hours_beyond=beyond_s / 3600,
            credit_days=credit_days(beyond_s, self.config),
            budget_remaining=budget,
            month_to_date=span_end < end,
        )
