"""Calls to an independent SIP stack: baresip registered through Kamailio, answering with its echo module.

sip_call reaches it through the authenticating proxy, pstn_call loops to it through a carrier and a platform,
and one call has its media anchored in rtpengine (userspace), proven from the SDP the agent received.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.interop.peers import Baresip, Rtpengine, start_baresip, start_echo_proxy, start_rtpengine
from tests.pstn.conftest import run_pstn
from tests.pstn.peers import (
    DID,
    TRUNK_PASSWORD,
    TRUNK_USER,
    KamailioPeer,
    extension_password,
    start_carrier,
    start_platform,
)
from tests.readings import number
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer

ECHO_EXTENSION = "1002"
CALLER = "1000"
P = TypeVar("P", KamailioPeer, Baresip, Rtpengine)


class Stack:
    """Peers started by one test, stopped by PID in reverse order."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.peers: list[KamailioPeer | Baresip | Rtpengine] = []

    def add(self, peer: P) -> P:
        self.peers.append(peer)
        return peer

    def stop(self) -> None:
        for peer in reversed(self.peers):
            peer.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.stop()


def call_block(proxy: KamailioPeer, **kw: object) -> dict[str, object]:
    """A sip_call to the echo extension through `proxy`, authenticated as CALLER."""
    return {
        "uri": proxy.uri(ECHO_EXTENSION), "from": f"sip:{CALLER}@127.0.0.1", "username": CALLER,
        "password": extension_password(CALLER), "duration": "2s", "expect_echo": True, **kw,
    }  # fmt: skip


async def test_sip_call_through_kamailio_to_baresip_echo(stack):
    proxy = stack.add(start_echo_proxy(stack.tmp / "proxy"))
    stack.add(start_baresip(stack.tmp / "baresip", proxy, ECHO_EXTENSION))
    result = await run_probe("sip_call", call_block(proxy), timeout=8.0)
    assert result.ok, (result.error, result.message)
    v = result.values
    assert v["status_code"] == 200
    assert number(v["rtp_packets_received"]) > 60  # 2 s at 50 packets per second, less baresip's start-up
    assert v["round_trip_seconds"] is not None and 0 < number(v["round_trip_seconds"]) < 0.5  # our own audio came back
    assert number(v["mos"]) > 4.0


async def test_wrong_password_to_the_proxy_is_auth_failed(stack):
    proxy = stack.add(start_echo_proxy(stack.tmp / "proxy"))
    stack.add(start_baresip(stack.tmp / "baresip", proxy, ECHO_EXTENSION))
    result = await run_probe("sip_call", call_block(proxy, password="wrong"), timeout=8.0)
    assert (result.ok, result.error) == (False, "auth_failed")


async def test_media_anchored_in_rtpengine(stack, caplog):
    caplog.set_level(logging.DEBUG, logger="agent.sip")
    engine = stack.add(start_rtpengine(stack.tmp / "rtpengine"))
    proxy = stack.add(start_echo_proxy(stack.tmp / "proxy", engine))
    phone = stack.add(start_baresip(stack.tmp / "baresip", proxy, ECHO_EXTENSION))
    result = await run_probe("sip_call", call_block(proxy), timeout=8.0)
    assert result.ok, (result.error, result.message)
    # The 200 OK's SDP the agent received names rtpengine's port, not baresip's: media went through it.
    answers = [
        chunk
        for chunk in caplog.text.split("received udp from ")
        if re.match(r"\S+\s+SIP/2\.0 200 ", chunk) and re.search(r"CSeq: \d+ INVITE", chunk)
    ]
    media = re.search(r"^m=audio (\d+) ", answers[-1] if answers else "", re.M)
    assert media, "no 200 OK to the INVITE with SDP in the agent's SIP log"
    port = int(media.group(1))
    assert engine.ports[0] <= port <= engine.ports[1], (port, engine.ports)
    assert not phone.rtp_ports[0] <= port <= phone.rtp_ports[1]
    assert number(result.values["rtp_packets_received"]) > 60
    assert result.values["round_trip_seconds"] is not None
    assert number(result.values["mos"]) > 4.0  # measured on media that crossed the relay both ways
    # rtpengine's own counters: one session, its two media streams and the packets relayed in userspace.
    stats = engine.statistics()
    assert stats["sessionstotal"] == 1 and stats["media_userspace"] == 2 and stats["media_kernel"] == 0, stats
    assert stats["relayedpackets_user"] > 100 and stats["relayedpackets_kernel"] == 0, stats


async def test_pstn_loop_answered_by_baresip_echo(stack):
    platform = stack.add(start_platform(stack.tmp / "platform", {DID: ECHO_EXTENSION}))
    carrier = stack.add(start_carrier(stack.tmp / "carrier", platform.port))
    stack.add(start_baresip(stack.tmp / "baresip", platform, ECHO_EXTENSION))
    block = {
        "route": "carrier-a", "number": DID, "trunk": carrier.uri(), "username": TRUNK_USER,
        "password": TRUNK_PASSWORD, "from_number": "+18015559999", "duration": "2.5s", "settle": "0.3s",
        "expect": "echo",
    }  # fmt: skip
    result = await run_pstn(block, timeout=10.0)
    assert result.ok, (result.error, result.message)
    v = result.values
    assert v["status_code"] == 200 and v["result"] == "answered"
    assert number(v["rtp_packets_received_b_to_a"]) > 60
    assert v["round_trip_seconds"] is not None
