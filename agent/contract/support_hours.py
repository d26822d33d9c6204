"""The support calendar: business hours and the contract's holidays, from rules. Pure, no I/O.

Holidays are the contract's dates themselves, never "observed" substitutes: when Independence Day, Christmas
Eve, Christmas Day or New Year's Day falls on a Saturday or Sunday, that day was not a support day anyway and
no weekday is closed in its place (the contract lists days, not observed days). The support clock only
runs from `opens` to `closes` local time on support days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from dateutil.easter import easter
from pydantic import Field, model_validator

from agent.core.config_base import ConfigModel
from agent.maintenance.rules import zone

HolidayName = Literal[
    "new_years_day",
    "presidents_day",
    "good_friday",
    "memorial_day",
    "independence_day",
    "labor_day",
    "thanksgiving_eve",
    "thanksgiving",
    "christmas_eve",
    "christmas_day",
]
HOLIDAYS: tuple[HolidayName, ...] = (
    "new_years_day",
    "presidents_day",
    "good_friday",
    "memorial_day",
    "independence_day",
    "labor_day",
    "thanksgiving_eve",
    "thanksgiving",
    "christmas_eve",
    "christmas_day",
)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) `weekday` (Monday=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def holiday_dates(year: int) -> dict[HolidayName, date]:
    """Every contract holiday of `year`, by rule."""
    thanksgiving = nth_weekday(year, 11, 3, 4)
    return {
        "new_years_day": date(year, 1, 1),
        "presidents_day": nth_weekday(year, 2, 0, 3),
        "good_friday": easter(year) - timedelta(days=2),
        "memorial_day": nth_weekday(year, 5, 0, -1),
        "independence_day": date(year, 7, 4),
        "labor_day": nth_weekday(year, 9, 0, 1),
        "thanksgiving_eve": thanksgiving - timedelta(days=1),
        "thanksgiving": thanksgiving,
        "christmas_eve": date(year, 12, 24),
        "christmas_day": date(year, 12, 25),
    }


class SupportConfig(ConfigModel):
    """The `sla.support:` block: support hours, support days and which holidays close the desk."""

    zone: str = "America/Los_Angeles"
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(_WEEKDAYS[:5]))
    holidays: list[HolidayName] = Field(default_factory=lambda: list(HOLIDAYS))
    closed_days: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SupportConfig:
        zone(self.zone)
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        if not self.weekdays:
            raise ValueError("weekdays: at least one support weekday is needed")
        return self


class SupportCalendar:
    """Support days and the support clock; pure functions of the dates and instants given."""

    def __init__(self, config: SupportConfig | None = None) -> None:
        self.config = config or SupportConfig()
        self._tz = zone(self.config.zone)
        self._weekdays = {_WEEKDAYS.index(d) for d in self.config.weekdays}
        self._closed = set(self.config.closed_days)
        self._years: dict[int, dict[date, str]] = {}

    @property
    def day_length(self) -> timedelta:
        """Support time in one support day (10 h by default)."""
        c = self.config
        return datetime.combine(date.min, c.closes) - datetime.combine(date.min, c.opens)

    def holiday(self, day: date) -> str | None:
        """The name of the holiday on `day`, if one of the configured ones."""
        if day.year not in self._years:
            wanted = set(self.config.holidays)
            found = holiday_dates(day.year)
            self._years[day.year] = {d: n for n, d in found.items() if n in wanted}
        return self._years[day.year].get(day)

    def is_support_day(self, day: date) -> bool:
        """A support weekday that is neither a holiday nor a configured closed day."""
        return day.weekday() in self._weekdays and day not in self._closed and self.holiday(day) is None

    def in_support_hours(self, at: datetime) -> bool:
        """True when the support clock runs at `at`."""
        local = at.astimezone(self._tz)
        return self.is_support_day(local.date()) and self.config.opens <= local.time() < self.config.closes

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of support time has run from `start` (UTC)."""
        if amount < timedelta(0):
            raise ValueError("support time to add cannot be negative")
        start = start.astimezone(UTC)
        day = start.astimezone(self._tz).date()
        remaining = amount
        # A year has ~250 support days; 40 years bounds any contract deadline without looping forever.
        for _ in range(366 * 40):
            if self.is_support_day(day):
                opens = datetime.combine(day, self.config.opens, self._tz).astimezone(UTC)
                closes = datetime.combine(day, self.config.closes, self._tz).astimezone(UTC)
                begin = max(opens, start)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError("no support time found within 40 years; check sla.support")

    def add_days(self, start: datetime, days: float) -> datetime:
        """`days` support days after `start`: that many full support days of support time."""
        return self.add(start, self.day_length * days)
