"""The month-to-date SLA of every component, computed from history off the event loop.

The calendar collector exports what was last computed, so a scrape never reads SQLite; a failing store
keeps the last figures and logs, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.contract.sla import SlaCalculator, SlaReport, month_bounds, month_of
from agent.core.clock import Clock
from agent.history.writer import KeptReader
from agent.runtime.config import Config

log = logging.getLogger("dialtone")

SLA_REFRESH_INTERVAL = 60.0
"""Seconds between computations of the month-to-date SLA gauges (SQLite reads, done off the event loop)."""


class MonthToDate:
    """Reports by component, recomputed every SLA_REFRESH_INTERVAL from the history at `history_path`."""

    def __init__(self, history_path: Path, clock: Clock) -> None:
        self.history_path = history_path
        """Where history is read; a reload that moves it takes effect at the next computation."""
        self.clock = clock
        self.reports: dict[str, SlaReport] = {}
        self._reader: KeptReader | None = None

    def report(self, component: str, now: datetime) -> SlaReport | None:
        """The component's report as last computed (None before the first computation)."""
        return self.reports.get(component)

    def compute(self, config: Config, sla: SlaCalculator, now: datetime) -> dict[str, SlaReport]:
        """Every component's month-to-date SLA from history: blocking SQLite reads, so run it in a thread."""
        y, m = month_of(now, config.sla.zone)
        start, _ = month_bounds(y, m, config.sla.zone)
        if self._reader is None or self._reader.path != self.history_path:
            if self._reader is not None:
                self._reader.close()  # the history moved (a reload)
            self._reader = KeptReader(self.history_path)
        with self._reader.reading() as reader:  # its own connection: this runs in a worker thread
            return {
                c.id: sla.report(
                    c.id,
                    c.target_percent,
                    y,
                    m,
                    reader.down_intervals(c.id, start, now),
                    now=now,
                    quality=reader.quality_intervals(c.id, start, now),
                )
                for c in config.components
            }

    async def run(self, current: Callable[[], tuple[Config, SlaCalculator]]) -> None:
        """Recompute forever with the config and calculator in force (a reload may swap them)."""
        while True:
            try:
                config, sla = current()
                self.reports = await asyncio.to_thread(self.compute, config, sla, self.clock.now())
            except Exception:  # a failing store must not stop the loop; the gauges keep their last values
                log.exception("computing the month-to-date SLA failed")
            await self.clock.sleep(SLA_REFRESH_INTERVAL)

    def close(self) -> None:
        """Close the history reader."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
