"""The SNMP trap receiver (agent.snmp.traps) under random datagrams sent over real UDP on 127.0.0.1.

Each datagram is dropped and counted under one of dialtone_snmp_traps_total's results, the asyncio loop sees
no exception, and afterwards a valid trap is still accepted. The receiver runs in its own thread and loop for
the whole module, as in the agent, while hypothesis drives the sender from the test thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent.snmp.traps import TrapReceiver
from agent.snmp.traps_config import TrapReceiverConfig
from tests.fuzz import budget
from tests.peers.base import LOOPBACK

# Captured from Debian's snmptrap 5.9 (net-snmp): a v2c linkDown with community "fuzz-community", and a v3
# authPriv linkDown from user "fuzzer" (SHA-256 "fuzz-auth-key", AES "fuzz-priv-key", engine 8000000001020304).
V2C_TRAP = bytes.fromhex(
    "305e020101040e66757a7a2d636f6d6d756e697479a749020478a7db61020100020100303b300f06082b060102010103004303060e"
    "183017060a2b06010603010104010006092b0601060301010503300f060a2b060102010202010102020102"
)
V3_TRAP = bytes.fromhex(
    "3081ab020103301102044bc19580020300ffe30401030201030440303e040880000000010203040201010203061992040666757a7a"
    "657204188b3a95d5c12fc020e4bc47c3371045a86e2309ea786e0b5d0408fa0c530346df6e9b0451e7d0f339c0a7cd1479e4b55e7e"
    "aef7a4e635b2a4b44adc5ead07a9c0018f6823e0306c70e173e9ed830678eb578838701b57136644a6d56c311756110fef9cecfc1e"
    "b340762d5aa70d060070d43f0ac773"
)
# BER tags a hostile sender would try first: SEQUENCE, INTEGER, OCTET STRING, PDUs, and constructed odd ones.
TAGS = [0x30, 0x02, 0x04, 0x05, 0x06, 0x40, 0x41, 0x43, 0xA0, 0xA2, 0xA4, 0xA6, 0xA7, 0xA8, 0x74, 0x75, 0x7B, 0xFF]


@st.composite
def ber_like(draw: st.DrawFn, depth: int = 0) -> bytes:
    """Tag-length-value shapes with lengths that lie, nested a few levels."""
    tag = draw(st.sampled_from(TAGS))
    if depth < 3 and draw(st.booleans()):
        body = b"".join(draw(st.lists(ber_like(depth + 1), max_size=3)))
    else:
        body = draw(st.binary(max_size=24))
    length = draw(st.one_of(st.just(len(body)), st.integers(0, 300)))
    head = bytes([length]) if length < 128 else bytes([0x82, length >> 8, length & 0xFF])
    if draw(st.integers(0, 9)) == 0:
        head = bytes([0x84, 0xFF, 0xFF, 0xFF, 0xFF])  # a 4 GiB length
    return bytes([tag]) + head + body


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from([V2C_TRAP, V3_TRAP])))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(raw) - 1))
        raw[pos : pos + draw(st.integers(0, 2))] = draw(st.binary(min_size=0, max_size=3))
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


DATAGRAMS = st.one_of(st.binary(max_size=200), ber_like(), mutated())


class ReceiverThread:
    """A started TrapReceiver on its own event loop thread; loop exceptions are collected, not printed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop_errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self.thread = threading.Thread(target=self.loop.run_forever, name="trap-receiver", daemon=True)
        self.thread.start()
        config = TrapReceiverConfig.model_validate(
            {
                "listen": f"{LOOPBACK}:0",
                "communities": ["fuzz-community"],
                "users": [
                    {
                        "user": "fuzzer",
                        "auth_protocol": "SHA-256",
                        "auth_key": "fuzz-auth-key",
                        "priv_protocol": "AES",
                        "priv_key": "fuzz-priv-key",
                        "engine_id": "8000000001020304",
                    }
                ],
                "sources": {LOOPBACK: "sbc1"},
            }
        )
        self.events: list[Any] = []
        self.receiver = TrapReceiver(config, self.events.append)
        self.call(self.receiver.start())
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def counters(self) -> dict[str, int]:
        async def read() -> dict[str, int]:
            return self.receiver.counters()

        return dict(self.call(read()))

    def send(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, (LOOPBACK, self.receiver.port))

    def wait_counted(self, before: int, within: float = 3.0) -> dict[str, int]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            now = self.counters()
            if sum(now.values()) > before:
                return now
            time.sleep(0.002)
        raise AssertionError(f"datagram neither counted nor dropped visibly within {within}s: {self.counters()}")

    def close(self) -> None:
        self.sock.close()
        self.call(self.receiver.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def running() -> Iterator[ReceiverThread]:
    r = ReceiverThread()
    try:
        yield r
    finally:
        r.close()


@settings(max_examples=budget(120))
@given(st.lists(DATAGRAMS, min_size=1, max_size=4))
@example([b""])
@example([bytes.fromhex("760e819b85c924c3597164c4a6058a00")])  # made pysnmp raise TypeError in the loop
@example([V2C_TRAP[:-1], V3_TRAP[:40]])
def test_every_datagram_is_counted_and_the_loop_sees_no_exception(
    running: ReceiverThread, datagrams: list[bytes]
) -> None:
    for datagram in datagrams:
        before = sum(running.counters().values())
        running.send(datagram)
        running.wait_counted(before)
    assert not running.loop_errors, running.loop_errors[0].get("exception")


def test_valid_traps_are_still_accepted_afterwards(running: ReceiverThread) -> None:
    """Runs after the fuzzing in this module (pytest keeps file order): the receiver still works."""
    for trap in (V2C_TRAP, b"\x00" * 10, V2C_TRAP):
        before = running.counters()
        running.send(trap)
        after = running.wait_counted(sum(before.values()))
        if trap == V2C_TRAP:
            assert after["accepted"] == before["accepted"] + 1, after
    assert running.events and running.events[-1].data["trap"] == "link_down"
    assert not running.loop_errors
