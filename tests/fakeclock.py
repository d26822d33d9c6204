"""A deterministic clock for tests: time moves only when the test advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta


class FakeClock:
    """Implements agent.core.clock.Clock; `advance()` wakes sleepers in deadline order."""

    def __init__(self, start: datetime | None = None) -> None:
        self.wall0 = start or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        self.t = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.wall_offset = 0.0

    def now(self) -> datetime:
        return self.wall0 + timedelta(seconds=self.t - 1000.0 + self.wall_offset)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:  # already due: return at once, as a real clock's sleep(0) does
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(0.0, seconds), next(self._seq), fut))
        await fut

    def step_wall(self, seconds: float) -> None:
        """Step the wall clock only (as NTP or an operator would); monotonic time is untouched."""
        self.wall_offset += seconds

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in order."""
        end = self.t + seconds
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= end:
            when, _, fut = heapq.heappop(self._sleepers)
            self.t = max(self.t, when)
            if not fut.done():
                fut.set_result(None)
            await _settle()
        self.t = end
        await _settle()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)
