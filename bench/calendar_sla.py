"""Calendar and SLA cost: a year of SLA reports for 1,000 components, and 100 years of window expansion.

Anchors, measured in the same run:
- SLA: summing the same outage durations per component-month with no clipping, merging or exclusions
  (the least work that touches every interval);
- expansion: dateutil's bare `rrule.between` for the same rule (naive local times, no zones or objects), and
  recurring-ical-events expanding our own .ics feed over the same century (what a subscriber's library does);
- active(): the same query answered without the per-component cache.

Usage: .venv/bin/python bench/calendar_sla.py [--components N] [--outages-per-month N]
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr

from agent.contract.sla import Exclusion, SlaCalculator, month_bounds
from agent.contract.sla_config import SlaConfig
from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig, build_ics
from bench.common import Row, Stopwatch, machine, report

YEAR = 2026


def history(components: int, per_month: int, rng: random.Random) -> dict[str, list[tuple[datetime, datetime]]]:
    """Random confirmed outages, 1 to 120 minutes each, some overlapping, over the year."""
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    out = {}
    for c in range(components):
        spans = []
        for _ in range(per_month * 12):
            at = start + timedelta(minutes=rng.randrange(365 * 1440))
            spans.append((at, at + timedelta(minutes=rng.randint(1, 120))))
        out[f"c{c:04d}"] = sorted(spans)
    return out


def exclusions(ids: list[str], rng: random.Random) -> list[Exclusion]:
    """Two hundred recorded exclusions over the year, each scoped to a few components or all."""
    found = []
    causes = ("carrier", "customer", "dns", "force_majeure")
    for i in range(200):
        at = datetime(YEAR, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(365 * 1440))
        scope = frozenset() if i % 20 == 0 else frozenset(rng.sample(ids, 5))
        found.append(Exclusion(causes[i % 4], at, at + timedelta(minutes=rng.randint(10, 240)), scope))
    return found


def bench_sla(components: int, per_month: int) -> list[Row]:
    rng = random.Random(7)
    data = history(components, per_month, rng)
    calc = SlaCalculator(SlaConfig(), MaintenanceCalendar(), exclusions(list(data), rng))
    with Stopwatch() as ours:
        reports = [calc.report(c, 99.95, YEAR, m, spans) for m in range(1, 13) for c, spans in data.items()]
    bounds = [month_bounds(YEAR, m, "America/Denver") for m in range(1, 13)]
    with Stopwatch() as floor:
        for a, b in bounds:
            for spans in data.values():
                sum((e - s).total_seconds() for s, e in spans if s < b and e > a)
    goal = 2.0
    return [
        Row(
            f"SLA year, {components} components x 12 months ({len(reports)} reports)",
            f"{ours.wall:.2f} s",
            f"{floor.wall:.2f} s (plain sum)",
            f"{ours.wall / floor.wall:.1f}x",
            f"< {goal:g} s",
            ours.wall < goal,
        ),
    ]


def bench_expansion() -> list[Row]:
    cal = MaintenanceCalendar(MaintenanceConfig(certificate_upload=False))
    lo, hi = datetime(2026, 1, 1, tzinfo=UTC), datetime(2126, 1, 1, tzinfo=UTC)
    with Stopwatch() as ours:
        found = cal.occurrences(lo, hi)
    rule = rrulestr("FREQ=MONTHLY;BYDAY=3FR", dtstart=datetime(2020, 1, 17, 22))
    with Stopwatch() as bare:
        naive = rule.between(datetime(2026, 1, 1), datetime(2126, 1, 1), inc=True)
    feed = icalendar.Calendar.from_ical(build_ics(cal, now=lo))
    with Stopwatch() as rie:
        theirs = recurring_ical_events.of(feed).between(lo, hi)
    assert len(found) == len(naive) == len(theirs) == 1200, (len(found), len(naive), len(theirs))
    goal_ms = 50.0
    return [
        Row(
            "expand 100 years of the standard window (1,200)",
            f"{ours.wall * 1e3:.1f} ms",
            f"{bare.wall * 1e3:.1f} ms (bare dateutil rrule)",
            f"{ours.wall / bare.wall:.1f}x",
            f"< {goal_ms:g} ms",
            ours.wall * 1e3 < goal_ms,
        ),
        Row(
            "same century from our .ics",
            f"{ours.wall * 1e3:.1f} ms",
            f"{rie.wall * 1e3:.1f} ms (recurring-ical-events)",
            f"{ours.wall / rie.wall:.2f}x",
        ),
    ]


def bench_active(calls: int = 100_000) -> list[Row]:
    cal = MaintenanceCalendar()
    t0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
    instants = [t0 + timedelta(seconds=i) for i in range(calls)]
    with Stopwatch() as cached:
        for now in instants:
            cal.active("voice", now)
    uncached_calls = 500
    with Stopwatch() as fresh:
        for now in instants[:uncached_calls]:
            cal._compute("voice", now)
    per_cached, per_fresh = cached.wall / calls * 1e6, fresh.wall / uncached_calls * 1e6
    return [
        Row(
            "active(component, now) per call",
            f"{per_cached:.2f} us",
            f"{per_fresh:.0f} us (no cache)",
            f"{per_cached / per_fresh:.3f}x",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--outages-per-month", type=int, default=4)
    args = parser.parse_args()
    print(machine())
    rows = bench_sla(args.components, args.outages_per_month) + bench_expansion() + bench_active()
    report("calendar and SLA", rows)


if __name__ == "__main__":
    main()
