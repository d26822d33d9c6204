"""CPU per SIP OPTIONS transaction: dialtone's sip_options probe against a SIPp UAC (C++), in one run,
at the same rate, to the same SIPp UAS. Also dialtone's flat-out OPTIONS rate on one core, and the CPU
cost of one test call while its RTP flows.

dialtone's OPTIONS run as `dialtone run` runs them: `rate` sip_options targets at a 1 s interval on the
agent's Scheduler with its default settings (jitter, timer coalescing, concurrency limit, hard deadline per
probe), so the scheduler's own cost is counted. A second figure runs the same probe without the scheduler,
one task per probe paced by asyncio.sleep (the harness of earlier versions of this benchmark), for
comparison: that pacing wakes the event loop once per probe.

    python bench/sip_options_vs_sipp.py [--count N] [--rate R] [--rounds K] [--loop uvloop|asyncio]

Goals (issue 3): >= 1,000 OPTIONS probes/s on one core; CPU per transaction at most 3x SIPp's; a test
call's own CPU under 5 % of a core while RTP flows. Our CPU comes from getrusage(RUSAGE_SELF); SIPp's UAC
from getrusage(RUSAGE_CHILDREN) once it exits. The UAS's CPU is counted for nobody.

The paced runs alternate, dialtone (scheduled), dialtone (bare pacing), then SIPp, for `--rounds`
rounds, so both see the same machine load (other work on a shared machine moves both figures); every
round is printed and the table has the median of each and the median of the per-round ratios. `--loop`
picks the event loop: uvloop by default, as `dialtone run` installs it; `--loop asyncio` measures the
standard library's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.clock import SystemClock
from agent.core.model import ProbeResult, Target
from agent.probes.sip import SipCallProbe, SipOptionsProbe
from agent.probes.sip_config import SipCallConfig, SipOptionsConfig
from agent.runtime.config import SchedulerConfig
from agent.runtime.scheduler import Job, Scheduler
from bench.common import Row, Stopwatch, machine, report
from tests.peers.base import LOOPBACK, free_port, require_binary
from tests.sip.sipp import SCENARIOS, start_sipp

T = TypeVar("T")


def _runner(loop: str) -> Callable[[Coroutine[Any, Any, T]], T]:
    if loop == "uvloop":
        import uvloop

        return lambda coro: uvloop.run(coro)
    return asyncio.run


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def _paced(probe: SipOptionsProbe, count: int, rate: float) -> int:
    """Start `count` probes, one every 1/rate s; returns how many failed."""
    target = Target("bench", "voice", "sip_options", timeout=5.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(count):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(probe.probe(target)))
    results = await asyncio.gather(*tasks)
    return sum(not r.ok for r in results)


async def _scheduled(probes: list[SipOptionsProbe], count: int) -> tuple[int, int]:
    """Run one sip_options target per probe at a 1 s interval on the agent's Scheduler (default settings)
    until `count` results are in; returns (results, failed)."""
    defaults = SchedulerConfig()
    oks: list[bool] = []
    done = asyncio.Event()

    def on_result(result: ProbeResult) -> None:
        oks.append(result.ok)
        if len(oks) >= count:
            done.set()

    scheduler = Scheduler(SystemClock(), on_result, concurrency=defaults.concurrency, jitter=defaults.jitter,
                          coalesce=defaults.coalesce)  # fmt: skip
    scheduler.start(
        Job(Target(f"bench-{i}", "voice", "sip_options", timeout=0.9), probe, 1.0) for i, probe in enumerate(probes)
    )
    await done.wait()
    await scheduler.stop()
    return len(oks), oks.count(False)


async def _flat_out(probe: SipOptionsProbe, count: int, concurrency: int) -> int:
    target = Target("bench", "voice", "sip_options", timeout=5.0)
    sem = asyncio.Semaphore(concurrency)
    failed = 0

    async def one() -> None:
        nonlocal failed
        async with sem:
            failed += not (await probe.probe(target)).ok

    await asyncio.gather(*(one() for _ in range(count)))
    return failed


def _sipp_uac(uas_port: int, count: int, rate: float, work: Path) -> tuple[float, float, int]:
    """Run SIPp as an OPTIONS UAC; (cpu seconds, wall seconds, exit code)."""
    argv = [
        require_binary("sipp", "sip-tester"), f"{LOOPBACK}:{uas_port}", "-sf", str(SCENARIOS / "sipp_options_uac.xml"),
        "-i", LOOPBACK, "-p", str(free_port(socket.SOCK_DGRAM)), "-t", "u1", "-r", str(int(rate)), "-m", str(count),
        "-ci", LOOPBACK, "-cp", str(free_port(socket.SOCK_DGRAM)), "-mi", LOOPBACK,
        "-mp", str(free_port(socket.SOCK_DGRAM)), "-nostdin", "-l", str(count),
    ]  # fmt: skip
    cpu0, t0 = _children_cpu(), time.perf_counter()
    rc = subprocess.run(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
    return _children_cpu() - cpu0, time.perf_counter() - t0, rc


def _call_cpu(seconds: float, work: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> tuple[float, bool]:
    uas = start_sipp("answer", work / "call", echo=True)
    try:
        probe = SipCallProbe(SipCallConfig.model_validate({"uri": uas.uri("100"), "duration": seconds}))
        with Stopwatch() as sw:
            result = run(probe.probe(Target("bench-call", "voice", "sip_call", timeout=seconds + 3)))
        return sw.cpu / sw.wall, result.ok
    finally:
        uas.stop()


def main() -> None:
    """Run the three measurements and print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--rounds", type=int, default=3, help="alternating dialtone/SIPp paced runs")
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--call-seconds", type=float, default=3.0)
    args = ap.parse_args()
    run = _runner(args.loop)
    ours: list[float] = []
    theirs: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        uas = start_sipp("options", work / "uas")
        try:
            probe = SipOptionsProbe(SipOptionsConfig.model_validate({"uri": uas.uri()}))
            run(_flat_out(probe, 200, 16))  # warm-up: imports, first sockets
            probes = [
                SipOptionsProbe(SipOptionsConfig.model_validate({"uri": uas.uri()})) for _ in range(int(args.rate))
            ]  # one per target, as the agent builds them
            for i in range(args.rounds):
                with Stopwatch() as sw:
                    done, failed = run(_scheduled(probes, args.count))
                ours.append(sw.cpu / done * 1e6)
                with Stopwatch() as bare_sw:
                    bare_failed = run(_paced(probe, args.count, args.rate))
                bare.append(bare_sw.cpu / args.count * 1e6)
                sipp_cpu, sipp_wall, rc = _sipp_uac(uas.port, args.count, args.rate, work)
                theirs.append(sipp_cpu / args.count * 1e6)
                print(
                    f"round {i + 1}: {args.count} OPTIONS at {args.rate:g}/s: dialtone scheduled {ours[-1]:.0f} us/tx "
                    f"({sw.wall:.2f} s wall, {done} results, {failed} failed), bare pacing {bare[-1]:.0f} us/tx "
                    f"({bare_failed} failed), SIPp UAC {theirs[-1]:.0f} us/tx ({sipp_wall:.2f} s wall, exit code "
                    f"{rc}), ratio {ours[-1] / theirs[-1]:.2f}x"
                )
            with Stopwatch() as flat:
                flat_failed = run(_flat_out(probe, args.count, args.concurrency))
        finally:
            uas.stop()
        call_share, call_ok = _call_cpu(args.call_seconds, work, run)
    ours_us, sipp_us, bare_us = statistics.median(ours), statistics.median(theirs), statistics.median(bare)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True) if b]
    ratio = statistics.median(ratios) if ratios else float("inf")
    bare_ratios = [a / b for a, b in zip(bare, theirs, strict=True) if b]
    bare_ratio = statistics.median(bare_ratios) if bare_ratios else float("inf")
    per_second = args.count / flat.cpu if flat.cpu else float("inf")
    print(f"machine: {machine()}; event loop: {args.loop}")
    print(f"ratio per round: {', '.join(f'{r:.2f}x' for r in ratios)} (spread {min(ratios):.2f}-{max(ratios):.2f}x)")
    print(f"flat-out: {args.count} probes, {args.concurrency} at once, {flat.wall:.2f} s wall, {flat_failed} failed")
    report(
        "SIP OPTIONS: dialtone vs SIPp UAC",
        [
            Row(f"CPU per OPTIONS transaction (us), on the agent's scheduler, median of {args.rounds} rounds "
                f"({args.loop})", f"{ours_us:.0f}", f"{sipp_us:.0f} (SIPp)", f"{ratio:.2f}x", "<= 3x SIPp", ratio <= 3),
            Row("CPU per OPTIONS transaction (us), same probe, one task per probe paced by asyncio.sleep",
                f"{bare_us:.0f}", f"{sipp_us:.0f} (SIPp)", f"{bare_ratio:.2f}x", "-", None),
            Row("OPTIONS probes per CPU-second", f"{per_second:.0f}", "-", "-", ">= 1000/s on one core",
                per_second >= 1000),
            Row(f"test call CPU while RTP flows ({args.call_seconds:g} s)", f"{call_share * 100:.1f} % of a core",
                "-", "-", "< 5 %", call_share < 0.05 and call_ok),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
