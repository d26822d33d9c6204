"""Hand-computed SLA months: overlapping outages and exclusions, month boundaries, maintenance, credits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.contract.intervals import clip_merge, overlap, subtract, total
from agent.contract.sla import Exclusion, SlaCalculator, credit_days, month_bounds, parse_month
from agent.contract.sla_config import SlaConfig
from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig
from tests.calendar.helpers import denver, utc

APRIL_MIN = 30 * 24 * 60  # April 2026 in Denver: no DST change


def calc(
    exclusions: tuple[Exclusion, ...] = (), windows: list[dict[str, Any]] | None = None, **sla: Any
) -> SlaCalculator:
    cal = MaintenanceCalendar(MaintenanceConfig.model_validate({"windows": windows or []}))
    return SlaCalculator(SlaConfig.model_validate(sla), cal, exclusions)


def test_month_lengths_follow_the_local_calendar() -> None:
    def minutes(y: int, m: int) -> float:
        a, b = month_bounds(y, m, "America/Denver")
        return (b - a).total_seconds() / 60

    assert minutes(2026, 4) == APRIL_MIN
    assert minutes(2026, 3) == 31 * 1440 - 60  # spring forward
    assert minutes(2026, 11) == 30 * 1440 + 60  # fall back
    assert minutes(2028, 2) == 29 * 1440 and minutes(2027, 2) == 28 * 1440  # leap year
    assert month_bounds(2026, 12, "America/Denver") == (utc(2026, 12, 1, 7), utc(2027, 1, 1, 7))


def test_overlapping_outages_are_counted_once_and_credit_rounds_down() -> None:
    down = [(utc(2026, 4, 2, 10), utc(2026, 4, 2, 11)), (utc(2026, 4, 2, 10, 30), utc(2026, 4, 2, 12))]
    r = calc().report("voice", 99.95, 2026, 4, down)
    assert r.total_minutes == APRIL_MIN
    assert r.unavailable_minutes == 120 and r.excluded_minutes == {}
    assert r.allowed_minutes == pytest.approx(21.6)
    assert r.availability == pytest.approx(1 - 120 / APRIL_MIN)
    assert not r.met
    assert r.hours_beyond == pytest.approx((120 - 21.6) / 60)  # 1.64 h
    assert r.credit_days == 1
    assert calc(credit_rounding="ceil").report("voice", 99.95, 2026, 4, down).credit_days == 2
    assert calc(credit_rounding="exact").report("voice", 99.95, 2026, 4, down).credit_days == pytest.approx(1.64)


def test_overlapping_exclusions_are_attributed_once_in_order() -> None:
    ex = (
        Exclusion("carrier", utc(2026, 4, 2, 10), utc(2026, 4, 2, 10, 45)),
        Exclusion("dns", utc(2026, 4, 2, 10, 30), utc(2026, 4, 2, 11, 15), frozenset({"voice"})),
        Exclusion("carrier", utc(2026, 4, 2, 10, 40), utc(2026, 4, 2, 11)),
        Exclusion("customer", utc(2026, 4, 2, 9), utc(2026, 4, 2, 13), frozenset({"portal"})),
    )
    r = calc(ex).report("voice", 99.95, 2026, 4, [(utc(2026, 4, 2, 10), utc(2026, 4, 2, 12))])
    # carrier covers 10:00-11:00 (merged), dns only its remaining 11:00-11:15; the portal's record is not ours.
    assert r.excluded_minutes == {"carrier": 60, "dns": 15}
    assert r.unavailable_minutes == 45 and r.down_minutes == 120
    assert r.credit_days == 0  # 45 - 21.6 = 23.4 min beyond: no completed hour


def test_outage_spanning_a_month_boundary_is_split_at_local_midnight() -> None:
    down = [(denver(2026, 3, 31, 22), denver(2026, 4, 1, 2))]
    march = calc().report("voice", 99.95, 2026, 3, down)
    april = calc().report("voice", 99.95, 2026, 4, down)
    assert (march.unavailable_minutes, april.unavailable_minutes) == (120, 120)


def test_month_starting_inside_a_window_counts_only_the_overlap() -> None:
    window = {"id": "em", "kind": "emergency", "reason": "core router", "start": "2026-03-31T22:00", "duration": "6h"}
    down = [(denver(2026, 3, 31, 20), denver(2026, 4, 1, 6))]
    c = calc(windows=[window])
    april = c.report("voice", 99.95, 2026, 4, down)
    assert april.excluded_minutes == {"maintenance": 240} and april.unavailable_minutes == 120
    march = c.report("voice", 99.95, 2026, 3, down)
    assert march.excluded_minutes == {"maintenance": 120} and march.unavailable_minutes == 120


def test_standard_window_is_excluded_and_the_certificate_upload_is_not() -> None:
    c = SlaCalculator(SlaConfig(), MaintenanceCalendar())
    in_standard = (denver(2026, 4, 17, 21), denver(2026, 4, 17, 23))  # window opens 22:00
    in_cert = (denver(2026, 4, 10, 0), denver(2026, 4, 10, 0, 30))  # Friday 00:00 upload
    r = c.report("voice", 99.95, 2026, 4, [in_standard, in_cert])
    assert r.excluded_minutes == {"maintenance": 60}
    assert r.unavailable_minutes == 60 + 30


def test_exactly_the_allowance_meets_the_target() -> None:
    allowed = APRIL_MIN * 0.02  # 98 % supporting tier: 864 min
    r = calc().report("portal", 98.0, 2026, 4, [(utc(2026, 4, 3), utc(2026, 4, 3) + timedelta(minutes=allowed))])
    assert r.met and r.hours_beyond == 0 and r.credit_days == 0 and r.budget_remaining == pytest.approx(0)
    over = calc().report("portal", 98.0, 2026, 4, [(utc(2026, 4, 3), utc(2026, 4, 3, 15, 25))])
    assert not over.met and over.credit_days == 1  # 925 min: 61 min beyond


def test_leap_february_and_credit_cap() -> None:
    down = [(utc(2028, 2, 10), utc(2028, 2, 12))]  # 48 h
    r = calc(credit_cap_days=30).report("core", 99.99, 2028, 2, down)
    assert r.total_minutes == 29 * 1440 and r.allowed_minutes == pytest.approx(4.176)
    assert r.credit_days == 30  # 47.93 h beyond, capped
    assert calc().report("core", 99.99, 2028, 2, down).credit_days == 47


def test_month_to_date_uses_elapsed_time_and_the_whole_month_budget() -> None:
    now = denver(2026, 4, 16)  # 15 days in
    r = calc().report("voice", 99.95, 2026, 4, [(denver(2026, 4, 2), denver(2026, 4, 2, 0, 10))], now=now)
    assert r.month_to_date and r.end == now
    assert r.total_minutes == 15 * 1440
    assert r.availability == pytest.approx(1 - 10 / (15 * 1440))
    assert r.budget_remaining == pytest.approx(1 - 10 / 21.6)


def test_outage_causes_from_events_are_excluded() -> None:
    down = [(utc(2026, 4, 5, 1), utc(2026, 4, 5, 3))]
    r = calc().report("voice", 99.95, 2026, 4, down, causes=[(utc(2026, 4, 5, 1), utc(2026, 4, 5, 2), "carrier")])
    assert r.excluded_minutes == {"carrier": 60} and r.unavailable_minutes == 60


def test_bad_months_and_settings_are_refused() -> None:
    assert parse_month("2026-03") == (2026, 3)
    for bad in ("2026-13", "2026/03", "26-03", "march"):
        with pytest.raises(ValueError, match="month"):
            parse_month(bad)
    with pytest.raises(ValueError, match="unknown time zone"):
        SlaConfig(zone="Nowhere/Land")
    assert credit_days(3600 * 2.5, SlaConfig(credit_unit=1800)) == 5


spans = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=8)


def _grid(items: list[tuple[int, int]], lo: int, hi: int) -> set[int]:
    return {m for a, b in items for m in range(max(a, lo), min(b, hi))}


@given(spans, spans, st.integers(0, 100), st.integers(100, 200))
def test_interval_arithmetic_matches_a_minute_grid(
    xs: list[tuple[int, int]], ys: list[tuple[int, int]], lo: int, hi: int
) -> None:
    x = clip_merge([(float(a), float(b)) for a, b in xs], lo, hi)
    y = clip_merge([(float(a), float(b)) for a, b in ys], lo, hi)
    gx, gy = _grid(xs, lo, hi), _grid(ys, lo, hi)
    assert total(x) == len(gx)
    assert overlap(x, y) == len(gx & gy)
    rest = subtract(x, y)
    assert total(rest) == len(gx - gy)
    assert all(a < b for a, b in rest) and rest == sorted(rest)


def test_report_json_shape() -> None:
    r = calc().report("voice", 99.95, 2026, 4, [])
    j = r.to_json()
    assert j["availability"] == 1.0 and j["met"] is True and j["credit_days"] == 0
    assert j["start"] == "2026-04-01T06:00:00+00:00" and j["month"] == "2026-04"
    assert isinstance(datetime.fromisoformat(str(j["end"])), datetime)
