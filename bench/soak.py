"""Soak: 1,000,000 HTTP probes against fast local targets; RSS, open descriptors and asyncio tasks must not grow.

The agent runs in this process with its real sinks (Prometheus, SQLite history); the targets are
bench/targets_server.py in its own process. Defaults: 1,000 targets every 500 ms with a 500 ms deadline
(2,000 probes/s asked for), so the full run takes about 9 minutes on 2 cores; `--probes N` shortens it.

Warm-up: the first `--warmup` probes (default 10 % of the run, at least 20 rounds of every target) are not
measured: they fill the interpreter's caches, the metric fragments of every target, the SQLite page cache and
the allocator's arenas. The start figures are taken after the warm-up, the end figures when the count is
reached; RSS after gc.collect(). Descriptors and tasks are counted twice: under load (min..max over a 3 s
window, for the picture) and quiesced, the exact figure the goal is judged on: the scheduler is stopped (probes in
flight are cancelled, which must release their sockets too), the loop settles, and the descriptors are listed by
kind (socket, pipe, anon_inode, file) before the probe loops are started again. Goals: RSS growth under 5 %, no
growth in the quiesced descriptors or tasks, no failed probes.

    python bench/soak.py [--probes 1000000] [--targets 1000] [--interval 0.5] [--warmup N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.runtime.app import Agent
from agent.runtime.config import Config
from bench.common import Row, machine, open_fds, report, rss_bytes, self_cpu_seconds
from tests.peers.base import free_port

WINDOW = 3.0
"""Seconds over which descriptors and tasks are sampled (every 20 ms) at the start and at the end. Probes in
flight hold a socket and a task each, so one instant is noise; the minimum of the window is the baseline a
leak would raise, the maximum shows the load."""


@dataclass(frozen=True)
class Sample:
    """What is measured at the start or at the end of the measured run."""

    probes: int
    rss: int
    fds: tuple[int, int]  # min, max over the window, under load
    tasks: tuple[int, int]
    at: float
    quiet_fds: Counter[str]  # descriptors by kind with no probe in flight
    quiet_tasks: int

    @classmethod
    async def take(cls, agent: Agent) -> Sample:
        probes, at = agent.scheduler.completed, time.perf_counter()
        fds, tasks = [], []
        while time.perf_counter() - at < WINDOW:
            fds.append(open_fds())
            tasks.append(len(asyncio.all_tasks()))
            await asyncio.sleep(0.02)
        gc.collect()
        rss = rss_bytes()
        jobs = agent.scheduler.jobs
        await agent.scheduler.stop()
        await asyncio.sleep(0.5)  # closing transports finish on later loop iterations
        gc.collect()
        quiet_fds, quiet_tasks = fd_kinds(), len(asyncio.all_tasks())
        agent.scheduler.start(jobs)
        return cls(probes, rss, (min(fds), max(fds)), (min(tasks), max(tasks)), at, quiet_fds, quiet_tasks)


def fd_kinds() -> Counter[str]:
    """This process's open descriptors by kind: socket, pipe, anon_inode:[eventfd] ..., or the file's path."""
    kinds = Counter[str]()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the listing's own descriptor, closed by now
            continue
        kinds[link.split(":[", 1)[0] if link.startswith(("socket:", "pipe:")) else link] += 1
    return kinds


def build_config(n: int, interval: float, ports: list[int], listen: int, tmp: Path) -> Config:
    comps = [{"id": f"c{i}", "name": f"Component {i}", "tier": "supporting"} for i in range(max(1, n // 20))]
    targets = [
        {
            "id": f"t{i}",
            "component": f"c{i % len(comps)}",
            "kind": "http",
            "interval": interval,
            "timeout": min(interval, 2.0),
            "http": {"url": f"http://127.0.0.1:{ports[i % len(ports)]}/t/{i}"},
        }
        for i in range(n)
    ]
    return Config.model_validate(
        {
            "vantage": "soak",
            "listen": f"127.0.0.1:{listen}",
            "scheduler": {"concurrency": 1000},
            "history": {"path": str(tmp / "soak.sqlite"), "results_retention": "1h"},
            "components": comps,
            "targets": targets,
        }
    )


async def wait_for(agent: Agent, count: int, progress: float = 30.0) -> None:
    last = time.perf_counter()
    while agent.scheduler.completed < count:
        await asyncio.sleep(0.5)
        if time.perf_counter() - last >= progress:
            last = time.perf_counter()
            print(
                f"  {agent.scheduler.completed:,} probes, RSS {rss_bytes() / 2**20:.1f} MiB, "
                f"{open_fds()} fds, {len(asyncio.all_tasks())} tasks",
                flush=True,
            )


async def run(total: int, n: int, interval: float, warmup: int) -> list[Row]:
    ports = [free_port() for _ in range(4)]
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "targets_server.py"), *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout and server.stdout.readline().strip() == "READY"
    with tempfile.TemporaryDirectory(prefix="dialtone-soak-") as tmp:
        agent = Agent(build_config(n, interval, ports, free_port(), Path(tmp)))
        try:
            rss_before = rss_bytes()
            await agent.start()
            await wait_for(agent, warmup)
            start = await Sample.take(agent)
            cpu0, failures = self_cpu_seconds(), Counter[str]()
            keep = agent.scheduler.on_result
            agent.scheduler.on_result = lambda r: (failures.update([r.error]) if not r.ok else None, keep(r))[1]
            print(f"  warm-up done at {start.probes:,} probes; measuring", flush=True)
            await wait_for(agent, start.probes + total)
            cpu = self_cpu_seconds() - cpu0
            end = await Sample.take(agent)
        finally:
            await agent.stop()
            server.terminate()
            server.wait(5)
    probes, wall = end.probes - start.probes, end.at - start.at
    growth = (end.rss - start.rss) / start.rss
    return [
        Row(
            "probes measured (after warm-up)",
            f"{probes:,} in {wall:.0f} s ({probes / wall:,.0f}/s)",
            goal=f"{total:,}",
            met=probes >= total,
        ),
        Row("warm-up", f"{start.probes:,} probes; RSS before start {rss_before / 2**20:.1f} MiB"),
        Row(
            "RSS start -> end",
            f"{start.rss / 2**20:.1f} -> {end.rss / 2**20:.1f} MiB ({growth:+.2%})",
            goal="growth < 5 %",
            met=growth < 0.05,
        ),
        Row(
            f"open descriptors under load, start -> end (min..max over {WINDOW:g} s)",
            f"{_span(start.fds)} -> {_span(end.fds)}",
        ),
        Row(
            "open descriptors quiesced, start -> end",
            _kinds(start.quiet_fds, end.quiet_fds),
            goal="no growth",
            met=not (end.quiet_fds - start.quiet_fds),
        ),
        Row(
            f"asyncio tasks under load, start -> end (min..max over {WINDOW:g} s)",
            f"{_span(start.tasks)} -> {_span(end.tasks)}",
        ),
        Row(
            "asyncio tasks quiesced, start -> end",
            f"{start.quiet_tasks} -> {end.quiet_tasks}",
            goal="no growth",
            met=end.quiet_tasks <= start.quiet_tasks,
        ),
        Row(
            "failed probes (measured part)",
            ", ".join(f"{k} {v:,}" for k, v in failures.most_common()) or "0",
            goal="0 (local, fast targets)",
            met=not failures,
        ),
        Row("agent CPU per probe", f"{cpu / max(probes, 1) * 1e6:.0f} us"),
    ]


def _kinds(start: Counter[str], end: Counter[str]) -> str:
    grown = ", ".join(f"+{n} {kind}" for kind, n in (end - start).items())
    return f"{start.total()} -> {end.total()}" + (f" ({grown})" if grown else "")


def _span(pair: tuple[int, int]) -> str:
    return f"{pair[0]}..{pair[1]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=1_000_000, help="probes measured after the warm-up")
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between probes of one target")
    ap.add_argument(
        "--warmup", type=int, help="probes before measuring (default: 10 %% of --probes, at least 20 per target)"
    )
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else max(args.probes // 10, 20 * args.targets)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(f"machine: {machine()}")
    print(
        f"soak: {args.probes:,} probes, {args.targets} targets every {args.interval:g} s, warm-up {warmup:,}",
        flush=True,
    )
    rows = asyncio.run(run(args.probes, args.targets, args.interval, warmup))
    report(f"soak: {args.probes:,} HTTP probes", rows)


if __name__ == "__main__":
    main()
