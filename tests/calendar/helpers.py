"""Independent reference computations for the calendar tests (plain calendar arithmetic and zoneinfo)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DENVER = ZoneInfo("America/Denver")
LA = ZoneInfo("America/Los_Angeles")


def third_friday(year: int, month: int) -> date:
    """The third Friday, by weekday arithmetic (no dateutil)."""
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def standard_windows(first_year: int, years: int) -> list[tuple[datetime, datetime]]:
    """The contract's window for every month: third Friday 22:00 Denver for 6 hours, as UTC instants."""
    out = []
    for y in range(first_year, first_year + years):
        for m in range(1, 13):
            d = third_friday(y, m)
            start = datetime(d.year, d.month, d.day, 22, 0, tzinfo=DENVER).astimezone(UTC)
            out.append((start, start + timedelta(hours=6)))
    return out


def utc(*args: int) -> datetime:
    """A UTC instant."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]  # *args are year, month, day...


def denver(*args: int) -> datetime:
    """A Denver wall time as a UTC instant."""
    return datetime(*args, tzinfo=DENVER).astimezone(UTC)  # type: ignore[arg-type, misc]  # *args are year, month...
