"""The PSTN answering leg under a forged INVITE and a lost platform (issue 16, break 7), with a real carrier
and platform Kamailio and a SIPp caller ringing the same extension through the platform."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, wait_until
from tests.pstn.conftest import EXTENSION, run_pstn
from tests.readings import number

pytestmark = pytest.mark.peer


def forger(platform_port: int, log_dir: Path, rate: int = 100) -> PeerProcess:
    """SIPp's built-in UAC calling our extension through the platform, `rate` INVITEs a second: each
    arrives from the platform's own address, exactly where the real call comes from."""
    binary = require_binary("sipp", "sip-tester")
    log_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        f"{LOOPBACK}:{platform_port}",
        "-sn",
        "uac",
        "-s",
        EXTENSION,
        "-r",
        str(rate),
        "-i",
        LOOPBACK,
        "-p",
        str(free_port(socket.SOCK_DGRAM)),
        "-nostdin",
        "-max_socket",
        "64",
        "-recv_timeout",
        "2000",
    ]
    return PeerProcess(argv, cwd=log_dir, name="sipp-forger").start(log_dir)


async def test_a_forged_invite_never_takes_the_answer(pstn_loop, tmp_path: Path) -> None:
    loop = pstn_loop()
    forged = forger(loop.platform.port, tmp_path / "forger")
    try:
        await asyncio.sleep(0.3)
        result = await run_pstn(loop.block(), timeout=8.0)
    finally:
        forged.stop()
    assert result.ok, (result.error, result.message)
    assert number(result.values["answer_invites_refused"]) >= 1  # the forger reached the extension, and was refused
    assert result.values["answer_leg_invited"] is True
    loop.assert_clean()


async def test_the_call_token_passes_the_carrier_in_both_modes(pstn_loop) -> None:
    """Through the carrier the X-Dialtone-Call header passes, so both modes answer our call (what each mode
    refuses is in tests/pstn/test_screen.py)."""
    loop = pstn_loop()
    for mode in ("header", "auto"):
        block = loop.block()
        block["answer"]["correlate"] = mode
        result = await run_pstn(block, timeout=8.0)
        assert result.ok, (mode, result.error, result.message)
    loop.assert_clean()


async def test_teardown_never_raises_and_always_unregisters(pstn_loop) -> None:
    """The platform dies mid-call (the answering leg on TCP loses its connection): the BYE and the
    un-REGISTER fail, each is reported in the result, and the probe returns instead of raising."""
    loop = pstn_loop()
    block = loop.block(duration="3s")
    block["answer"]["transport"] = "tcp"
    task = asyncio.ensure_future(run_pstn(block, timeout=8.0))
    await asyncio.to_thread(wait_until, lambda: loop.platform.dialogs() != "", 10, "the call to be up")
    loop.platform.stop()
    result = await task
    errors = str(result.values.get("teardown_error", ""))
    assert "answer_bye:" in errors and "unregister:" in errors, result.values
    assert "teardown" in result.phases
