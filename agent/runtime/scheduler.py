"""One loop per target on the monotonic clock: spread first runs, jitter, a global concurrency limit and a
hard deadline per probe, so nothing ever hangs and a wall-clock step never bunches or stalls the probes.

Timer coalescing: with `coalesce` > 0 each run waits for the first tick of a `coalesce`-second grid at or
after its due time (never earlier), so the loops due within one tick wake the event loop once instead of
once each. Every wake-up from a timed sleep costs the process a system call and a context switch, which on
a busy agent (hundreds of probes a second) is a large share of its CPU; moving a start by at most 10 ms is
far below the run-to-run jitter. The schedule itself (due times, jitter, skipped slots) is unchanged, and
lateness is measured from the tick, so the slack is not reported as lateness.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.core.clock import Clock
from agent.core.model import Probe, ProbeResult, Target

log = logging.getLogger("dialtone.scheduler")

HARD_DEADLINE_GRACE = 0.5
"""Seconds past a target's own timeout before the scheduler cancels the probe itself."""


@dataclass(frozen=True, slots=True)
class Job:
    """A target, its probe and its interval (seconds)."""

    target: Target
    probe: Probe
    interval: float


class ProbeBusy(Exception):
    """An on-demand probe could not start in time; nothing was sent to the target."""


ResultCallback = Callable[[ProbeResult], None]
LatenessCallback = Callable[[float], None]


async def run_probe(job: Job, clock: Clock) -> ProbeResult:
    """Run one probe under a hard deadline. Timeouts and bugs become results; the agent never goes down."""
    target = job.target
    started_at, t0 = clock.now(), clock.monotonic()
    try:
        async with asyncio.timeout(target.timeout + HARD_DEADLINE_GRACE):
            return await job.probe.probe(target)
    except TimeoutError:
        return ProbeResult.failure(
            target,
            started_at,
            clock.monotonic() - t0,
            "timeout",
            f"no result within the {target.timeout:g}s deadline",
        )
    except Exception as exc:  # a probe bug must not stop the other targets
        log.exception("probe %s (%s) raised; this is a bug", target.id, target.kind)
        return ProbeResult.failure(
            target, started_at, clock.monotonic() - t0, "internal_error", f"{type(exc).__name__}: {exc}"
        )


class Scheduler:
    """Runs every job forever at its interval until `stop()`; results go to `on_result`."""

    def __init__(
        self,
        clock: Clock,
        on_result: ResultCallback,
        *,
        concurrency: int = 1000,
        jitter: float = 0.05,
        coalesce: float = 0.0,
        on_lateness: LatenessCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.on_result = on_result
        self.on_lateness = on_lateness or (lambda _s: None)
        self.jitter = jitter
        if not 0.0 <= coalesce <= 1.0:
            raise ValueError(f"coalesce must be between 0 and 1 second, not {coalesce!r}")
        self.coalesce = coalesce
        self._sem = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()
        self._tasks: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._flights: dict[str, asyncio.Future[ProbeResult]] = {}
        self.inflight = 0
        self.skipped = 0
        self.completed = 0

    @property
    def jobs(self) -> list[Job]:
        """The jobs currently scheduled."""
        return [job for job, _ in self._tasks.values()]

    def start(self, jobs: Iterable[Job]) -> None:
        """Schedule jobs, their first runs spread evenly across their interval (no thundering herd)."""
        jobs = list(jobs)
        n = len(jobs)
        base = self.clock.monotonic()
        for i, job in enumerate(jobs):
            if job.target.id in self._tasks:
                raise ValueError(f"target {job.target.id} is already scheduled")
            offset = job.interval * i / n
            task = asyncio.create_task(self._loop(job, base + offset), name=f"probe:{job.target.id}")
            self._tasks[job.target.id] = (job, task)

    def replace(self, jobs: Iterable[Job]) -> tuple[int, int, int]:
        """Apply a reloaded job list; unchanged targets keep their loop. Returns (started, stopped, kept)."""
        new = {j.target.id: j for j in jobs}
        stale = [tid for tid, (job, _) in self._tasks.items() if new.get(tid) != job]
        for tid in stale:
            self._tasks.pop(tid)[1].cancel()
        fresh = [j for tid, j in new.items() if tid not in self._tasks]
        self.start(fresh)
        return len(fresh), len(stale), len(new) - len(fresh)

    async def stop(self) -> None:
        """Cancel every loop and wait for them (probes in flight are cancelled, never awaited to the end)."""
        tasks = [task for _, task in self._tasks.values()] + list(self._flights.values())
        self._tasks.clear()
        self._flights.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def probe_now(self, target_id: str, start_within: float | None = None) -> ProbeResult:
        """Probe one scheduled target now (for /probe), under the same limits. A probe of the target already
        in flight (scheduled or not) is shared, never doubled; a probe that cannot start within
        `start_within` seconds (the concurrency limit is reached) is not started: ProbeBusy."""
        job, _ = self._tasks[target_id]
        return await self._shared(job, start_within)

    async def _shared(
        self,
        job: Job,
        start_within: float | None,
        started: Callable[[], None] | None = None,
    ) -> ProbeResult:
        """Single flight per target: join the probe in flight, or start one once a concurrency slot is free."""
        tid = job.target.id
        flight = self._flights.get(tid)
        if flight is None:
            try:
                async with asyncio.timeout(start_within):
                    await self._sem.acquire()
            except TimeoutError:
                raise ProbeBusy(f"no probe slot came free within {start_within:g}s") from None
            flight = self._flights.get(tid)  # another caller may have started one while this one waited
            if flight is not None:
                self._sem.release()
            else:
                flight = self._flights[tid] = asyncio.ensure_future(self._fly(job))
                flight.add_done_callback(lambda f: self._flights.pop(tid) if self._flights.get(tid) is f else None)
        if started is not None:
            started()
        return await asyncio.shield(flight)  # a caller that gives up does not cancel the others' probe

    async def _fly(self, job: Job) -> ProbeResult:
        self.inflight += 1
        try:
            return await run_probe(job, self.clock)
        finally:
            self.inflight -= 1
            self._sem.release()

    def wake_at(self, due: float) -> float:
        """When a run due at `due` (monotonic) starts: the first coalescing tick at or after it."""
        grain = self.coalesce
        if not grain:
            return due
        tick = math.ceil(due / grain) * grain
        return tick if tick >= due else tick + grain  # float rounding never starts a run early

    def _late(self, wake: float) -> None:
        self.on_lateness(max(0.0, self.clock.monotonic() - wake))

    async def _loop(self, job: Job, first: float) -> None:
        next_at = first
        interval = job.interval
        while True:
            wake = self.wake_at(next_at)
            delay = wake - self.clock.monotonic()
            if delay > 0:
                await self.clock.sleep(delay)
            result = await self._shared(job, None, functools.partial(self._late, wake))
            self.completed += 1
            try:
                self.on_result(result)
            except Exception:
                log.exception("handling the result of %s failed; this is a bug", job.target.id)
            next_at += interval * (1.0 + self._rng.uniform(-self.jitter, self.jitter))
            now = self.clock.monotonic()
            if next_at < now:
                # The probe overran its slot: skip the missed runs instead of firing a burst.
                missed = int((now - next_at) // interval) + 1
                self.skipped += missed
                next_at += missed * interval
