"""An event loop of its own, in its own thread, for a listener that needs nothing from the agent's state.

The public status page is files on disk: serving it needs no probe, no metric, no lock of the agent. Served on
the agent's loop, every request a stranger sends (a thousand slow connections, a flood of garbage) is a
callback the scheduler waits behind. On its own loop it shares only the interpreter: while it is busy, the
scheduler's thread still gets the GIL back within the switch interval (5 ms), so probing stays on time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

STOP_SECONDS = 2.0


class ListenerThread:
    """Runs `setup()` on a new event loop in a daemon thread and keeps the loop running until `close()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cleanup: Callable[[], Coroutine[Any, Any, Any]] | None = None

    async def start(
        self, setup: Callable[[], Coroutine[Any, Any, None]], cleanup: Callable[[], Coroutine[Any, Any, Any]]
    ) -> None:
        """Start the thread and wait until `setup()` has run there; its exception is raised here."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._cleanup = cleanup

        def run() -> None:
            loop = self.loop = asyncio.new_event_loop()  # uvloop's, when the agent installed its policy
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(setup())
            except BaseException as exc:  # handed to the starting thread, which raises it
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        await asyncio.to_thread(ready.wait)
        if failure:
            self._thread.join(STOP_SECONDS)
            raise failure[0]

    async def close(self) -> None:
        """Run the cleanup on the thread's loop, stop it and join the thread (bounded)."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        if self._cleanup is not None:
            done = asyncio.run_coroutine_threadsafe(self._cleanup(), loop)
            await asyncio.to_thread(_wait, done)
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, STOP_SECONDS)


def _wait(future: Any) -> None:
    try:
        future.result(STOP_SECONDS)
    except Exception:  # a listener that does not close in time is left to the process exit
        future.cancel()
