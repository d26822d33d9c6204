"""One 20 ms media clock per event loop, shared by every RTP session on it.

Why not a timer per session: asyncio's selector sleeps in whole milliseconds (epoll rounds its timeout up),
so a timer fires 0-1 ms late at random, and that error lands in the far end's jitter reading. The pacer
instead wakes once per occupied slot, a little early (`GUARD`), and finishes the wait with `time.sleep`,
which has microsecond resolution and burns no CPU. Deadlines are absolute (origin + slot offset + n * 20 ms),
so error never accumulates. Sessions are served in a stable order, so each one's offset from its grid is
nearly constant from tick to tick, and a constant offset is no jitter at all.

Slots: the 20 ms period is split into `SLOTS` phases, 5 ms apart. With one batch per 20 ms, the sends of
40 sessions (20 calls, both legs) queue behind each other: each sendto on loopback also delivers the
datagram, tens of microseconds on a VM, so the last packet of the batch left ~2 ms after its slot. A slot
therefore takes up to `BATCH` sessions before the next phase opens (past SLOTS * BATCH the least-used slot
takes the next one). Each phase in use costs a wake-up per 20 ms, so a few calls share one wake-up, and
20 calls send in four batches of ten instead of one of forty, spread over the period instead of bursting.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

PTIME = 0.02
SLOTS = 4
"""Phases of the 20 ms period that sessions are spread over."""
BATCH = 8
"""Sessions a slot takes before the next slot opens."""
GUARD = 0.0015
"""Wake this early: covers epoll's millisecond rounding plus the kernel's timer slack."""

TickCallback = Callable[[float, float, int], None]
"""callback(now, deadline, skipped_ticks), called once per tick while registered."""

_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


class Pacer:
    """Calls each registered callback every `ptime` on an absolute monotonic grid of its slot."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ptime: float = PTIME, slots: int = SLOTS) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, not {slots}")
        self._loop = loop
        self.ptime = ptime
        self.slots = slots
        self._callbacks: list[dict[int, TickCallback]] = [{} for _ in range(slots)]
        self._slot_of: dict[int, int] = {}
        self._next: list[float | None] = [None] * slots  # the next deadline of each occupied slot
        self._origin: float | None = None  # slot j's grid: origin + j * ptime / slots + n * ptime
        self._next_id = 0
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> Pacer:
        """The loop's shared pacer (created on first use)."""
        pacer = _PACERS.get(loop)
        if pacer is None:
            pacer = _PACERS[loop] = cls(loop)
        return pacer

    def register(self, callback: TickCallback) -> int:
        """Start calling `callback` from its slot's next tick; returns a handle for `unregister`."""
        handle = self._next_id
        self._next_id += 1
        slot = self._pick_slot()
        self._callbacks[slot][handle] = callback
        self._slot_of[handle] = slot
        now = self._loop.time()
        if self._origin is None:
            self._origin = now  # the first session starts now, on slot 0 (it is the least used)
        if self._next[slot] is None:
            self._next[slot] = self._first_deadline(slot, now)
            self._reschedule()
        return handle

    def unregister(self, handle: int) -> None:
        """Stop calling the callback; its slot stops when empty, and the timer with the last session."""
        slot = self._slot_of.pop(handle, None)
        if slot is None:
            return
        self._callbacks[slot].pop(handle, None)
        if not self._slot_of:
            self._origin = None
        if not self._callbacks[slot]:
            self._next[slot] = None
            self._reschedule()  # the timer moves only when a phase stops

    def _pick_slot(self) -> int:
        loads = self.occupancy
        for j, load in enumerate(loads):  # the first slot in use with room: fewer wake-ups
            if 0 < load < BATCH:
                return j
        for j, load in enumerate(loads):  # else open a phase
            if load == 0:
                return j
        return min(range(self.slots), key=lambda j: (loads[j], j))  # all full: balance

    @property
    def occupancy(self) -> list[int]:
        """Sessions per slot."""
        return [len(c) for c in self._callbacks]

    def _first_deadline(self, slot: int, now: float) -> float:
        assert self._origin is not None
        base = self._origin + slot * self.ptime / self.slots
        if base >= now:
            return base
        # The slot's first grid point at or after now (sub-microsecond rounding is no lateness).
        return base + max(0, -(-(now - base - 1e-7) // self.ptime)) * self.ptime

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending = [d for d in self._next if d is not None]
        if pending:
            self._timer = self._loop.call_at(min(pending) - GUARD, self._fire)

    def _fire(self) -> None:
        self._timer = None
        pending = [d for d in self._next if d is not None]
        if not pending:
            return
        remaining = min(pending) - self._loop.time()
        if 0 < remaining <= GUARD * 2:
            time.sleep(remaining)  # sub-millisecond and bounded by GUARD: precise, and no CPU burnt
        now = self._loop.time()
        due = sorted((d, j) for j, d in enumerate(self._next) if d is not None and d <= now)
        for nominal, slot in due:
            late = now - nominal
            skipped = int(late // self.ptime) if late >= self.ptime else 0
            deadline = nominal + skipped * self.ptime
            self._next[slot] = deadline + self.ptime
            for callback in list(self._callbacks[slot].values()):
                try:
                    callback(self._loop.time(), deadline, skipped)
                except Exception as exc:  # a bug in one session must not stop the others' media
                    self._loop.call_exception_handler({"message": "RTP tick failed", "exception": exc})
        self._reschedule()
