"""The permanent record: incidents and maintenance by month (history pages) and one .ics per maintenance.

A month's page lists only the days on which something happened (an incident began, a window ran), newest
first; a month with nothing says so once. Every month from the first record to now has its page, so a link to
a month never breaks, and incident pages are kept for every incident the store still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from statuspage.model import Incident, Maintenance, StatusModel


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of the record with what began on it."""

    day: date
    incidents: tuple[Incident, ...]
    maintenances: tuple[Maintenance, ...]


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month of the record (first day of the month) and its days, newest first."""

    month: date
    days: tuple[Day, ...]

    @property
    def path(self) -> str:
        """Its page, relative to a language's root."""
        return f"history-{self.month:%Y-%m}.html"


def months(model: StatusModel) -> list[Month]:
    """Every month from the first incident or window to now, newest first, with its days that saw one."""
    zone = ZoneInfo(model.time_zone)
    inc: dict[date, list[Incident]] = {}
    mts: dict[date, list[Maintenance]] = {}
    for i in model.incidents:
        inc.setdefault(i.started_at.astimezone(zone).date(), []).append(i)
    for mt in model.maintenances:
        if mt.status != "scheduled":  # a window enters the record once it begins
            mts.setdefault(mt.scheduled_for.astimezone(zone).date(), []).append(mt)
    today = model.generated_at.astimezone(zone).date()
    first = min([*inc, *mts, today])
    out: list[Month] = []
    y, m = today.year, today.month
    while (y, m) >= (first.year, first.month):
        days = sorted((d for d in {*inc, *mts} if (d.year, d.month) == (y, m)), reverse=True)
        out.append(Month(date(y, m, 1), tuple(_day(d, inc, mts) for d in days)))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def _day(d: date, inc: dict[date, list[Incident]], mts: dict[date, list[Maintenance]]) -> Day:
    incidents = sorted(inc.get(d, []), key=lambda i: i.started_at, reverse=True)
    windows = sorted(mts.get(d, []), key=lambda mt: mt.scheduled_for, reverse=True)
    return Day(d, tuple(incidents), tuple(windows))


def occurrence_ics(model: StatusModel, mt: Maintenance, names: Sequence[str], description: str) -> bytes:
    """One window as its own iCalendar file, for "add to calendar": stable while the window is unchanged."""
    host = urlsplit(model.url).hostname or f"{model.page_id}.dialtone.invalid"
    cal = Calendar()
    cal.add("prodid", "-//dialtone//status page//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    ev.add("uid", f"{mt.id}@{host}")
    ev.add("summary", mt.name)
    ev.add("dtstart", mt.scheduled_for.astimezone(UTC))
    ev.add("dtend", mt.scheduled_until.astimezone(UTC))
    # Stamped with the window's own last change, not the render: the file stays byte-identical between renders.
    ev.add("dtstamp", mt.created_at.astimezone(UTC))
    ev.add("description", description + ("\n" + ", ".join(names) if names else ""))
    if model.url:
        ev.add("url", f"{model.url.rstrip('/')}/maintenance.html#{mt.id}")
    ev.add("transp", "OPAQUE" if mt.counted else "TRANSPARENT")
    cal.add_component(ev)
    return bytes(cal.to_ical())
