"""CPU per HTTP probe: dialtone's HttpProbe (with its Prometheus and history sinks) against Debian's
prometheus-blackbox-exporter driven the way Prometheus drives it, in one run, on the same local targets.

Goal (the core issue): dialtone at most 0.5 of blackbox_exporter's CPU per HTTP probe.
Two more in-process rows justify the lean client: a plain aiohttp GET with a fresh ClientSession per probe,
and the same with a TraceConfig for phases (what HttpProbe would need on aiohttp).

    python bench/http_vs_blackbox.py [--probes N] [--concurrency C] [--targets T]

The targets run in their own process (bench/targets_server.py), so their CPU is not counted for anyone.
Our own CPU comes from getrusage (all threads, so the history writer thread is included); blackbox's from
/proc/<pid>/stat. The driver that sends blackbox its /probe requests is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.model import ProbeResult, Status, Target
from agent.history.writer import HistoryWriter
from agent.probes import PROBE_METRICS
from agent.probes.http.config import HttpConfig
from agent.probes.http.probe import HttpProbe
from agent.sinks.prometheus import PrometheusSink, TargetMeta
from bench.common import Row, pid_cpu_seconds, report, self_cpu_seconds
from tests.peers.base import PeerProcess, free_port, require_binary, tcp_listening

BLACKBOX_CONFIG = """modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


async def _many(n: int, concurrency: int, one: Callable[[int], Awaitable[bool]]) -> int:
    """Run `one(i)` for i in range(n) with at most `concurrency` in flight; returns how many failed."""
    sem = asyncio.Semaphore(concurrency)
    failed = 0

    async def run(i: int) -> None:
        nonlocal failed
        async with sem:
            if not await one(i):
                failed += 1

    await asyncio.gather(*(run(i) for i in range(n)))
    return failed


async def bench_dialtone(urls: list[str], n: int, conc: int, tmp: Path, sinks: bool = True) -> tuple[float, int]:
    """CPU µs per probe for HttpProbe + PrometheusSink.on_result + HistoryWriter (flushed at the end)."""
    from prometheus_client import CollectorRegistry

    probes = [HttpProbe(HttpConfig(url=u)) for u in urls]
    targets = [Target(f"t{i}", "portal", "http", 5.0) for i in range(len(urls))]
    sink = PrometheusSink("bench", PROBE_METRICS, CollectorRegistry(), lambda: {"portal": Status.OPERATIONAL},
                          lambda: {})  # fmt: skip
    sink.set_targets(TargetMeta(t.id, t.component, t.kind, {}) for t in targets)
    history = HistoryWriter(tmp / f"history-{sinks}.sqlite", batch_interval=0.2)
    await history.start()

    async def one(i: int) -> bool:
        k = i % len(probes)
        result: ProbeResult = await probes[k].probe(targets[k])
        if sinks:
            sink.on_result(result)
            history.on_result(result)
        return result.ok

    await _many(50, conc, one)  # warm-up: imports, contexts, first SQLite transaction
    await history.flush()
    cpu0 = self_cpu_seconds()
    failed = await _many(n, conc, one)
    await history.flush()
    cpu = self_cpu_seconds() - cpu0
    await history.aclose()
    return cpu / n * 1e6, failed


async def bench_aiohttp(urls: list[str], n: int, conc: int, traced: bool) -> tuple[float, int]:
    """CPU µs per probe for a plain aiohttp GET on a fresh ClientSession (optionally with a TraceConfig)."""
    loop = asyncio.get_running_loop()

    def trace_config() -> list[aiohttp.TraceConfig]:
        tc = aiohttp.TraceConfig()
        marks: list[float] = []

        async def mark(*_: object) -> None:
            marks.append(loop.time())

        for signal in (
            tc.on_request_start,
            tc.on_dns_resolvehost_start,
            tc.on_connection_create_start,
            tc.on_connection_create_end,
            tc.on_request_chunk_sent,
            tc.on_request_end,
        ):
            signal.append(mark)  # fmt: skip
        return [tc]

    async def one(i: int) -> bool:
        timeout = aiohttp.ClientTimeout(total=5)
        traces = trace_config() if traced else None
        async with aiohttp.ClientSession(timeout=timeout, trace_configs=traces) as s, s.get(urls[i % len(urls)]) as r:
            await r.read()
            return r.status == 200

    await _many(50, conc, one)
    cpu0 = self_cpu_seconds()
    failed = await _many(n, conc, one)
    return (self_cpu_seconds() - cpu0) / n * 1e6, failed


async def bench_blackbox(urls: list[str], n: int, conc: int, tmp: Path) -> tuple[float, int]:
    """CPU µs per probe of the blackbox_exporter process, driven with /probe?module=http_2xx&target=..."""
    binary = require_binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter")
    (tmp / "blackbox.yml").write_text(BLACKBOX_CONFIG)
    port = free_port()
    argv = [binary, f"--config.file={tmp / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{port}"]
    with PeerProcess(argv, name="blackbox") as peer:
        peer.start(tmp)
        peer.wait_ready(lambda: tcp_listening(port))
        base = f"http://127.0.0.1:{port}/probe?module=http_2xx&target="
        # Keep-alive to blackbox, as Prometheus scrapes it; each probe still opens a fresh target connection.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:

            async def one(i: int) -> bool:
                async with s.get(base + urls[i % len(urls)]) as r:
                    return "probe_success 1" in await r.text()

            await _many(50, conc, one)
            cpu0 = pid_cpu_seconds(peer.pid)
            failed = await _many(n, conc, one)
            cpu = pid_cpu_seconds(peer.pid) - cpu0
    return cpu / n * 1e6, failed


async def main(n: int, conc: int, ntargets: int) -> None:
    ports = [free_port() for _ in range(ntargets)]
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "targets_server.py"), *map(str, ports)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "READY"
        urls = [f"http://127.0.0.1:{p}/health" for p in ports]
        tmp = Path(tempfile.mkdtemp(prefix="dialtone-bench-http-"))
        ours, f1 = await bench_dialtone(urls, n, conc, tmp)
        alone, _ = await bench_dialtone(urls, n, conc, tmp, sinks=False)
        plain, f2 = await bench_aiohttp(urls, n, conc, traced=False)
        traced, f3 = await bench_aiohttp(urls, n, conc, traced=True)
        bb, f4 = await bench_blackbox(urls, n, conc, tmp)
    finally:
        server.terminate()
        server.wait(10)
    ratio = ours / bb if bb else float("inf")
    report(f"HTTP probe CPU vs blackbox_exporter ({n} probes, concurrency {conc})", [
        Row("CPU µs per HTTP probe (dialtone incl. metrics + history)", f"{ours:.0f}", f"{bb:.0f} (blackbox)",
            f"{ratio:.2f}", "<= 0.50", ratio <= 0.5),
        Row("CPU µs per probe, dialtone HttpProbe alone (no sinks)", f"{alone:.0f}", f"{bb:.0f} (blackbox)",
            f"{alone / bb:.2f}" if bb else "-"),
        Row("CPU µs per probe, plain aiohttp, fresh session", f"{plain:.0f}", f"{bb:.0f} (blackbox)",
            f"{plain / bb:.2f}" if bb else "-"),
        Row("CPU µs per probe, aiohttp + TraceConfig (phases)", f"{traced:.0f}", f"{bb:.0f} (blackbox)",
            f"{traced / bb:.2f}" if bb else "-"),
        Row("failed probes (dialtone / aiohttp / traced / blackbox)", f"{f1} / {f2} / {f3} / {f4}", "-", "-", "0",
            f1 + f2 + f3 + f4 == 0),
    ])  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--targets", type=int, default=4)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(args.probes, args.concurrency, args.targets))
