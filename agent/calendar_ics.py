"""The maintenance calendar as an iCalendar feed (RRULE, EXDATE, VTIMEZONE), built with `icalendar`. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from agent.calendar_rules import WindowConfig, zone

PRODID = "-//dialtone//maintenance calendar//EN"
FEED_YEARS = 30
"""How far ahead the VTIMEZONE definitions reach."""


def _rule(window: WindowConfig) -> vRecur:
    text = window.rrule or ""
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    rule: vRecur = vRecur.from_ical(text)
    until = rule.get("UNTIL")
    if until:
        value = until[0]
        # RFC 5545: with a zoned DTSTART, UNTIL is written in UTC.
        if isinstance(value, datetime):
            local = value.replace(tzinfo=zone(window.zone)) if value.tzinfo is None else value
            rule["UNTIL"] = [local.astimezone(UTC)]
    return rule


def _description(window: WindowConfig) -> str:
    scope = ", ".join(window.components) if window.components else "all components"
    lines = [f"Scope: {scope}.", f"Kind: {window.kind}."]
    if window.kind == "informational":
        lines.append("No customer impact; not counted as downtime.")
    if window.reason:
        lines.append(f"Reason: {window.reason}")
    return "\n".join(lines)


def window_event(window: WindowConfig, now: datetime) -> Event:
    """One VEVENT for a window definition (a recurring one keeps its RRULE and EXDATEs)."""
    tz = zone(window.zone)
    ev = Event()
    ev.add("uid", f"{window.id}@dialtone")
    ev.add("dtstamp", now.astimezone(UTC))
    prefix = "[emergency] " if window.kind == "emergency" else ""
    ev.add("summary", prefix + (window.title or window.id))
    ev.add("dtstart", window.start.replace(tzinfo=tz))
    ev.add("duration", timedelta(seconds=window.duration))
    if window.rrule:
        ev.add("rrule", _rule(window))
        for x in window.exdates:
            local = x.astimezone(tz) if x.tzinfo else x.replace(tzinfo=tz)
            ev.add("exdate", local)
    ev.add("categories", [window.kind])
    ev.add("transp", "TRANSPARENT" if window.kind == "informational" else "OPAQUE")
    ev.add("description", _description(window))
    return ev


def build_ics(windows: Sequence[WindowConfig], *, now: datetime, name: str = "Maintenance") -> bytes:
    """The feed customers subscribe to: one VEVENT per window, VTIMEZONEs for every zone used."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for w in windows:
        cal.add_component(window_event(w, now))
    # VTIMEZONE rules from the earliest window to 30 years ahead (icalendar stops at 2038 by default).
    first = min((w.start.date() for w in windows), default=now.date()) - timedelta(days=1)
    cal.add_missing_timezones(first_date=first, last_date=date(now.year + FEED_YEARS, 1, 1))
    return bytes(cal.to_ical())
