"""The attackers of bench/abuse.py, one process each so that their CPU is not the agent's (but they share the
machine with it, as a real attacker on the same host would). Each runs for `seconds` and prints one JSON line.

    python bench/abuse_attacks.py KIND PORT SECONDS [ARG]
      login     PORT=/metrics port, ARG=user      100 clients, the valid user with ever-new wrong passwords
      slowloris PORT=site port                    1,000 connections from 127.0.0.2-11 sending a header byte a second
      malformed PORT=/metrics port, ARG=rate      new connections with a garbage request each, at `rate`/s
      probe     PORT=/metrics port, ARG=user      /probe on every target, 50 requests a second
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sys
import time
from collections import Counter

import aiohttp

PASSWORD = "bench-password"
GARBAGE = [
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(48)) + b"\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def login(port: int, stop: float, user: str, counts: Counter[str]) -> None:
    """100 clients sending wrong passwords for the valid user."""

    async def client(i: int, s: aiohttp.ClientSession) -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            try:
                auth = {"Authorization": _basic(user, f"x{i}-{n}")}
                async with s.get(
                    f"http://127.0.0.1:{port}/metrics", headers=auth, timeout=aiohttp.ClientTimeout(total=10)
                ) as r:
                    counts[str(r.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                counts[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as s:
        await asyncio.gather(*(client(i, s) for i in range(100)))


async def slowloris(port: int, stop: float, _arg: str, counts: Counter[str]) -> None:
    """1,000 connections that never finish their headers; each reconnects when the agent closes it."""

    async def one(i: int) -> None:
        while time.monotonic() < stop:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.0.0.{2 + i % 10}", 0))
                counts["connected"] += 1
                w.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
                while time.monotonic() < stop:
                    try:
                        if not await asyncio.wait_for(r.read(4096), 1.0):
                            break  # closed by the agent (idle timeout, or 503 over a cap): reconnect
                    except TimeoutError:
                        w.write(b"X")  # one more header byte a second
                        await w.drain()
                counts["closed_by_agent"] += 1
                w.close()
            except OSError:
                counts["closed"] += 1
                await asyncio.sleep(0.5)

    await asyncio.gather(*(one(i) for i in range(1000)))


async def malformed(port: int, stop: float, rate: str, counts: Counter[str]) -> None:
    """A garbage request on a new connection, `rate` a second, read until the agent closes it."""
    period = 1.0 / float(rate)
    inflight: set[asyncio.Task[None]] = set()

    async def one() -> None:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(random.choice(GARBAGE))
            await asyncio.wait_for(r.read(), 5)
            counts["answered"] += 1
            w.close()
        except (OSError, TimeoutError):
            counts["failed"] += 1

    next_at = time.monotonic()
    while time.monotonic() < stop:
        if len(inflight) < 2000:
            task = asyncio.ensure_future(one())
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            counts["sent"] += 1
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1:
            next_at = time.monotonic()  # the attacker cannot keep up: it sends what it can
    await asyncio.gather(*inflight, return_exceptions=True)


async def probe(port: int, stop: float, user: str, counts: Counter[str]) -> None:
    """/probe on every target in turn, 50 requests a second."""
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession() as s:
        i = 0
        while time.monotonic() < stop:
            i += 1
            url = f"http://127.0.0.1:{port}/probe?target=t{i % 200:03d}"

            async def one(u: str = url) -> None:
                try:
                    async with s.get(
                        u, headers={"Authorization": _basic(user, PASSWORD)}, timeout=aiohttp.ClientTimeout(total=10)
                    ) as r:
                        counts[str(r.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    counts[type(exc).__name__] += 1

            task = asyncio.ensure_future(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(0.02)
        await asyncio.gather(*pending, return_exceptions=True)


ATTACKS = {"login": login, "slowloris": slowloris, "malformed": malformed, "probe": probe}


async def main(kind: str, port: int, seconds: float, arg: str) -> None:
    counts: Counter[str] = Counter()
    await ATTACKS[kind](port, time.monotonic() + seconds, arg, counts)
    print(json.dumps({"attack": kind, **counts}), flush=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else ""))
