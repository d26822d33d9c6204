"""Prometheus collector for the calendar's state and the month-to-date SLA (PromQL cannot do time zones).

Register it on the agent's own registry: `registry.register(CalendarCollector(...))`. It reads the clock
at scrape time; the SLA callable is called at most once per component every `sla_cache_seconds`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.contract.sla import SlaReport
from agent.core.clock import Clock
from agent.maintenance.calendar import MaintenanceCalendar

log = logging.getLogger(__name__)

SlaMonthToDate = Callable[[str, datetime], SlaReport | None]
"""(component, now) -> that component's SLA report for the month to date, or None when unknown."""


class CalendarCollector(Collector):
    """dialtone_maintenance_* and dialtone_sla_* gauges, one sample per component."""

    def __init__(
        self,
        calendar: MaintenanceCalendar,
        components: Sequence[str],
        sla_month_to_date: SlaMonthToDate | None,
        clock: Clock,
        *,
        sla_cache_seconds: float = 60.0,
    ) -> None:
        self.calendar = calendar
        self.components = list(components)
        self.sla_month_to_date = sla_month_to_date
        self.clock = clock
        self.sla_cache_seconds = sla_cache_seconds
        self._sla: dict[str, tuple[float, SlaReport | None]] = {}

    def describe(self) -> list[Metric]:
        """Empty families with the names, so registering does not run a collection (and an SLA query)."""
        return list(self._families())

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        labels = ["component"]
        return (
            GaugeMetricFamily(
                "dialtone_maintenance_active", "1 while the component is in a maintenance window.", labels=labels
            ),
            GaugeMetricFamily(
                "dialtone_maintenance_next_start_timestamp_seconds",
                "Start of the component's next maintenance window (Unix time).",
                labels=labels,
            ),
            GaugeMetricFamily(
                "dialtone_maintenance_notice_published",
                "1 once the notice of the component's next maintenance window has been published.",
                labels=labels,
            ),
            GaugeMetricFamily(
                "dialtone_sla_availability_ratio",
                "Availability this calendar month to date (maintenance and exclusions count as available).",
                labels=labels,
            ),
            GaugeMetricFamily(
                "dialtone_sla_experienced_availability_ratio",
                "Availability this month to date also counting answered calls without usable audio "
                "(dialtone_sla_availability_ratio is the contract's figure, which credits use).",
                labels=labels,
            ),
            GaugeMetricFamily(
                "dialtone_sla_error_budget_remaining_ratio",
                "Share of this calendar month's allowed downtime still unspent (negative when overspent).",
                labels=labels,
            ),
        )

    def collect(self) -> Iterator[Metric]:
        """Build the families from the calendar and the SLA at scrape time."""
        now = self.clock.now()
        active, next_start, notice, availability, experienced, budget = self._families()
        for c in self.components:
            active.add_metric([c], 1.0 if self.calendar.active(c, now) else 0.0)
            start = self.calendar.next_start(c, now)
            if start is not None:
                next_start.add_metric([c], start.timestamp())
            notice.add_metric([c], 1.0 if self.calendar.notice_published(c, now) else 0.0)
            report = self._report(c, now)
            if report is not None:
                availability.add_metric([c], report.availability)
                experienced.add_metric([c], report.experienced_availability)
                budget.add_metric([c], report.budget_remaining)
        yield from (active, next_start, notice, availability, experienced, budget)

    def _report(self, component: str, now: datetime) -> SlaReport | None:
        if self.sla_month_to_date is None:
            return None
        cached = self._sla.get(component)
        tick = self.clock.monotonic()
        if cached is not None and tick - cached[0] < self.sla_cache_seconds:
            return cached[1]
        try:
            report = self.sla_month_to_date(component, now)
        except Exception as exc:  # a scrape must not fail because history is unreadable for a moment
            log.warning("SLA month to date for %s unavailable: %s", component, exc)
            report = cached[1] if cached else None
        self._sla[component] = (tick, report)
        return report
