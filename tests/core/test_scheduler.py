"""Scheduler: spread, hard deadline, bugs contained, concurrency limit, overruns, wall-clock steps, reload."""

from __future__ import annotations

import asyncio
import random

from agent.core.clock import SystemClock
from agent.core.model import ProbeResult, Target
from agent.runtime.scheduler import Job, Scheduler, run_probe
from tests.fakeclock import FakeClock


class RecordingProbe:
    """An injected Probe that records when it ran (by the test's clock) and can be made slow or broken."""

    kind = "test"

    def __init__(
        self, clock: FakeClock | SystemClock, work: float = 0.0, gate: asyncio.Event | None = None, boom: bool = False
    ) -> None:
        self.clock, self.work, self.gate, self.boom = clock, work, gate, boom
        self.starts: list[float] = []
        self.running = 0
        self.max_running = 0

    async def probe(self, target: Target) -> ProbeResult:
        self.starts.append(self.clock.monotonic())
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.boom:
                raise RuntimeError("probe bug")
            if self.gate is not None:
                await self.gate.wait()
            if self.work:
                await self.clock.sleep(self.work)
            return ProbeResult(target.id, "test", self.clock.now(), self.work, True)
        finally:
            self.running -= 1


def job(tid: str, probe: RecordingProbe, interval: float = 10.0, timeout: float = 5.0) -> Job:
    return Job(Target(tid, "c", "test", timeout), probe, interval)


async def test_first_runs_are_spread_evenly_across_the_interval() -> None:
    clock = FakeClock()
    results: list[ProbeResult] = []
    s = Scheduler(clock, results.append, jitter=0.0)
    probes = [RecordingProbe(clock) for _ in range(4)]
    base = clock.monotonic()
    s.start(job(f"t{i}", p) for i, p in enumerate(probes))
    await clock.advance(25)
    assert [[round(x - base, 6) for x in p.starts] for p in probes] == [
        [0, 10, 20],
        [2.5, 12.5, 22.5],
        [5, 15, 25],
        [7.5, 17.5],
    ]
    assert len(results) == 11
    await s.stop()


async def test_jitter_stays_within_its_share_of_the_interval() -> None:
    clock = FakeClock()
    s = Scheduler(clock, lambda r: None, jitter=0.1, rng=random.Random(7))
    p = RecordingProbe(clock)
    s.start([job("t", p)])
    await clock.advance(500)
    gaps = [b - a for a, b in zip(p.starts, p.starts[1:], strict=False)]
    assert len(gaps) > 40
    assert all(9.0 <= g <= 11.0 for g in gaps) and len({round(g, 3) for g in gaps}) > 10
    await s.stop()


async def test_hard_deadline_turns_a_hung_probe_into_a_timeout_result() -> None:
    clock = SystemClock()
    hung = RecordingProbe(clock, gate=asyncio.Event())  # never set: the probe would wait forever
    r = await run_probe(job("hung", hung, timeout=0.05), clock)
    assert (r.ok, r.error, r.target) == (False, "timeout", "hung")
    assert "0.05s deadline" in r.message


async def test_a_probe_bug_becomes_a_result_and_the_loop_goes_on() -> None:
    clock = FakeClock()
    results: list[ProbeResult] = []
    s = Scheduler(clock, results.append, jitter=0.0)
    s.start([job("bad", RecordingProbe(clock, boom=True)), job("good", RecordingProbe(clock))])
    await clock.advance(30)
    bad = [r for r in results if r.target == "bad"]
    assert len(bad) == 4 and all(r.error == "internal_error" and "probe bug" in r.message for r in bad)
    assert len([r for r in results if r.target == "good" and r.ok]) == 3
    await s.stop()


async def test_global_concurrency_limit() -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    s = Scheduler(clock, lambda r: None, concurrency=2, jitter=0.0)
    probes = [RecordingProbe(clock, gate=gate) for _ in range(5)]
    s.start(job(f"t{i}", p) for i, p in enumerate(probes))
    await clock.advance(9)
    assert sum(p.running for p in probes) == 2 and s.inflight == 2
    gate.set()
    await clock.advance(1)
    assert all(p.starts for p in probes)
    await s.stop()


async def test_overrun_skips_missed_slots_instead_of_bursting() -> None:
    clock = FakeClock()
    s = Scheduler(clock, lambda r: None, jitter=0.0)
    slow = RecordingProbe(clock, work=25.0)
    base = clock.monotonic()
    s.start([job("slow", slow, timeout=30.0)])
    await clock.advance(100)
    assert [round(x - base) for x in slow.starts] == [0, 30, 60, 90]
    assert s.skipped == 6
    await s.stop()


async def test_wall_clock_step_does_not_move_the_schedule() -> None:
    clock = FakeClock()
    results: list[ProbeResult] = []
    s = Scheduler(clock, results.append, jitter=0.0)
    p = RecordingProbe(clock)
    s.start([job("t", p)])
    await clock.advance(15)
    clock.step_wall(-3600)  # NTP steps the wall clock back an hour
    await clock.advance(20)
    assert [round(x - p.starts[0]) for x in p.starts] == [0, 10, 20, 30]
    assert results[-1].started_at < results[0].started_at  # timestamps follow the wall clock
    await s.stop()


async def test_lateness_is_reported() -> None:
    clock = FakeClock()
    late: list[float] = []
    gate = asyncio.Event()
    s = Scheduler(clock, lambda r: None, concurrency=1, jitter=0.0, on_lateness=late.append)
    s.start([job("a", RecordingProbe(clock, gate=gate)), job("b", RecordingProbe(clock))])
    await clock.advance(7)  # b is due at 5 but a holds the only slot
    gate.set()
    await clock.advance(0.1)
    assert late[0] == 0 and round(late[1], 3) == 2.0
    await s.stop()


async def test_replace_keeps_unchanged_loops_and_stop_is_prompt() -> None:
    clock = FakeClock()
    s = Scheduler(clock, lambda r: None, jitter=0.0)
    keep, drop = job("keep", RecordingProbe(clock)), job("drop", RecordingProbe(clock))
    s.start([keep, drop])
    task_before = s._tasks["keep"][1]
    added = job("new", RecordingProbe(clock))
    assert s.replace([keep, added]) == (1, 1, 1)
    assert s._tasks["keep"][1] is task_before and set(s._tasks) == {"keep", "new"}
    await asyncio.wait_for(s.stop(), 1.0)
    assert task_before.cancelled()


async def test_coalescing_starts_runs_on_the_grid_never_early_and_at_most_one_tick_late() -> None:
    clock = FakeClock()
    late: list[float] = []
    s = Scheduler(clock, lambda r: None, jitter=0.05, coalesce=0.01, on_lateness=late.append, rng=random.Random(3))
    probes = [RecordingProbe(clock) for _ in range(7)]
    base = clock.monotonic()
    s.start(job(f"t{i}", p, interval=1.0) for i, p in enumerate(probes))
    await clock.advance(20)
    starts = [x for p in probes for x in p.starts]
    assert len(starts) > 7 * 18
    # Each start is a tick of the 10 ms grid (the loops due within one tick wake together)...
    assert all(abs(x / 0.01 - round(x / 0.01)) < 1e-6 for x in starts)
    # ...and the first runs, due at base + i/7 s, start at their tick: not before, less than one tick after.
    firsts = [p.starts[0] - base for p in probes]
    assert all(0 <= f - i / 7 < 0.01 for i, f in enumerate(firsts)), firsts
    # The slack up to the tick is not lateness: nothing held these runs back.
    assert late and max(late) == 0
    await s.stop()


async def test_coalescing_merges_runs_due_within_one_tick() -> None:
    clock = FakeClock()
    s = Scheduler(clock, lambda r: None, jitter=0.0, coalesce=0.1)
    probes = [RecordingProbe(clock) for _ in range(50)]
    s.start(job(f"t{i}", p, interval=1.0) for i, p in enumerate(probes))  # due every 20 ms
    await clock.advance(3)
    instants = {round(x, 6) for p in probes for x in p.starts}
    runs = sum(len(p.starts) for p in probes)
    assert runs >= 150 and len(instants) <= 31  # 50 runs a second on at most 10 ticks a second
    await s.stop()
    off = Scheduler(clock, lambda r: None, jitter=0.0, coalesce=0.0)
    probes = [RecordingProbe(clock) for _ in range(50)]
    off.start(job(f"u{i}", p, interval=1.0) for i, p in enumerate(probes))
    await clock.advance(0.99)
    assert len({round(x, 6) for p in probes for x in p.starts}) == 50  # without it, each run wakes alone
    await off.stop()


def test_coalesce_out_of_range_is_refused() -> None:
    for bad in (-0.01, 1.5):
        try:
            Scheduler(FakeClock(), lambda r: None, coalesce=bad)
        except ValueError as exc:
            assert "coalesce must be between 0 and 1 second" in str(exc)
        else:
            raise AssertionError(f"coalesce={bad} was accepted")


async def test_probe_now_shares_the_scheduled_run_in_flight_and_the_reverse() -> None:
    """Single flight per target: /probe during a scheduled run gets that run's result, and a scheduled run
    due during an on-demand probe takes that probe's result; the target is never probed twice at once."""
    clock = SystemClock()
    gate = asyncio.Event()
    probe = RecordingProbe(clock, gate=gate)
    results: list[ProbeResult] = []
    s = Scheduler(clock, results.append, jitter=0.0)
    s.start([job("t", probe, interval=0.2)])
    await asyncio.sleep(0.05)  # the first scheduled run is in flight, held at the gate
    on_demand = [asyncio.ensure_future(s.probe_now("t")) for _ in range(5)]
    await asyncio.sleep(0.3)  # the next scheduled slot passes while the run is held
    gate.set()
    got = await asyncio.gather(*on_demand)
    assert len(probe.starts) == 1 and probe.max_running == 1
    assert all(r is results[0] for r in got)
    gate.clear()
    late = asyncio.ensure_future(s.probe_now("t"))  # starts a flight the next scheduled run must join
    await asyncio.sleep(0.3)
    assert probe.max_running == 1 and probe.running == 1
    gate.set()
    await late
    await s.stop()


async def test_probe_now_that_cannot_start_in_time_places_nothing() -> None:
    from agent.runtime.scheduler import ProbeBusy

    clock = SystemClock()
    gate = asyncio.Event()
    busy, idle = RecordingProbe(clock, gate=gate), RecordingProbe(clock)
    s = Scheduler(clock, lambda r: None, concurrency=1, jitter=0.0)
    s.start([job("busy", busy, interval=60), job("idle", idle, interval=60)])
    await asyncio.sleep(0.05)  # "busy" holds the only slot; "idle" is due in 30 s
    try:
        await s.probe_now("idle", start_within=0.1)
        raise AssertionError("ProbeBusy expected")
    except ProbeBusy as exc:
        assert "0.1s" in str(exc)
    assert idle.starts == []
    gate.set()
    await s.stop()
