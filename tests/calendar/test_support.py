"""Support calendar, holidays by rule, priorities and due times across weekends, holidays and DST."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from agent.contract.priority import Priority, deadlines, priority_from_evidence
from agent.contract.support_hours import HOLIDAYS, SupportCalendar, SupportConfig, holiday_dates, nth_weekday
from tests.calendar.helpers import LA, utc


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA)  # type: ignore[arg-type, misc]  # *args are year, month, day...


def test_holidays_2026_by_rule() -> None:
    assert holiday_dates(2026) == {
        "new_years_day": date(2026, 1, 1),
        "presidents_day": date(2026, 2, 16),
        "good_friday": date(2026, 4, 3),
        "memorial_day": date(2026, 5, 25),
        "independence_day": date(2026, 7, 4),
        "labor_day": date(2026, 9, 7),
        "thanksgiving_eve": date(2026, 11, 25),
        "thanksgiving": date(2026, 11, 26),
        "christmas_eve": date(2026, 12, 24),
        "christmas_day": date(2026, 12, 25),
    }


@pytest.mark.parametrize(
    ("year", "good_friday", "thanksgiving"),
    [
        (2024, date(2024, 3, 29), date(2024, 11, 28)),
        (2025, date(2025, 4, 18), date(2025, 11, 27)),
        (2027, date(2027, 3, 26), date(2027, 11, 25)),
        (2038, date(2038, 4, 23), date(2038, 11, 25)),
    ],
)
def test_easter_and_nth_weekday_rules(year: int, good_friday: date, thanksgiving: date) -> None:
    found = holiday_dates(year)
    assert found["good_friday"] == good_friday and found["thanksgiving"] == thanksgiving
    assert found["thanksgiving_eve"] == thanksgiving - timedelta(days=1)


def test_nth_weekday_last_monday_of_may() -> None:
    assert [nth_weekday(y, 5, 0, -1) for y in (2026, 2027, 2028)] == [
        date(2026, 5, 25),
        date(2027, 5, 31),
        date(2028, 5, 29),
    ]


def test_weekend_holidays_are_not_moved_to_an_observed_weekday() -> None:
    cal = SupportCalendar()
    assert cal.holiday(date(2026, 7, 4)) == "independence_day"  # a Saturday
    assert cal.is_support_day(date(2026, 7, 3)) and cal.is_support_day(date(2026, 7, 6))
    assert cal.holiday(date(2027, 12, 25)) == "christmas_day"  # a Saturday
    assert cal.is_support_day(date(2027, 12, 27))
    assert not cal.is_support_day(date(2027, 12, 24))  # Christmas Eve is itself a holiday (a Friday)


# Each holiday in a year where it falls on a weekday: a P2 opened at 17:00 on the last support day before it
# gets one support hour that evening and the other seven on the next support day: due at 15:00.
HOLIDAY_CASES = [
    ("new_years_day", la(2025, 12, 31, 17), la(2026, 1, 2, 15)),
    ("presidents_day", la(2026, 2, 13, 17), la(2026, 2, 17, 15)),
    ("good_friday", la(2026, 4, 2, 17), la(2026, 4, 6, 15)),
    ("memorial_day", la(2026, 5, 22, 17), la(2026, 5, 26, 15)),
    ("independence_day", la(2025, 7, 3, 17), la(2025, 7, 7, 15)),
    ("labor_day", la(2026, 9, 4, 17), la(2026, 9, 8, 15)),
    ("thanksgiving_eve", la(2026, 11, 24, 17), la(2026, 11, 27, 15)),
    ("thanksgiving", la(2026, 11, 24, 17), la(2026, 11, 27, 15)),
    ("christmas_eve", la(2026, 12, 23, 17), la(2026, 12, 28, 15)),
    ("christmas_day", la(2026, 12, 23, 17), la(2026, 12, 28, 15)),
]


@pytest.mark.parametrize(("name", "opened", "due"), HOLIDAY_CASES, ids=[c[0] for c in HOLIDAY_CASES])
def test_p2_response_skips_each_holiday(name: str, opened: datetime, due: datetime) -> None:
    assert deadlines("P2", opened).response == due.astimezone(utc(2026, 1, 1).tzinfo)
    # Without that holiday configured the next day counts again (so the holiday is what moved it).
    others = [h for h in HOLIDAYS if h != name]
    cal = SupportCalendar(SupportConfig(holidays=others))
    assert deadlines("P2", opened, cal).response < due


def test_the_issue_example_p2_friday_evening() -> None:
    d = deadlines("P2", datetime.fromisoformat("2026-11-20T17:30-08:00"))
    assert d.response == la(2026, 11, 23, 15, 30)  # 30 min Friday + 7.5 h Monday
    assert d.rfo == la(2026, 11, 24, 17, 30)  # 96 elapsed hours
    # 50 support hours: Fri 0.5, Mon 10, Tue 10, (Wed, Thu holidays), Fri 10, Mon 10, Tue 9.5.
    assert d.resolution == la(2026, 12, 1, 17, 30)


def test_p1_runs_24x7_over_a_weekend() -> None:
    opened = la(2026, 11, 21, 23, 0)  # a Saturday night
    d = deadlines(Priority.P1, opened)
    assert (d.response, d.rfo, d.resolution) == (
        opened + timedelta(hours=4),
        opened + timedelta(hours=48),
        opened + timedelta(days=2),
    )


def test_support_clock_starts_at_opening_and_keeps_local_hours_across_dst() -> None:
    cal = SupportCalendar()
    # Opened on the Saturday before the spring change: the clock starts Monday 08:00 PDT.
    assert cal.add(la(2026, 3, 7, 12), timedelta(hours=1)) == la(2026, 3, 9, 9)
    assert cal.add(la(2026, 3, 6, 17), timedelta(hours=2)) == la(2026, 3, 9, 9)
    assert cal.add(la(2026, 10, 30, 17), timedelta(hours=2)) == la(2026, 11, 2, 9)  # after the fall change
    assert cal.add(la(2026, 3, 9, 6), timedelta(0)) == la(2026, 3, 9, 8)


def test_p3_resolution_is_fifteen_support_days() -> None:
    d = deadlines("p3", la(2026, 6, 1, 8))  # a Monday at opening: three working weeks later
    assert d.resolution == la(2026, 6, 19, 18)
    assert d.response == la(2026, 6, 3, 12)  # 24 support hours: Mon 10, Tue 10, Wed 4


def test_in_support_hours() -> None:
    cal = SupportCalendar()
    assert cal.in_support_hours(la(2026, 6, 1, 8))
    assert not cal.in_support_hours(la(2026, 6, 1, 18))
    assert not cal.in_support_hours(la(2026, 5, 25, 12))  # Memorial Day


@pytest.mark.parametrize(
    ("voice_failing", "voice_total", "other", "registration", "expected"),
    [
        (3, 3, 0, False, Priority.P1),
        (1, 3, 0, True, Priority.P1),
        (1, 3, 0, False, Priority.P2),
        (0, 3, 1, False, Priority.P2),
        (0, 0, 1, False, Priority.P2),
        (0, 3, 0, False, None),
        (0, 0, 0, False, None),
    ],
)
def test_priority_from_evidence(
    voice_failing: int, voice_total: int, other: int, registration: bool, expected: Priority | None
) -> None:
    got = priority_from_evidence(
        voice_failing, voice_total, other_failing=other, registration_failed_everywhere=registration
    )
    assert got == expected


def test_bad_evidence_and_priorities_are_refused() -> None:
    with pytest.raises(ValueError, match="4 failing of 3"):
        priority_from_evidence(4, 3)
    with pytest.raises(ValueError, match="unknown priority 'P4'"):
        deadlines("P4", utc(2026, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"):
        deadlines("P1", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="opens must be before closes"):
        SupportConfig.model_validate({"opens": "18:00", "closes": "08:00"})
