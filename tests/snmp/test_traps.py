"""The trap and inform receiver, fed by Debian's snmptrap."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import ValidationError

from agent.snmp.events import TRAP, DeviceEvent
from agent.snmp.traps import RESULTS, TrapReceiver
from agent.snmp.traps_config import TrapReceiverConfig
from tests.peers.base import LOOPBACK
from tests.peers.snmpd import snmptrap

COMMUNITY = "trap-community"
USER, AUTH, PRIV = "trapper", "trap-auth-key-1", "trap-priv-key-2"
ENGINE_ID = "8000000001020304"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
VENDOR_OVERLOAD = "1.3.6.1.4.1.99999.0.1"


class Running:
    """A started receiver, the events it produced, and a wait helper."""

    def __init__(self, receiver: TrapReceiver, events: list[DeviceEvent]) -> None:
        self.receiver, self.events = receiver, events

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.receiver.port}"

    async def wait_for(self, result: str, count: int = 1) -> None:
        for _ in range(250):
            if self.receiver.counters()[result] >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{result} never reached {count}: {self.receiver.counters()}")


@pytest.fixture
async def receiver() -> AsyncIterator[Callable[..., object]]:
    started: list[TrapReceiver] = []

    async def start(**overrides: object) -> Running:
        block = {
            "listen": f"{LOOPBACK}:0",
            "communities": [COMMUNITY],
            "users": [{"user": USER, "auth_key": AUTH, "priv_key": PRIV, "engine_id": ENGINE_ID}],
            "sources": {LOOPBACK: "sbc1"},
            "trap_oids": [{"oid": VENDOR_OVERLOAD, "name": "sbc_overload", "state": "degraded"}],
            **overrides,
        }
        events: list[DeviceEvent] = []
        r = TrapReceiver(TrapReceiverConfig.model_validate(block), events.append)
        await r.start()
        started.append(r)
        return Running(r, events)

    yield start
    for r in started:
        await r.aclose()


def v2c(running: Running, *varbinds: str, community: str = COMMUNITY, oid: str = LINK_DOWN) -> list[str]:
    return ["-v", "2c", "-c", community, running.address, "", oid, *varbinds]


def v3(running: Running, auth: str = AUTH, oid: str = LINK_DOWN, inform: bool = False) -> list[str]:
    head = ["-Ci"] if inform else ["-e", ENGINE_ID]
    return [
        *head,
        "-v",
        "3",
        "-u",
        USER,
        "-l",
        "authPriv",
        "-a",
        "SHA-256",
        "-A",
        auth,
        "-x",
        "AES",
        "-X",
        PRIV,
        running.address,
        "",
        oid,
    ]


async def test_v2c_link_down_becomes_an_event_at_once(receiver) -> None:
    running = await receiver()
    await snmptrap(
        v2c(
            running,
            "1.3.6.1.2.1.2.2.1.1.2",
            "i",
            "2",
            "1.3.6.1.2.1.2.2.1.2.2",
            "s",
            "eth1",
            "1.3.6.1.2.1.2.2.1.8.2",
            "i",
            "2",
        )
    )
    await running.wait_for("accepted")
    (event,) = running.events
    assert (event.kind, event.target) == (TRAP, "sbc1")
    assert event.data["trap"] == "link_down" and event.data["state"] == "down"
    assert event.data["interface"] == "eth1" and event.data["if_index"] == 2
    assert event.data["oper_status"] == "down"
    assert event.at.tzinfo is not None


async def test_wrong_community_is_dropped_and_counted(receiver) -> None:
    running = await receiver()
    await snmptrap(v2c(running, community="guess"))
    await running.wait_for("bad_community")
    assert running.events == []
    assert running.receiver.counters()["accepted"] == 0


async def test_unknown_source_is_dropped_and_counted(receiver) -> None:
    running = await receiver(sources={"127.0.0.99": "other"})
    await snmptrap(v2c(running))
    await running.wait_for("unknown_source")
    assert running.events == []


async def test_v3_auth_priv_trap_and_inform_accepted(receiver) -> None:
    running = await receiver()
    await snmptrap(v3(running, oid="1.3.6.1.6.3.1.1.5.1"))
    await running.wait_for("accepted")
    code, out = await snmptrap(v3(running, oid="1.3.6.1.6.3.1.1.5.2", inform=True))
    assert code == 0, out  # snmpinform exits 0 only once the receiver acknowledged
    await running.wait_for("accepted", 2)
    assert [e.data["trap"] for e in running.events] == ["cold_start", "warm_start"]
    assert all(e.data["security"] == USER for e in running.events)


async def test_bad_v3_key_is_dropped_and_counted(receiver) -> None:
    running = await receiver()
    await snmptrap(v3(running, auth="not-the-auth-key"))
    await running.wait_for("bad_auth")
    assert running.events == []


async def test_configured_vendor_trap_and_ignored_unknown_oid(receiver) -> None:
    running = await receiver()
    await snmptrap(v2c(running, oid=VENDOR_OVERLOAD))
    await snmptrap(v2c(running, oid="1.3.6.1.4.1.99999.0.77"))
    await running.wait_for("ignored")
    await running.wait_for("accepted")
    (event,) = running.events
    assert event.data["trap"] == "sbc_overload" and event.data["state"] == "degraded"


async def test_malformed_datagrams_dropped_counted_and_receiver_keeps_running(receiver) -> None:
    running = await receiver()
    garbage = [
        b"",
        b"\x00",
        b"hello, not snmp",
        b"\x30\x82\xff\xff\x02\x01",
        bytes(range(256)),
        b"\x30\x0b\x02\x01\x05\x04\x01x\xa7\x03\x02\x01\x00",
    ]  # the last: SNMP version 6
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for datagram in garbage:
            s.sendto(datagram, (LOOPBACK, running.receiver.port))
    await running.wait_for("malformed", 4)
    await snmptrap(v2c(running))
    await running.wait_for("accepted")
    assert len(running.events) == 1


def test_config_needs_credentials_and_valid_engine_id() -> None:
    with pytest.raises(ValidationError, match="at least one community or v3 user"):
        TrapReceiverConfig.model_validate({})
    with pytest.raises(ValidationError, match="engine_id must be hexadecimal"):
        TrapReceiverConfig.model_validate({"users": [{"user": "u", "engine_id": "zz"}]})
    with pytest.raises(ValidationError, match="priv_key needs auth_key"):
        TrapReceiverConfig.model_validate({"users": [{"user": "u", "priv_key": "12345678"}]})
    assert set(RESULTS) >= {"accepted", "bad_community", "bad_auth", "malformed", "unknown_source"}


async def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        cfg = TrapReceiverConfig.model_validate({"listen": f"{LOOPBACK}:{port}", "communities": ["c"]})
        with pytest.raises(OSError, match=f"snmp_traps.listen {LOOPBACK}:{port}"):
            await TrapReceiver(cfg, lambda e: None).start()
