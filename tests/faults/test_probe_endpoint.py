"""Issue 16, break 3: /probe on a kind that places calls. Against a real `dialtone run` and a real SIPp UAS that
answers: without `on_demand` no /probe places a call; with it, concurrent requests share one call."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.faults.agent_process import auth_header, secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, wait_until
from tests.sip.sipp import Sipp, start_sipp

pytestmark = pytest.mark.peer


def _sip_target(uas: Sipp, on_demand: bool) -> str:
    # interval 60 s: with two targets the first scheduled call is 30 s after start, after this test.
    return f"""  - id: voice-call
    component: portal
    kind: sip_call
    interval: 60s
    timeout: 5s
{"    on_demand: true" + chr(10) if on_demand else ""}    sip_call: {{uri: "{uas.uri("100")}", duration: 1s}}
"""


def _invites(uas: Sipp, log_dir: Path) -> int:
    """INVITEs the UAS received (its -trace_msg log)."""
    return sum(p.read_text(errors="replace").count("INVITE sip:") for p in log_dir.glob("*_messages.log"))


async def _probe_many(port: int, n: int, spacing: float) -> list[tuple[int, str]]:
    async def one(i: int, s: aiohttp.ClientSession) -> tuple[int, str]:
        await asyncio.sleep(i * spacing)
        async with s.get(
            f"http://127.0.0.1:{port}/probe",
            params={"target": "voice-call"},
            headers={"Authorization": auth_header()},
            timeout=aiohttp.ClientTimeout(total=20),
        ) as r:
            return r.status, await r.text()

    async with aiohttp.ClientSession() as s:
        return list(await asyncio.gather(*(one(i, s) for i in range(n))))


@pytest.mark.parametrize("on_demand", [False, True], ids=["not-opted-in", "on-demand"])
def test_probe_places_no_call_unless_opted_in_and_shares_one(tmp_path: Path, on_demand: bool) -> None:
    log_dir = tmp_path / "sipp"
    uas = start_sipp("answer", log_dir, echo=True, extra=("-trace_msg",))
    try:
        with target_server() as port:
            listen = free_port()
            cfg = secured_config(tmp_path, port, listen, extra=_sip_target(uas, on_demand))
            with run_agent(cfg, listen) as proc:
                t0 = time.monotonic()
                answers = asyncio.run(_probe_many(listen, 8, 0.0 if on_demand else 0.2))
                assert time.monotonic() - t0 < 25, "the first scheduled call may have run meanwhile"
                if on_demand:
                    wait_until(lambda: _invites(uas, log_dir) >= 1, what="the UAS's message log")
                    time.sleep(0.5)
                assert proc.poll() is None
    finally:
        uas.stop()
    statuses = [status for status, _ in answers]
    if not on_demand:
        assert statuses == [403] * 8, answers[0]
        assert "on_demand: true" in answers[0][1]
        assert _invites(uas, log_dir) == 0, "a refused /probe placed a call"
    else:
        assert statuses == [200] * 8, answers
        assert all('probe_success{target="voice-call"' in text for _, text in answers), answers[0][1]
        assert _invites(uas, log_dir) == 1, f"{_invites(uas, log_dir)} calls for 8 concurrent /probe requests"
