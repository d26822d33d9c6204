"""CalendarCollector on its own registry: maintenance state and month-to-date SLA at scrape time."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest

from agent.contract.metrics import CalendarCollector
from agent.contract.sla import SlaCalculator, SlaReport
from agent.maintenance.calendar import MaintenanceCalendar
from tests.calendar.helpers import denver
from tests.sinks.history_helpers import FakeClock


def setup(now: datetime, sla: object = None) -> tuple[CollectorRegistry, FakeClock]:
    clock = FakeClock(now)
    registry = CollectorRegistry()
    registry.register(CalendarCollector(MaintenanceCalendar(), ["voice", "portal"], sla, clock))  # type: ignore[arg-type]
    return registry, clock


def value(registry: CollectorRegistry, name: str, component: str = "voice") -> float | None:
    return registry.get_sample_value(name, {"component": component})


def test_maintenance_gauges_follow_the_clock() -> None:
    registry, clock = setup(denver(2026, 11, 13, 21, 59))
    start = denver(2026, 11, 20, 22)
    assert value(registry, "dialtone_maintenance_active") == 0
    assert value(registry, "dialtone_maintenance_next_start_timestamp_seconds") == start.timestamp()
    assert value(registry, "dialtone_maintenance_notice_published") == 0
    clock.advance(60)  # one week before the window: the notice is out
    assert value(registry, "dialtone_maintenance_notice_published") == 1
    clock.at = start
    assert value(registry, "dialtone_maintenance_active", "portal") == 1
    assert value(registry, "dialtone_maintenance_next_start_timestamp_seconds") == denver(2026, 12, 18, 22).timestamp()
    assert value(registry, "dialtone_sla_availability_ratio") is None  # no SLA source given


def test_sla_gauges_are_cached_and_survive_a_failing_source() -> None:
    calls: list[str] = []
    calc = SlaCalculator()

    def mtd(component: str, now: datetime) -> SlaReport | None:
        calls.append(component)
        if component == "portal":
            raise OSError("history locked")
        return calc.report(component, 99.95, 2026, 4, [(denver(2026, 4, 2), denver(2026, 4, 2, 0, 10))], now=now)

    registry, clock = setup(denver(2026, 4, 16), mtd)
    text = generate_latest(registry).decode()
    assert 'dialtone_sla_availability_ratio{component="voice"}' in text
    assert 'component="portal"' in text and 'dialtone_sla_availability_ratio{component="portal"}' not in text
    assert value(registry, "dialtone_sla_availability_ratio") == 1 - 10 / (15 * 1440)
    assert abs(value(registry, "dialtone_sla_error_budget_remaining_ratio") - (1 - 10 / 21.6)) < 1e-9  # type: ignore[operator]
    assert calls.count("voice") == 1  # three scrapes within the cache period: one SLA computation
    clock.advance(61)
    value(registry, "dialtone_sla_availability_ratio")
    assert calls.count("voice") == 2


def test_registering_does_not_compute_the_sla() -> None:
    called: list[str] = []
    setup(denver(2026, 4, 16), lambda c, now: called.append(c))
    assert called == []
