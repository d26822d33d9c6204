"""Split a component's status timeline into the day cells of its 90-day bar (local calendar days)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.core.model import Status
from statuspage.model import DayCell, GroupView

IncidentSpan = tuple[datetime, datetime, str, str]
"""(start, end, incident id, title) of an incident touching the component."""


class Interval(Protocol):
    """A stretch [start, end) with one status (agent.history.reader.StatusInterval)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def status(self) -> Status: ...


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_US_PER_MINUTE = 60_000_000


def _us(dt: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime."""
    return (dt - _EPOCH) // _US


@functools.lru_cache(maxsize=16)
def _day_bounds(days: tuple[date, ...], zone: ZoneInfo, now_us: int) -> tuple[tuple[int, int], ...]:
    """[local midnight, next local midnight or now) of each day, in epoch microseconds. A page build asks
    for the same 90 days for every component, so they are worked out once per build, not per component."""
    out = []
    for day in days:
        lo = _us(datetime.combine(day, time(0), tzinfo=zone))
        hi = min(_us(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)), now_us)
        out.append((lo, hi))
    return tuple(out)


def component_days(
    intervals: Sequence[Interval],
    days: Sequence[date],
    zone: ZoneInfo,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
) -> tuple[DayCell, ...]:
    """One DayCell per day; time after `now` is neither data nor missing data.

    Works in integer microseconds: exact, and free of the time-zone arithmetic that comparing datetimes
    of different zones costs (the page's zone against history's UTC), which dominated a 500-component build.
    """
    cells: list[DayCell] = []
    ordered = sorted((_us(iv.start), _us(iv.end), iv.status) for iv in intervals)
    spans = [(_us(s), _us(e), i, name) for s, e, i, name in incidents]
    n = len(ordered)
    first = 0
    for day, (lo, hi) in zip(days, _day_bounds(tuple(days), zone, _us(now)), strict=True):
        length = max(0, hi - lo)
        # Intervals are sorted and disjoint: skip those wholly before this day once and for all.
        while first < n and ordered[first][1] <= lo:
            first += 1
        touching = tuple((i, name) for s, e, i, name in spans if s < hi and e > lo) if spans else ()
        per: dict[Status, int] = {}
        if not touching and (first >= n or ordered[first][0] >= hi):  # no data all day (before the first record)
            cells.append(_whole_day(day, None, length))
            continue
        if first < n and ordered[first][0] <= lo and ordered[first][1] >= hi:
            if not touching:  # the common day: one status all day and no incident, the same cell for everyone
                cells.append(_whole_day(day, ordered[first][2], length))
                continue
            if length:
                per[ordered[first][2]] = length
        else:
            for j in range(first, n):
                start, end, status = ordered[j]
                if start >= hi:
                    break
                part = min(end, hi) - max(start, lo)
                if part > 0:
                    per[status] = per.get(status, 0) + part
        cells.append(_cell(day, per, length, touching))
    return tuple(cells)


@functools.lru_cache(maxsize=4096)
def _whole_day(day: date, status: Status | None, length: int) -> DayCell:
    """The cell of a day spent wholly in one status (None: no data) with no incident; cells are immutable,
    so every component with such a day shares it."""
    return _cell(day, {status: length} if length and status is not None else {}, length, ())


def _cell(day: date, per: dict[Status, int], length: int, touching: tuple[tuple[str, str], ...]) -> DayCell:
    down = per.get(Status.PARTIAL_OUTAGE, 0) + per.get(Status.MAJOR_OUTAGE, 0)
    measured = down + per.get(Status.OPERATIONAL, 0) + per.get(Status.DEGRADED_PERFORMANCE, 0)
    return DayCell(
        day=day,
        status=max(per, key=lambda st: st.severity, default=None),
        up_minutes=round(per.get(Status.OPERATIONAL, 0) / _US_PER_MINUTE),
        # Rounded up: an outage of a few seconds is "1 min", never "0 min" beside a red cell.
        down_minutes=-(-down // _US_PER_MINUTE),
        degraded_minutes=round(per.get(Status.DEGRADED_PERFORMANCE, 0) / _US_PER_MINUTE),
        maintenance_minutes=round(per.get(Status.UNDER_MAINTENANCE, 0) / _US_PER_MINUTE),
        nodata_minutes=round((length - sum(per.values())) / _US_PER_MINUTE),
        incidents=touching,
        measured_us=measured,
        down_us=down,
    )


def uptime(cells: Sequence[DayCell]) -> float | None:
    """Percent of monitored time (maintenance and no data excluded) not in outage; None if none monitored.

    Exact (microseconds), not summed from rounded minutes: a 25 s outage is not 0 min of 2.
    """
    measured = sum(c.measured_us for c in cells)
    if measured <= 0:
        return None
    return 100.0 * (measured - sum(c.down_us for c in cells)) / measured


def group_days(group: GroupView) -> tuple[DayCell, ...]:
    """A group's summary bar: each day the worst of its members' days, with their longest outage and their
    incidents (so a glance at a collapsed group shows the day any member was down)."""
    columns = zip(*(c.days for c in group.components), strict=True)
    return tuple(_worst_day(cells) for cells in columns)


def _worst_day(cells: Sequence[DayCell]) -> DayCell:
    first = cells[0]
    if all(c is first for c in cells):  # the common quiet day: members share one cell object (_whole_day)
        return first
    worst = max(cells, key=lambda c: -1 if c.status is None else c.status.severity)
    incidents = tuple(dict.fromkeys(i for c in cells for i in c.incidents))
    return worst._replace(
        down_minutes=max(c.down_minutes for c in cells),
        degraded_minutes=max(c.degraded_minutes for c in cells),
        maintenance_minutes=max(c.maintenance_minutes for c in cells),
        nodata_minutes=min(c.nodata_minutes for c in cells),
        incidents=incidents,
    )
