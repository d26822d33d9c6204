"""10,000 HTTP targets at a 60 s interval against local servers: lateness, memory and scrape cost.

Goals (the core issue): scheduler lateness p99 under 50 ms, RSS under 300 MB, a full /metrics scrape under
250 ms, while probing goes on. `python bench/scale.py [--targets N] [--seconds S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.runtime.app import Agent
from agent.runtime.config import Config
from bench.common import Row, machine, pid_cpu_seconds, report, rss_bytes, self_cpu_seconds
from tests.peers.base import free_port


def build_config(n: int, ports: list[int], listen: int, history: Path, scheduler: dict[str, float]) -> Config:
    comps = [{"id": f"c{i}", "name": f"Component {i}", "tier": "supporting"} for i in range(max(1, n // 20))]
    targets = [
        {
            "id": f"t{i}",
            "component": f"c{i % len(comps)}",
            "kind": "http",
            "interval": 60,
            "timeout": 5,
            "http": {"url": f"http://127.0.0.1:{ports[i % len(ports)]}/t/{i}"},
        }
        for i in range(n)
    ]
    return Config.model_validate(
        {
            "vantage": "bench",
            "listen": f"127.0.0.1:{listen}",
            "history": {"path": str(history)},
            "components": comps,
            "targets": targets,
            "scheduler": scheduler,
        }
    )


async def scrape(url: str) -> tuple[float, int]:
    async with aiohttp.ClientSession() as s:
        t0 = time.perf_counter()
        async with s.get(url) as r:
            body = await r.read()
        return time.perf_counter() - t0, len(body)


async def run(n: int, seconds: float, scheduler: dict[str, float]) -> list[Row]:
    ports = [free_port() for _ in range(4)]
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "targets_server.py"), *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout and server.stdout.readline().strip() == "READY"
    listen = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="dialtone-scale-"))
    agent = Agent(build_config(n, ports, listen, tmp / "h.sqlite", scheduler))
    lateness: list[float] = []
    try:
        rss0 = rss_bytes()
        await agent.start()
        observe = agent.prometheus.lateness.observe

        def on_lateness(s: float) -> None:
            lateness.append(s)
            observe(s)

        agent.scheduler.on_lateness = on_lateness
        cpu0, srv0, t0 = self_cpu_seconds(), pid_cpu_seconds(server.pid), time.perf_counter()
        scrapes: list[float] = []
        size = 0
        while time.perf_counter() - t0 < seconds:
            await asyncio.sleep(5)
            took, size = await scrape(f"http://127.0.0.1:{listen}/metrics")
            scrapes.append(took)
        wall = time.perf_counter() - t0
        cpu = self_cpu_seconds() - cpu0
        probes = agent.scheduler.completed
        rss = rss_bytes()
        srv_cpu = pid_cpu_seconds(server.pid) - srv0
    finally:
        await agent.stop()
        server.terminate()
        server.wait(5)
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99) - 1] if lateness else float("nan")
    full = scrapes[len(scrapes) // 2 :] or scrapes  # after every target has reported once
    return [
        Row("targets", f"{n:,}", goal="10,000"),
        Row("probes completed", f"{probes:,} in {wall:.0f} s", goal=f"{n * wall / 60:,.0f} expected"),
        Row("scheduler lateness p99", f"{p99 * 1000:.1f} ms", goal="< 50 ms", met=p99 < 0.05),
        Row("scheduler lateness median", f"{statistics.median(lateness) * 1000:.2f} ms" if lateness else "-"),
        Row(
            "RSS after run",
            f"{rss / 2**20:.0f} MB (start {rss0 / 2**20:.0f} MB)",
            goal="< 300 MB",
            met=rss < 300 * 2**20,
        ),
        Row(
            "full /metrics scrape (max)",
            f"{max(full) * 1000:.0f} ms, {size / 2**20:.1f} MiB",
            goal="< 250 ms",
            met=max(full) < 0.25,
        ),
        Row(
            "agent CPU per probe (metrics and history included)",
            f"{cpu / max(probes, 1) * 1e6:.0f} us",
            anchor=f"target servers: {srv_cpu / max(probes, 1) * 1e6:.0f} us per request",
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=90.0, help="run time (>= 60 for every target to report)")
    ap.add_argument("--coalesce", type=float, help="scheduler.coalesce in seconds (default: the config's, 10 ms)")
    args = ap.parse_args()
    scheduler = {} if args.coalesce is None else {"coalesce": args.coalesce}
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(args.targets, args.seconds, scheduler))
    print(f"machine: {machine()}")
    report("scale: 10,000 HTTP targets", rows)


if __name__ == "__main__":
    main()
