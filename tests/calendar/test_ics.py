"""The iCalendar feed, expanded by icalendar + recurring-ical-events, gives the calendar's own instants."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import icalendar
import recurring_ical_events

from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig, build_ics
from tests.calendar.helpers import utc

NOW = utc(2026, 1, 5, 12)


def expand(feed: bytes, years: int = 20) -> list[tuple[str, Any, Any]]:
    cal = icalendar.Calendar.from_ical(feed)
    events = recurring_ical_events.of(cal).between(utc(2026, 1, 1), utc(2026 + years, 1, 1))
    out = [(str(e["UID"]).split("@")[0], e.start.astimezone(UTC), e.end.astimezone(UTC)) for e in events]
    return sorted(out, key=lambda t: (t[1], t[0]))


def ours(cal: MaintenanceCalendar, years: int = 20) -> list[tuple[str, Any, Any]]:
    return [(o.window, o.start, o.end) for o in cal.occurrences(utc(2026, 1, 1), utc(2026 + years, 1, 1))]


def test_default_feed_expands_to_the_same_instants_for_20_years() -> None:
    cal = MaintenanceCalendar()
    feed = build_ics(cal, now=NOW)
    assert expand(feed) == ours(cal)
    text = feed.decode()
    assert "RRULE:FREQ=MONTHLY;BYDAY=3FR" in text and "BEGIN:VTIMEZONE" in text
    assert "DTSTART;TZID=America/Denver:20200117T220000" in text


def test_feed_with_exdates_scopes_and_one_off_windows_matches() -> None:
    config = MaintenanceConfig.model_validate(
        {
            "windows": [
                {
                    "id": "pbx",
                    "kind": "standard",
                    "start": "2026-02-03T23:00",
                    "zone": "America/New_York",
                    "rrule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270101T000000Z",
                    "duration": "90m",
                    "exdates": ["2026-03-10T23:00", "2026-11-03T23:00"],
                    "components": ["voice"],
                },
                {
                    "id": "move",
                    "start": "2026-06-01T21:00",
                    "duration": "3h",
                    "published": "2026-05-01T00:00:00Z",
                    "title": "Data centre move",
                },
            ]
        }
    )
    cal = MaintenanceCalendar(config)
    feed = build_ics(cal, now=NOW)
    got, want = expand(feed, 2), ours(cal, 2)
    assert got == want
    pbx = [s for w, s, _ in got if w == "pbx"]
    assert len(pbx) == 48 - 2  # Tuesdays from 3 Feb to 29 Dec 2026, minus the two EXDATEs
    assert utc(2026, 3, 11, 3) not in pbx and utc(2026, 3, 18, 3) in pbx  # 23:00 EDT
    assert "EXDATE;TZID=America/New_York:20260310T230000" in feed.decode()
    assert "TZID:America/New_York" in feed.decode()


def test_certificate_upload_is_transparent_and_marked_informational() -> None:
    cal = icalendar.Calendar.from_ical(build_ics(MaintenanceCalendar(), now=NOW))
    (cert,) = [e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("certificate-upload")]
    assert isinstance(cert, icalendar.Event), cert
    assert str(cert["TRANSP"]) == "TRANSPARENT"
    assert "not counted" in str(cert["DESCRIPTION"])
    stamp = cert["DTSTAMP"]
    assert isinstance(stamp, icalendar.vDDDTypes) and stamp.dt == NOW, stamp
    assert cert.duration == timedelta(minutes=30)
