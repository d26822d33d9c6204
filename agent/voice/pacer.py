"""One 20 ms media clock per event loop, shared by every RTP session on it.

Why not a timer per session: asyncio's selector sleeps in whole milliseconds (epoll rounds its timeout up),
so a timer fires 0-1 ms late at random, and that error lands in the far end's jitter reading. The pacer
instead wakes once per tick for all sessions, a little early (`GUARD`), and finishes the wait with
`time.sleep`, which has microsecond resolution and burns no CPU. Deadlines are absolute (epoch + n * 20 ms),
so error never accumulates. Sessions are served in a stable order, so each one's offset from the grid is
nearly constant from tick to tick, and a constant offset is no jitter at all.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

PTIME = 0.02
GUARD = 0.0015
"""Wake this early: covers epoll's millisecond rounding plus the kernel's timer slack."""

TickCallback = Callable[[float, float, int], None]
"""callback(now, deadline, skipped_ticks), called once per tick while registered."""

_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


class Pacer:
    """Calls each registered callback every 20 ms on an absolute monotonic grid."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ptime: float = PTIME) -> None:
        self._loop = loop
        self.ptime = ptime
        self._callbacks: dict[int, TickCallback] = {}
        self._next_id = 0
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> Pacer:
        """The loop's shared pacer (created on first use)."""
        pacer = _PACERS.get(loop)
        if pacer is None:
            pacer = _PACERS[loop] = cls(loop)
        return pacer

    def register(self, callback: TickCallback) -> int:
        """Start calling `callback` from the next tick; returns a handle for `unregister`."""
        handle = self._next_id
        self._next_id += 1
        self._callbacks[handle] = callback
        if self._timer is None:
            self._deadline = self._loop.time()
            self._schedule()
        return handle

    def unregister(self, handle: int) -> None:
        """Stop calling the callback; the timer stops with the last one."""
        self._callbacks.pop(handle, None)
        if not self._callbacks and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        self._timer = self._loop.call_at(self._deadline - GUARD, self._fire)

    def _fire(self) -> None:
        remaining = self._deadline - self._loop.time()
        if 0 < remaining <= GUARD * 2:
            time.sleep(remaining)  # sub-millisecond and bounded by GUARD: precise, and no CPU burnt
        now = self._loop.time()
        late = now - self._deadline
        skipped = int(late // self.ptime) if late >= self.ptime else 0
        deadline = self._deadline + skipped * self.ptime
        self._deadline = deadline + self.ptime
        self._schedule()
        for callback in list(self._callbacks.values()):
            try:
                callback(self._loop.time(), deadline, skipped)
            except Exception as exc:  # a bug in one session must not stop the others' media
                self._loop.call_exception_handler({"message": "RTP tick failed", "exception": exc})
