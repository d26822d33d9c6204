"""The demo SIP platform answered by the agent's own probes: refusals and routing, in-process on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from agent.core.clock import SystemClock
from agent.runtime.config import DemoConfig
from agent.runtime.demo import in_window, start_sip
from agent.runtime.demo_sip import DemoSipPlatform
from tests.peers.base import free_port_both
from tests.pstn.conftest import run_pstn
from tests.sip.conftest import run_probe


@pytest.fixture
async def platform() -> AsyncIterator[DemoSipPlatform]:
    demo = await start_sip(DemoConfig(sip_port=free_port_both()), SystemClock())
    yield demo
    demo.close()


def test_fault_windows_repeat_on_the_period():
    assert [in_window(t, 360, 3600, 180) for t in (0, 359.9, 360, 539.9, 540, 3960, 4139, 4140)] == [
        False, False, True, True, False, True, True, False,
    ]  # fmt: skip


async def test_wrong_password_is_auth_failed(platform):
    uri = f"sip:127.0.0.1:{platform.port}"
    ok = await run_probe("sip_register", {"uri": uri, "username": "1002", "password": "demo-1002"})
    assert ok.ok, (ok.error, ok.message)
    bad = await run_probe("sip_register", {"uri": uri, "username": "1002", "password": "nope"})
    assert (bad.ok, bad.error, bad.values["status_code"]) == (False, "auth_failed", 401)
    call = await run_probe("sip_call", {"uri": f"sip:echo@127.0.0.1:{platform.port}", "username": "1000",
                                        "password": "nope"})  # fmt: skip
    assert (call.ok, call.error) == (False, "auth_failed")
    assert platform.echo.answered == 0


async def test_echo_call_needs_credentials(platform):
    call = await run_probe("sip_call", {"uri": f"sip:echo@127.0.0.1:{platform.port}"})
    assert (call.ok, call.error, call.values["status_code"]) == (False, "auth_required", 407)


async def test_did_routing_refusals(platform):
    base = {"route": "demo", "trunk": f"sip:127.0.0.1:{platform.port}", "from_number": "+18015559999",
            "duration": "1.5s", "settle": "0.1s"}  # fmt: skip
    unknown = await run_pstn({**base, "number": "+18015550199"})
    assert (unknown.ok, unknown.error, unknown.values["status_code"]) == (False, "not_found", 404)
    # The DID's extension is not registered: the platform cannot reach it.
    nobody = await run_pstn({**base, "number": "+18015550100"})
    assert (nobody.ok, nobody.values["status_code"]) == (False, 480)


async def test_junk_is_dropped_and_the_platform_keeps_answering(platform, caplog):
    me = f"127.0.0.1:{platform.port}"
    bye = (
        f"BYE sip:+18015550100@{me} SIP/2.0\r\nVia: SIP/2.0/UDP ;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        f"To: <sip:c@d>;tag=2\r\nCall-ID: j\r\nCSeq: 1 BYE\r\nMax-Forwards: many\r\nRoute: <sip:{me};lr>\r\n\r\n"
    )
    junk = [b"\x00\xff" * 40, b"OPTIONS sip:x SIP/2.0\r\nVia: \r\nMax-Forwards: x\r\n\r\n", bye.encode()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in junk:
            s.sendto(data, ("127.0.0.1", platform.port))
    await asyncio.sleep(0.1)
    ok = await run_probe("sip_options", {"uri": f"sip:{me}"})
    assert ok.ok, (ok.error, ok.message)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
