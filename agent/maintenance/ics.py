"""The maintenance calendar as an iCalendar feed (RRULE, EXDATE, VTIMEZONE), built with `icalendar`. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from agent.maintenance.rules import WindowConfig, zone

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


_KIND_TEXT = {
    "standard": "Standard maintenance window: service may be interrupted.",
    "planned": "Planned maintenance: service may be interrupted.",
    "emergency": "Emergency maintenance: service may be interrupted.",
    "informational": "For information: no customer impact is expected, and it is not counted as downtime.",
}


def _description(window: WindowConfig, names: Mapping[str, str], url: str) -> str:
    """What a customer reads in their calendar: the services by name, the impact, the reason, where to look."""
    scope = ", ".join(names.get(c, c) for c in window.components) if window.components else "all services"
    lines = [_KIND_TEXT.get(window.kind, ""), f"Affected services: {scope}."]
    if window.reason:
        lines.append(window.reason)
    if url:
        lines.append(f"Details and updates: {url}")
    return "\n".join(line for line in lines if line)


def window_event(
    window: WindowConfig,
    now: datetime,
    *,
    uid_domain: str = "dialtone",
    names: Mapping[str, str] | None = None,
    url: str = "",
) -> Event:
    """One VEVENT for a window definition (a recurring one keeps its RRULE and EXDATEs).

    The UID is the window's id at the provider's own domain, so two providers' feeds in one calendar never
    collide; the description names services, not internal ids."""
    tz = zone(window.zone)
    ev = Event()
    ev.add("uid", f"{window.id}@{uid_domain}")
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
    ev.add("description", _description(window, names or {}, url))
    if url:
        ev.add("url", url)
    return ev


def build_ics(
    windows: Sequence[WindowConfig],
    *,
    now: datetime,
    name: str = "Maintenance",
    uid_domain: str = "dialtone",
    names: Mapping[str, str] | None = None,
    url: str = "",
) -> bytes:
    """The feed customers subscribe to: one VEVENT per window, VTIMEZONEs for every zone used."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for w in windows:
        cal.add_component(window_event(w, now, uid_domain=uid_domain, names=names, url=url))
    # VTIMEZONE rules from the earliest window to 30 years ahead (icalendar stops at 2038 by default).
    first = min((w.start.date() for w in windows), default=now.date()) - timedelta(days=1)
    cal.add_missing_timezones(first_date=first, last_date=date(now.year + FEED_YEARS, 1, 1))
    return bytes(cal.to_ical())
