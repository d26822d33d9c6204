"""One call that wires the status page for the composition root or the CLI (statuspage-side pieces only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from agent.contract.sla import SlaCalculator
from agent.core.clock import Clock, SystemClock
from agent.core.model import Component
from agent.history.reader import HistoryReader
from agent.maintenance.calendar import MaintenanceCalendar
from statuspage.build import ModelBuilder
from statuspage.config import SiteConfig
from statuspage.live import IncidentFolder, SiteRenderer
from statuspage.model import StatusModel
from statuspage.output import AtomicSite, WriteStats
from statuspage.render import Renderer


class StatusSite:
    """The builder, renderer and history reader of one site; `model(now)` and `renderer` for a single render."""

    def __init__(
        self,
        site: SiteConfig,
        components: Sequence[Component],
        history_path: Path,
        *,
        calendar: MaintenanceCalendar | None = None,
        sla: SlaCalculator | None = None,
    ) -> None:
        self.site = site
        self.history_path = Path(history_path)
        self.incidents = IncidentFolder(site.incidents, [c.id for c in components])
        self.builder = ModelBuilder(site, components, None, calendar=calendar, sla=sla, human=self.incidents)
        self.renderer = Renderer(site, calendar=calendar)
        self.output = AtomicSite(site.out)
        self._reader: HistoryReader | None = None
        self._reading = threading.Lock()
        """Held while a build reads history (in a render thread): the reader is never closed under a query."""

    def render(self, now: datetime) -> tuple[int, WriteStats]:
        """Render once as of `now` and swap the result into `site.out`: (file count, what the swap did)."""
        files = self.renderer.files(self.model(now))
        return len(files), self.output.write(files)

    def model(self, now: datetime) -> StatusModel:
        """The model as of `now`; with no history store yet every day shows "no data"."""
        with self._reading:
            if self._reader is None and self.history_path.is_file():
                self._reader = HistoryReader(self.history_path)
            self.builder.history = self._reader
            return self.builder.build(now)

    def live(self, *, clock: Clock | None = None, debounce: float = 0.5) -> SiteRenderer:
        """A SiteRenderer (a Sink) that keeps `site.out` current; start() it, and add it to the sinks."""
        clk = clock or SystemClock()
        return SiteRenderer(
            lambda: self.model(clk.now()),
            self.renderer,
            self.site.out,
            interval=self.site.render_interval,
            debounce=debounce,
            clock=clk,
        )

    def close(self, wait: float = 5.0) -> None:
        """Close the history reader once no build is reading it (a render cancelled at stop still finishes in
        its thread; closing SQLite under its query crashes the process). After `wait` seconds it is left open
        for the process's exit to close."""
        if not self._reading.acquire(timeout=wait):
            return
        try:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        finally:
            self._reading.release()
