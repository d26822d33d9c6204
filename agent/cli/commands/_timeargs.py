"""Date and instant arguments for the calendar and SLA subcommands (not a subcommand: leading underscore)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo


class BadArgument(ValueError):
    """A command-line value that cannot be used; the message says which and why."""


FIRST_YEAR, LAST_YEAR = 1970, 9998
"""Instants outside these years are refused: windows, deadlines and month edges computed from them must stay
within what datetime can represent (year 1 to 9999) after shifting zones and adding days."""


def _check_year(year: int, text: str, option: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadArgument(f"{option} {text!r}: give a time between the years {FIRST_YEAR} and {LAST_YEAR}")


def parse_instant(text: str, tz: tzinfo, *, option: str, end_of_day: bool = False) -> datetime:
    """YYYY-MM-DD (local midnight in `tz`; the next midnight if end_of_day) or an ISO 8601 instant."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            _check_year(day.year, text, option)
            day += timedelta(days=1 if end_of_day else 0)
            return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        at = datetime.fromisoformat(value)
    except BadArgument:
        raise
    except ValueError:
        raise BadArgument(
            f"{option} {text!r}: use YYYY-MM-DD or an ISO 8601 time such as 2026-11-20T17:30-08:00"
        ) from None
    _check_year(at.year, text, option)
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at.astimezone(UTC)


def parse_aware(text: str, *, option: str) -> datetime:
    """An ISO 8601 instant that must carry its UTC offset (a naive time's zone would be a guess)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadArgument(f"{option} {text!r}: use an ISO 8601 time such as 2026-11-20T17:30-08:00") from None
    if at.tzinfo is None:
        raise BadArgument(f"{option} {text!r}: give a UTC offset, e.g. {text.strip()}-08:00 or {text.strip()}Z")
    _check_year(at.year, text, option)
    return at.astimezone(UTC)
