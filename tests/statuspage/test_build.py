"""The model built from a real history store: statuses, day cells, midnight-crossing incidents, gaps, SLA."""

from __future__ import annotations

from datetime import date, timedelta

from agent.core.model import Status
from statuspage.model import ComponentView, StatusModel
from tests.statuspage.fixture import DENVER, NOW


def _comp(model: StatusModel, cid: str) -> ComponentView:
    return next(c for c in model.components if c.id == cid)


def test_current_status_of_every_kind(model: StatusModel) -> None:
    statuses = {c.id: c.status for c in model.components}
    assert statuses["core"] is Status.OPERATIONAL
    assert statuses["voice"] is Status.DEGRADED_PERFORMANCE
    assert statuses["portal"] is Status.PARTIAL_OUTAGE
    assert statuses["api"] is Status.MAJOR_OUTAGE
    assert statuses["fax"] is Status.UNDER_MAINTENANCE
    assert model.status is Status.MAJOR_OUTAGE
    assert model.indicator == "critical"


def test_ninety_local_days_ending_today(model: StatusModel) -> None:
    assert len(model.days) == 90
    assert model.days[-1] == date(2026, 3, 16)  # 12:00 in Denver
    assert all(len(c.days) == 90 for c in model.components)
    assert [g.name for g in model.groups] == ["Voice", "Portals", ""]
    assert model.groups[1].status is Status.MAJOR_OUTAGE


def test_outage_crossing_local_midnight_is_split_between_both_days(model: StatusModel) -> None:
    core = {d.day: d for d in _comp(model, "core").days}
    before, after = core[date(2026, 3, 6)], core[date(2026, 3, 7)]
    assert (before.down_minutes, after.down_minutes) == (30, 75)
    assert before.status is after.status is Status.MAJOR_OUTAGE
    assert before.incidents and before.incidents == after.incidents
    assert core[date(2026, 3, 8)].status is Status.OPERATIONAL and not core[date(2026, 3, 8)].incidents


def test_maintenance_and_degraded_days(model: StatusModel) -> None:
    fax = {d.day: d for d in _comp(model, "fax").days}
    assert fax[date(2026, 3, 11)].status is Status.UNDER_MAINTENANCE
    assert fax[date(2026, 3, 11)].maintenance_minutes == 180
    assert fax[date(2026, 3, 11)].down_minutes == 0
    evil = {d.day: d for d in _comp(model, "evil").days}
    assert evil[date(2026, 3, 13)].degraded_minutes == 60


def test_ninety_day_gap_and_late_start(model: StatusModel) -> None:
    legacy = _comp(model, "legacy")
    # The last transition was 120 days ago: the status carries across the quiet 90 days.
    assert all(d.status is Status.OPERATIONAL for d in legacy.days)
    assert legacy.uptime_90 == 100.0
    newbie = _comp(model, "newbie")
    first_seen = (NOW - timedelta(days=20)).astimezone(DENVER).date()
    nodata = [d for d in newbie.days if d.status is None]
    assert [d.day for d in nodata] == [d for d in model.days if d < first_seen]
    assert len(nodata) == (first_seen - model.days[0]).days == 69
    partial = next(d for d in newbie.days if d.day == first_seen)
    assert partial.status is Status.OPERATIONAL and 0 < partial.nodata_minutes < 1440
    assert newbie.uptime_90 == 100.0


def test_uptime_counts_outage_minutes(model: StatusModel) -> None:
    core = _comp(model, "core")
    measured = sum(d.up_minutes + d.degraded_minutes + d.down_minutes for d in core.days[-30:])
    assert core.uptime_30 is not None
    assert abs(core.uptime_30 - 100 * (1 - 105 / measured)) < 1e-9


def test_incidents_automatic_human_and_linked(model: StatusModel) -> None:
    by_id = {i.id: i for i in model.incidents}
    portal = by_id["post-portal-errors"]
    assert portal.linked == ("auto-portal-20260316T171000Z",)
    assert portal.status == "identified" and portal.impact == "major"
    assert [u.at for u in portal.updates] == sorted((u.at for u in portal.updates), reverse=True)
    assert "auto-portal-20260316T171000Z" not in by_id  # one incident on the page, not two
    voice = by_id["auto-voice-20260316T130000Z"]
    assert voice.status == "monitoring" and voice.monitoring_at is not None and voice.resolved_at is None
    core = by_id["auto-core-20260307T063000Z"]
    assert core.status == "resolved" and core.impact == "critical"  # core tier: weighed in full
    assert {i.id for i in model.active_incidents} == {
        "post-portal-errors",
        "post-hostile",
        "auto-voice-20260316T130000Z",
    }


def test_maintenance_next_standard_window_with_notice(model: StatusModel) -> None:
    standard = [m for m in model.maintenances if m.standard and m.status == "scheduled"]
    assert standard, "the next third-Friday window is always listed"
    nxt = standard[0]
    # Third Friday of March 2026 is the 20th: 22:00 MDT (UTC-6) is 04:00 UTC on the 21st.
    assert nxt.scheduled_for.isoformat() == "2026-03-21T04:00:00+00:00"
    assert (nxt.scheduled_until - nxt.scheduled_for) == timedelta(hours=6)
    assert nxt.notice_at == nxt.scheduled_for - timedelta(days=7)
    assert nxt.status == "scheduled"


def test_sla_months_cover_the_window(model: StatusModel) -> None:
    months = [m.month for m in model.sla_months]
    assert months[0] == date(2026, 3, 1) and not model.sla_months[0].complete
    assert date(2025, 12, 1) in months
    march = {r.component: r for r in model.sla_months[0].rows}
    assert march["core"].unavailable_minutes == 105
    assert march["core"].target == 99.99
    assert march["legacy"].availability == 100.0 and march["legacy"].met
