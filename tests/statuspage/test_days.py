"""component_days against a plain reference: random timelines and incidents over a DST change, every fast path."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.core.model import Status
from agent.history.reader import StatusInterval
from statuspage.days import component_days

ZONE = ZoneInfo("America/Denver")
DAYS = tuple(date(2026, 10, 20) + timedelta(days=i) for i in range(30))  # 1 November: a 25-hour day
STATUSES = list(Status)


def reference(intervals, days, zone, now, incidents):
    """The definition, computed the slow way: microseconds of each status inside each local day."""
    us = timedelta(microseconds=1)
    out = []
    for day in days:
        # In UTC: Python subtracts two datetimes of the same zone as wall clock, 24 h across a 25-hour day.
        lo = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        hi = min(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC), now)
        per: dict[Status, int] = {}
        for iv in intervals:
            part = (min(iv.end, hi) - max(iv.start, lo)) // us
            if part > 0:
                per[iv.status] = per.get(iv.status, 0) + part
        length = max(0, (hi - lo) // us)
        down = per.get(Status.PARTIAL_OUTAGE, 0) + per.get(Status.MAJOR_OUTAGE, 0)
        up, degraded = per.get(Status.OPERATIONAL, 0), per.get(Status.DEGRADED_PERFORMANCE, 0)
        out.append((
            day, max(per, key=lambda s: s.severity, default=None), round(up / 60e6),
            math.ceil(down / 60e6),  # an outage of seconds is never "0 min"
            round(degraded / 60e6), round(per.get(Status.UNDER_MAINTENANCE, 0) / 60e6),
            round((length - sum(per.values())) / 60e6),
            tuple((i, n) for s, e, i, n in incidents if s < hi and e > lo),
            up + degraded + down, down,
        ))  # fmt: skip
    return out


def timeline(rng: random.Random, start: datetime, end: datetime) -> list[StatusInterval]:
    out, at = [], start + timedelta(minutes=rng.randrange(0, 20 * 1440))  # no data before the first record
    while at < end:
        span = timedelta(seconds=rng.choice([30, 90, 600, 3600, 86400, 3 * 86400]) * rng.random() + 1)
        nxt = min(at + span, end)
        out.append(StatusInterval(at, nxt, rng.choice(STATUSES)))
        at = nxt
    return out


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    start = datetime.combine(DAYS[0], time(0), tzinfo=ZONE).astimezone(UTC)
    now = datetime.combine(DAYS[-1], time(13, 7, 30), tzinfo=ZONE).astimezone(UTC)
    intervals = timeline(rng, start, now)
    incidents = []
    for k in range(rng.randrange(0, 4)):
        s = start + timedelta(minutes=rng.randrange(0, 30 * 1440))
        incidents.append((s, s + timedelta(minutes=rng.randrange(1, 3000)), f"i{k}", f"Incident {k}"))
    got = component_days(intervals, DAYS, ZONE, now, incidents)
    want = reference(intervals, DAYS, ZONE, now, incidents)
    assert [tuple(c) for c in got] == want
    assert sum(c.up_minutes + c.down_minutes + c.degraded_minutes + c.maintenance_minutes + c.nodata_minutes
               for c in got) == pytest.approx(29 * 1440 + 60 + 13 * 60 + 7.5, abs=30)  # fmt: skip


def test_the_dst_day_has_25_hours_and_the_future_none() -> None:
    start = datetime.combine(DAYS[0], time(0), tzinfo=ZONE)
    now = datetime.combine(DAYS[13], time(12), tzinfo=ZONE)  # 2 November, noon
    cells = component_days([StatusInterval(start, now, Status.OPERATIONAL)], DAYS, ZONE, now)
    by_day = {c.day: c for c in cells}
    assert by_day[date(2026, 11, 1)].up_minutes == 25 * 60
    assert by_day[date(2026, 11, 2)].up_minutes == 12 * 60
    assert by_day[date(2026, 11, 3)].status is None and by_day[date(2026, 11, 3)].up_minutes == 0
    assert by_day[date(2026, 11, 3)].nodata_minutes == 0  # time after now is not missing data
