"""Date and instant arguments for the calendar and SLA subcommands (not a subcommand: leading underscore)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo


class BadArgument(ValueError):
    """A command-line value that cannot be used; the message says which and why."""


def parse_instant(text: str, tz: tzinfo, *, option: str, end_of_day: bool = False) -> datetime:
    """YYYY-MM-DD (local midnight in `tz`; the next midnight if end_of_day) or an ISO 8601 instant."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end_of_day else 0)
            return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadArgument(
            f"{option} {text!r}: use YYYY-MM-DD or an ISO 8601 time such as 2026-11-20T17:30-08:00"
        ) from None
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
    return at.astimezone(UTC)
