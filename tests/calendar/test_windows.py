"""Window expansion against independent calendar arithmetic: 20 years, DST, year ends, scoping, notice."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig
from tests.calendar.helpers import DENVER, denver, standard_windows, utc

REFERENCE = standard_windows(2026, 20)
REF_STARTS = [s for s, _ in REFERENCE]
STD = "FREQ=MONTHLY;BYDAY=3FR"


def calendar(*windows: dict[str, Any], **kw: Any) -> MaintenanceCalendar:
    return MaintenanceCalendar(MaintenanceConfig.model_validate({"windows": list(windows), **kw}))


def test_standard_window_matches_third_friday_arithmetic_for_20_years() -> None:
    cal = MaintenanceCalendar()
    found = cal.occurrences(utc(2026, 1, 1), utc(2046, 1, 1), informational=False)
    assert [(o.start, o.end) for o in found] == REFERENCE
    for o in found:
        local_start, local_end = o.local(o.start), o.local(o.end)
        assert (local_start.weekday(), local_start.hour, local_start.minute) == (4, 22, 0)
        assert (local_end.weekday(), local_end.hour) == (5, 4)  # ends Saturday 04:00, across midnight
        assert 15 <= local_start.day <= 21


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2045, 12, 1), timezones=st.just(UTC)))
def test_active_and_next_start_match_the_reference_at_any_instant(now: datetime) -> None:
    cal = MaintenanceCalendar()
    inside = any(s <= now < e for s, e in REFERENCE)
    assert cal.active("voice", now) is inside
    assert cal.next_start("voice", now) == REF_STARTS[bisect_right(REF_STARTS, now)]


@given(st.lists(st.integers(min_value=0, max_value=19 * 365 * 24 * 60), min_size=1, max_size=40))
def test_cached_answers_hold_in_any_query_order(minutes: list[int]) -> None:
    shared = MaintenanceCalendar()
    for m in sorted(minutes) + minutes:
        now = utc(2026, 1, 1) + timedelta(minutes=m)
        nxt = REF_STARTS[bisect_right(REF_STARTS, now)]
        assert shared.active("voice", now) is any(s <= now < e for s, e in REFERENCE)
        assert shared.next_start("voice", now) == nxt
        assert shared.notice_published("voice", now) is (now >= nxt - timedelta(days=7))


def test_window_edges_are_half_open() -> None:
    cal = MaintenanceCalendar()
    start, end = denver(2026, 11, 20, 22, 0), denver(2026, 11, 21, 4, 0)
    assert not cal.active("voice", start - timedelta(microseconds=1))
    assert cal.active("voice", start)
    assert cal.active("voice", end - timedelta(microseconds=1))
    assert not cal.active("voice", end)
    assert cal.next_start("voice", start) == denver(2026, 12, 18, 22, 0)


def test_certificate_upload_is_shown_every_friday_but_never_active() -> None:
    cal = MaintenanceCalendar()
    shown = [o for o in cal.occurrences(utc(2026, 1, 1), utc(2027, 1, 1)) if o.kind == "informational"]
    fridays = [date(2026, 1, 2) + timedelta(days=7 * i) for i in range(52)]
    assert [o.start for o in shown] == [denver(f.year, f.month, f.day, 0, 0) for f in fridays]
    assert all(o.end - o.start == timedelta(minutes=30) and not o.counted for o in shown)
    assert not any(cal.active("voice", o.start) for o in shown)
    assert cal.maintenance_intervals("voice", shown[0].start, shown[0].end) == []


def test_dst_gap_start_uses_the_offset_before_the_gap() -> None:
    # 2026-03-08 02:30 does not exist in Denver: RFC 5545 reads it with MST (-07:00), i.e. 03:30 MDT.
    cal = calendar({"id": "gap", "kind": "standard", "start": "2026-03-08T02:30", "duration": "1h"})
    (o,) = [o for o in cal.occurrences(utc(2026, 3, 1), utc(2026, 4, 1)) if o.window == "gap"]
    assert o.start == utc(2026, 3, 8, 9, 30)
    assert o.local(o.start).hour == 3


def test_dst_ambiguous_start_is_the_first_occurrence() -> None:
    # 2026-11-01 01:30 happens twice in Denver; the first is MDT (-06:00).
    cal = calendar({"id": "amb", "kind": "standard", "start": "2026-11-01T01:30", "duration": "1h"})
    starts = [o.start for o in cal.occurrences(utc(2026, 10, 31), utc(2026, 11, 2)) if o.window == "amb"]
    assert starts == [utc(2026, 11, 1, 7, 30)]


def test_weekly_window_keeps_wall_time_across_both_dst_changes() -> None:
    rule = {"id": "sat", "kind": "standard", "start": "2026-03-07T22:00", "rrule": "FREQ=WEEKLY", "duration": "6h"}
    cal = calendar(rule)
    found = [o for o in cal.occurrences(utc(2026, 3, 1), utc(2026, 11, 20)) if o.window == "sat"]
    assert all(o.local(o.start).hour == 22 for o in found)
    march, november = found[0], found[-3]
    assert march.start == utc(2026, 3, 8, 5, 0)  # 22:00 MST
    # The March night crosses the spring-forward change: 6 elapsed hours end at 05:00 MDT.
    assert march.local(march.end).hour == 5
    assert november.start == denver(2026, 10, 31, 22, 0) and november.local(november.end).hour == 3
    assert found[1].start == utc(2026, 3, 15, 4, 0)  # 22:00 MDT


def test_window_across_the_year_end_is_found_from_either_year() -> None:
    cal = calendar(
        {"id": "nye", "kind": "standard", "start": "2026-12-31T22:00", "rrule": "FREQ=YEARLY", "duration": "6h"}
    )
    jan = [o for o in cal.occurrences(utc(2027, 1, 1, 7), utc(2027, 2, 1)) if o.window == "nye"]
    assert [o.start for o in jan] == [denver(2026, 12, 31, 22, 0)]
    assert cal.active("any", denver(2027, 1, 1, 3, 59))
    assert cal.next_start("any", denver(2027, 1, 1, 3, 59)) == denver(2027, 1, 15, 22, 0)  # January's standard


def test_leap_day_rule_occurs_only_in_leap_years() -> None:
    leap = {"id": "leap", "kind": "standard", "start": "2028-02-29T22:00", "rrule": "FREQ=YEARLY", "duration": "1h"}
    found = calendar(leap, standard=False).occurrences(utc(2028, 1, 1), utc(2041, 1, 1))
    assert [o.local(o.start).year for o in found if o.window == "leap"] == [2028, 2032, 2036, 2040]


def test_exdate_cancels_one_occurrence() -> None:
    cal = calendar(
        {
            "id": "std",
            "kind": "standard",
            "start": "2026-01-16T22:00",
            "rrule": STD,
            "duration": "6h",
            "exdates": ["2026-12-18T22:00"],
        },
        standard=False,
    )
    months = [o.local(o.start).month for o in cal.occurrences(utc(2026, 1, 1), utc(2027, 1, 1), informational=False)]
    assert months == list(range(1, 12))
    assert not cal.active("voice", denver(2026, 12, 18, 23))


def test_scope_limits_a_window_to_its_components() -> None:
    cal = calendar(
        {
            "id": "sbc",
            "kind": "planned",
            "start": "2026-05-05T01:00",
            "duration": "2h",
            "components": ["voice"],
            "published": "2026-04-20T09:00:00-06:00",
        },
        standard=False,
    )
    at = denver(2026, 5, 5, 2)
    assert cal.active("voice", at) and not cal.active("portal", at)
    assert cal.next_start("portal", utc(2026, 5, 1)) is None


def test_notice_is_published_one_week_ahead_for_the_standard_window() -> None:
    cal = MaintenanceCalendar()
    start = denver(2026, 11, 20, 22)
    assert not cal.notice_published("voice", start - timedelta(days=7, seconds=1))
    assert cal.notice_published("voice", start - timedelta(days=7))
    nxt = cal.next_occurrence("voice", start - timedelta(days=1))
    assert nxt is not None and nxt.notice_at == start - timedelta(days=7) and not nxt.emergency


def test_planned_work_with_short_notice_is_refused_with_the_reason() -> None:
    window = {"id": "x", "start": "2026-03-02T10:00", "duration": "2h", "published": "2026-03-02T00:00:00-07:00"}
    with pytest.raises(ValidationError, match=r"window x: planned work .* 10 h given, 24 h required"):
        calendar(window)


def test_short_notice_can_be_marked_emergency_instead() -> None:
    window = {"id": "x", "start": "2026-03-02T10:00", "duration": "2h", "published": "2026-03-02T00:00:00-07:00"}
    cal = calendar(window, short_notice="emergency", standard=False)
    (o,) = cal.occurrences(utc(2026, 3, 1), utc(2026, 3, 3), informational=False)
    assert o.emergency and o.reason == "short notice: 10 h given, 24 h required"
    assert o.notice_at == utc(2026, 3, 2, 7)


def test_enough_notice_and_emergency_work_are_accepted() -> None:
    ok = {"id": "ok", "start": "2026-03-05T10:00", "duration": "2h", "published": "2026-03-02T00:00:00-07:00"}
    em = {"id": "em", "kind": "emergency", "start": "2026-03-02T10:00", "duration": "1h", "reason": "SBC fault"}
    found = calendar(ok, em, standard=False).occurrences(utc(2026, 3, 1), utc(2026, 3, 6), informational=False)
    assert [(o.window, o.emergency, o.reason) for o in found] == [("em", True, "SBC fault"), ("ok", False, "")]


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"id": "a", "start": "2026-01-01T00:00", "duration": "1h", "zone": "Mars/Olympus"}, "unknown time zone"),
        (
            {"id": "a", "kind": "standard", "start": "2026-01-01T00:00", "duration": "1h", "rrule": "FREQ=SOMETIMES"},
            "rrule: invalid 'FREQ'",
        ),
        (
            {"id": "a", "kind": "standard", "start": "2026-01-01T00:00", "duration": "1h", "rrule": "FREQ=MINUTELY"},
            "HOURLY or coarser",
        ),
        (
            {"id": "a", "kind": "standard", "start": "2026-01-01T22:00", "duration": "6h", "rrule": STD},
            "not an occurrence of rrule",
        ),
        (
            {
                "id": "a",
                "kind": "standard",
                "start": "2026-01-16T22:00",
                "duration": "6h",
                "rrule": STD,
                "exdates": ["2026-02-20T21:00"],
            },
            r"exdates\[0\]: 2026-02-20T21:00:00 is not an occurrence",
        ),
        ({"id": "a", "kind": "emergency", "start": "2026-01-01T00:00", "duration": "1h"}, "needs a reason"),
        ({"id": "a", "start": "2026-01-01T00:00", "duration": "1h"}, "planned work needs `published`"),
        ({"id": "a", "kind": "standard", "start": "2026-01-01T00:00", "duration": "0s"}, "greater than 0"),
        ({"id": "standard", "kind": "standard", "start": "2026-01-01T00:00", "duration": "1h"}, "duplicate window id"),
    ],
)
def test_bad_windows_are_refused_with_a_specific_error(window: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        calendar(window)


def test_offset_start_is_converted_to_the_window_zone() -> None:
    cal = calendar({"id": "z", "kind": "standard", "start": "2026-06-01T04:00:00Z", "duration": "1h"}, standard=False)
    (o,) = cal.occurrences(utc(2026, 5, 31), utc(2026, 6, 2), informational=False)
    assert o.start == utc(2026, 6, 1, 4) and o.local(o.start).hour == 22 and o.zone == "America/Denver"
    assert DENVER.key == o.zone
