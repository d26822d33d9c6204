"""Split a component's status timeline into the day cells of its 90-day bar (local calendar days)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.model import Status
from statuspage.model import DayCell, Incident, StatusModel

IncidentSpan = tuple[datetime, datetime, str, str]
"""(start, end, incident id, title) of an incident touching the component."""


class Interval(Protocol):
    """A stretch [start, end) with one status (agent.sinks.history_reader.StatusInterval)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def status(self) -> Status: ...


def _minutes(a: datetime, b: datetime) -> float:
    return max(0.0, (b - a).total_seconds() / 60)


def component_days(
    intervals: Sequence[Interval],
    days: Sequence[date],
    zone: ZoneInfo,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
) -> tuple[DayCell, ...]:
    """One DayCell per day; time after `now` is neither data nor missing data."""
    cells: list[DayCell] = []
    ordered = sorted(intervals, key=lambda iv: iv.start)
    first = 0
    for day in days:
        lo = datetime.combine(day, time(0), tzinfo=zone)
        hi = min(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone), now)
        per: dict[Status, float] = {}
        # Intervals are sorted and disjoint: skip those wholly before this day once and for all.
        while first < len(ordered) and ordered[first].end <= lo:
            first += 1
        for iv in ordered[first:]:
            if iv.start >= hi:
                break
            per[iv.status] = per.get(iv.status, 0.0) + _minutes(max(iv.start, lo), min(iv.end, hi))
        covered = sum(per.values())
        touching = tuple((i, name) for s, e, i, name in incidents if s < hi and e > lo)
        worst = max((s for s, m in per.items() if m > 0), key=lambda s: s.severity, default=None)
        cells.append(
            DayCell(
                day=day,
                status=worst,
                up_minutes=round(per.get(Status.OPERATIONAL, 0)),
                down_minutes=round(per.get(Status.PARTIAL_OUTAGE, 0) + per.get(Status.MAJOR_OUTAGE, 0)),
                degraded_minutes=round(per.get(Status.DEGRADED_PERFORMANCE, 0)),
                maintenance_minutes=round(per.get(Status.UNDER_MAINTENANCE, 0)),
                nodata_minutes=round(_minutes(lo, hi) - covered),
                incidents=touching,
            )
        )
    return tuple(cells)


def uptime(cells: Sequence[DayCell]) -> float | None:
    """Percent of measured time (maintenance and missing data excluded) not in outage; None if none measured."""
    down = sum(c.down_minutes for c in cells)
    measured = sum(c.up_minutes + c.degraded_minutes + c.down_minutes for c in cells)
    if measured <= 0:
        return None
    return 100.0 * (1 - down / measured)


def incidents_by_day(model: StatusModel) -> list[tuple[date, list[Incident]]]:
    """The history window's days, newest first, each with the incidents active on that local day."""
    zone = ZoneInfo(model.time_zone)
    by_day: dict[date, list[Incident]] = {d: [] for d in model.days}
    first = model.days[0] if model.days else None
    for inc in model.incidents:
        start = inc.started_at.astimezone(zone).date()
        end = (inc.resolved_at or model.generated_at).astimezone(zone).date()
        day = max(start, first) if first else start
        while day <= end:
            if day in by_day:
                by_day[day].append(inc)
            day += timedelta(days=1)
    return [(d, by_day[d]) for d in reversed(model.days)]
