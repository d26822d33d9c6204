"""Issue 16, breaks 1 and 9: a wrong-password flood against a real `dialtone run` with bcrypt basic auth must
not delay probing or /-/healthy, and the answer must not tell a known user from an unknown one."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import aiohttp

from tests.faults.agent_process import USER, auth_header, get, probe_counts, secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, wait_until

FLOOD_CLIENTS = 40
FLOOD_SECONDS = 6.0


async def _flood(port: int, seconds: float) -> tuple[int, list[float]]:
    """FLOOD_CLIENTS clients send the valid user with wrong passwords; /-/healthy is timed meanwhile."""
    url = f"http://127.0.0.1:{port}"
    stop = time.monotonic() + seconds
    sent = 0
    health: list[float] = []

    async def client(i: int, s: aiohttp.ClientSession) -> None:
        nonlocal sent
        n = 0
        while time.monotonic() < stop:
            n += 1  # a new password each time: no cache can answer it
            try:
                async with s.get(
                    url + "/metrics",
                    headers={"Authorization": auth_header(USER, f"wrong-{i}-{n}")},
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as r:
                    await r.read()
                    sent += 1
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.05)

    async def healthy(s: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop:
            t0 = time.monotonic()
            async with s.get(url + "/-/healthy", timeout=aiohttp.ClientTimeout(total=30)) as r:
                assert r.status == 200
            health.append(time.monotonic() - t0)
            await asyncio.sleep(0.1)

    # The attacker comes from 127.0.0.2 (at most a quarter of the listener's cap is one address's), the health
    # check from 127.0.0.1.
    attacker = aiohttp.TCPConnector(limit=FLOOD_CLIENTS, local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=attacker) as a, aiohttp.ClientSession() as s:
        await asyncio.gather(healthy(s), *(client(i, a) for i in range(FLOOD_CLIENTS)))
    return sent, health


def test_wrong_password_flood_does_not_fake_outages(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen)
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: probe_counts(listen)[0] >= 3, what="probing before the flood")
            ok0, failed0, transitions0 = probe_counts(listen)
            sent, health = asyncio.run(_flood(listen, FLOOD_SECONDS))
            ok1, failed1, transitions1 = probe_counts(listen)
            assert proc.poll() is None
        assert sent >= 50, f"the flood sent only {sent} requests"
        assert max(health) < 1.0, f"/-/healthy took up to {max(health):.2f} s under the flood"
        assert failed1 == failed0, f"{failed1 - failed0:.0f} probes failed under the flood"
        assert transitions1 == transitions0, "the flood caused state transitions"
        assert ok1 - ok0 >= 0.5 * FLOOD_SECONDS / 0.3, f"only {ok1 - ok0:.0f} probes ran under the flood"


def _timed_401(port: int, user: str, password: str) -> float:
    t0 = time.monotonic()
    status, _ = get(port, "/metrics", auth_header(user, password))
    assert status == 401, status
    return time.monotonic() - t0


def test_unknown_user_and_long_password_cost_the_same_and_get_401(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen)
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: probe_counts(listen)[0] >= 1, what="first probe")
            known = [_timed_401(listen, USER, f"wrong-{i}") for i in range(9)]
            unknown = [_timed_401(listen, f"nobody-{i}", f"wrong-{i}") for i in range(9)]
            too_long = [_timed_401(listen, USER, "x" * 73 + str(i)) for i in range(9)]
            status, _ = get(listen, "/metrics", auth_header())
            assert status == 200
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
        assert "Traceback" not in out, out
        k, u, t = (statistics.median(x) for x in (known, unknown, too_long))
        assert k > 0.02, f"a bcrypt check took only {k * 1000:.1f} ms"
        assert u > 0.5 * k, f"unknown user {u * 1000:.1f} ms vs known user {k * 1000:.1f} ms"
        assert t > 0.5 * k, f"an over-long password {t * 1000:.1f} ms vs {k * 1000:.1f} ms"
