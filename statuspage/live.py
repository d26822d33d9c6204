"""Keep the site current in a running agent: render on every component transition and at an interval.

`SiteRenderer` is a Sink: `on_transition` only sets a flag (never blocks the event loop); a background task
coalesces requests (debounce), then builds and renders in a worker thread and swaps the site into place.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.core.clock import Clock, SystemClock
from agent.core.model import ProbeResult, Transition
from statuspage.incidents import IncidentFileError, load_incidents, unknown_components
from statuspage.model import Incident, StatusModel
from statuspage.output import AtomicSite, WriteStats
from statuspage.render import Renderer

log = logging.getLogger("dialtone.statuspage")


class SiteRenderer:
    """Renders the site on request (debounced) and every `interval` seconds, off the event loop."""

    def __init__(
        self,
        build: Callable[[], StatusModel],
        renderer: Renderer,
        out: Path,
        *,
        interval: float = 60.0,
        debounce: float = 0.5,
        clock: Clock | None = None,
    ) -> None:
        self._build = build
        self._renderer = renderer
        self._site = AtomicSite(out)
        self._interval = interval
        self._debounce = debounce
        self._clock: Clock = clock or SystemClock()
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self.renders = 0
        """Successful renders since start."""
        self.errors = 0
        """Failed renders since start (each is logged; the previous site stays in place)."""
        self.last_seconds = 0.0
        """Wall time of the last successful build + render + swap."""

    # --- Sink ---------------------------------------------------------------------------------------------

    def on_result(self, result: ProbeResult) -> None:
        """Results alone do not change the page; transitions do."""

    def on_transition(self, transition: Transition) -> None:
        """A component changed status: render soon."""
        if transition.subject == "component":
            self.request_render()

    async def start(self) -> None:
        """Start the background loop (it renders once at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="dialtone-site-renderer")

    async def aclose(self) -> None:
        """Stop the loop; a render in progress finishes in its thread."""
        await self.stop()

    async def stop(self) -> None:
        """Stop the background loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    # --- rendering ----------------------------------------------------------------------------------------

    def request_render(self) -> None:
        """Ask for a render soon; never blocks, and many requests within the debounce make one render."""
        self._wanted.set()

    async def render_now(self) -> WriteStats:
        """Build, render and swap right away (in a worker thread); raises if it fails."""
        return await asyncio.to_thread(self._render_sync)

    def _render_sync(self) -> WriteStats:
        with self._lock:
            started = time.perf_counter()
            stats = self._site.write(self._renderer.files(self._build()))
            self.last_seconds = time.perf_counter() - started
            self.renders += 1
            return stats

    async def _loop(self) -> None:
        while True:
            self._wanted.clear()
            try:
                await self.render_now()
            except Exception:  # a bad render must not stop the loop: the last good site stays up
                self.errors += 1
                log.exception("status page render failed; the previous site stays in place")
            await self._wait()

    async def _wait(self) -> None:
        wanted = asyncio.ensure_future(self._wanted.wait())
        tick = asyncio.ensure_future(self._clock.sleep(self._interval))
        try:
            done, _ = await asyncio.wait({wanted, tick}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wanted.cancel()
            tick.cancel()
        if wanted in done and self._debounce > 0:
            await self._clock.sleep(self._debounce)


class IncidentFolder:
    """Human incidents reloaded at each build; a broken file is logged and the last good set is kept."""

    def __init__(self, folder: Path, components: Sequence[str] = ()) -> None:
        self.folder = folder
        self._components = list(components)
        self._warned: set[str] = set()
        self._good: Sequence[Incident] = ()
        self.error = ""
        """The last load error, empty when the folder loaded cleanly."""

    def __call__(self) -> Sequence[Incident]:
        """The current human incidents."""
        try:
            self._good = load_incidents(self.folder)
            self.error = ""
            for message in unknown_components(self._good, self._components) if self._components else ():
                if message not in self._warned:  # the page shows such a component by its raw id: say so once
                    self._warned.add(message)
                    log.warning("incidents: %s: %s", self.folder, message)
        except IncidentFileError as exc:
            if str(exc) != self.error:
                log.error("incidents: %s (keeping the last good set)", exc)
            self.error = str(exc)
        return self._good
