"""Time sources. Code takes a Clock (or a `now`) instead of reading the system clock, so tests control time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time (aware UTC) for timestamps and windows; monotonic time for scheduling."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Aware UTC now."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Monotonic seconds, immune to wall-clock steps."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        import asyncio  # here: a command that only reads the time (maintenance list) never loads asyncio

        await asyncio.sleep(max(0.0, seconds))


def utc(dt: datetime) -> datetime:
    """Return `dt` as aware UTC; naive datetimes are refused because their zone is a guess."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no zone")
    return dt.astimezone(UTC)
