"""The native v2c client: pysnmp as the oracle on a real snmpd, and a scripted agent for the hard cases."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pyasn1.codec.ber import decoder as pyasn1_decoder  # type: ignore[import-untyped]
from pysnmp.proto.api import v2c as pysnmp_v2c

from agent.snmp import ber
from agent.snmp.client import Credentials, SnmpClient, SnmpError, convert
from agent.snmp.mibs import under
from agent.snmp.stack import SnmpStack
from agent.snmp.v2c import Varbind, from_raw
from tests.peers.base import LOOPBACK
from tests.peers.snmpd import Snmpd

COMMUNITY = "c0mmunity"
TABLE = (1, 3, 6, 1, 4, 1, 99999, 1)


# --- pysnmp as the oracle, on a real agent ----------------------------------------------------------------

SUBTREES = [
    (1, 3, 6, 1, 2, 1, 1),
    (1, 3, 6, 1, 2, 1, 2),
    (1, 3, 6, 1, 2, 1, 31, 1, 1),
    (1, 3, 6, 1, 2, 1, 4, 20),
    (1, 3, 6, 1, 2, 1, 25, 2),
    (1, 3, 6, 1, 4, 1, 2021, 10),
]


def both_decoders(data: bytes) -> list[Varbind]:
    """Varbinds of one datagram by our decoder, asserting pysnmp's decoder reads exactly the same."""
    ours = ber.decode(data)
    theirs_msg, rest = pyasn1_decoder.decode(data, asn1Spec=pysnmp_v2c.Message())
    pdu = pysnmp_v2c.apiMessage.get_pdu(theirs_msg)
    assert rest == b"" and ours.error_status == 0
    assert int(pysnmp_v2c.apiPDU.get_request_id(pdu)) == ours.request_id
    theirs = [convert(tuple(oid), value) for oid, value in pysnmp_v2c.apiPDU.get_varbinds(pdu)]
    mine = from_raw(ours.varbinds)
    assert mine == theirs
    return mine


def test_real_agent_datagrams_decode_as_pysnmp_decodes_them(snmpd: Snmpd) -> None:
    """The same bytes from snmpd through both decoders, over subtrees that use every SMIv2 type."""
    community = snmpd.users.community.encode()
    seen: list[Varbind] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)

        def ask(pdu_type: int, oids: list[tuple[int, ...]], reps: int = 0) -> list[Varbind]:
            s.sendto(ber.request(community, pdu_type, len(seen) + 1, oids, 0, reps), (LOOPBACK, snmpd.port))
            got = both_decoders(s.recv(65535))
            seen.extend(got)
            return got

        for root in [*SUBTREES, (1, 3, 6, 1, 6, 3)]:
            current = root
            while (batch := ask(ber.GET_BULK, [current], 25)) and under(batch[-1].oid, root):
                if batch[-1].kind == "missing" or batch[-1].oid <= current:
                    break
                current = batch[-1].oid
        ask(ber.GET, [(1, 3, 6, 1, 2, 1, 1, 99, 0), (1, 3, 6, 1, 2, 1, 1, 1, 99)])
        ask(ber.GET_NEXT, [(2, 25)])
    assert len(seen) > 300
    kinds = {vb.kind for vb in seen}
    assert kinds >= {
        "integer",
        "string",
        "oid",
        "counter32",
        "counter64",
        "gauge",
        "timeticks",
        "ip",
        "opaque",
        "missing",
    }


@pytest.mark.parametrize("bulk", [True, False])
async def test_native_walks_match_pysnmp_walks(snmpd: Snmpd, bulk: bool) -> None:
    stack = SnmpStack()
    try:
        creds = Credentials(community=snmpd.users.community)
        native = SnmpClient(stack, LOOPBACK, snmpd.port, creds, max_repetitions=10)
        pysnmp = SnmpClient(stack, LOOPBACK, snmpd.port, creds, max_repetitions=10, native_v2c=False)
        for root in SUBTREES:
            ours, theirs = await native.walk(root, bulk=bulk), await pysnmp.walk(root, bulk=bulk)
            assert ours and [(v.oid, v.kind) for v in ours] == [(v.oid, v.kind) for v in theirs]
            # Counters and clocks move between the two walks; names, strings and addresses do not.
            stable = [(v.oid, v.value) for v in ours if v.kind in ("string", "oid", "ip")]
            assert stable == [(v.oid, v.value) for v in theirs if v.kind in ("string", "oid", "ip")]
        got = await native.get([(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 2, 1, 1, 99, 0)])
        assert got == await pysnmp.get([(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 2, 1, 1, 99, 0)])
        assert got[1].kind == "missing"
    finally:
        stack.close()


# --- a scripted agent ---------------------------------------------------------------------------------------

Script = Callable[[ber.Message, int], list[bytes]]
Start = Callable[..., Awaitable[Any]]  # (script, **client options) -> SnmpClient with .agent


class FakeAgent(asyncio.DatagramProtocol):
    """Answers each request with whatever the test's script returns (given the request and its try number)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[ber.Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # 3.11's selector transport is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = ber.decode(data)
        self.requests.append(request)
        assert self.transport is not None
        for out in self.script(request, len(self.requests)):
            self.transport.sendto(out, addr)


def answer(req: ber.Message, varbinds: tuple[ber.RawVarbind, ...], **changes: object) -> bytes:
    fields = {
        "community": req.community,
        "pdu_type": ber.RESPONSE,
        "request_id": req.request_id,
        "error_status": 0,
        "error_index": 0,
        "varbinds": varbinds,
        **changes,
    }
    return ber.encode(ber.Message(**fields))  # type: ignore[arg-type]


def table(req: ber.Message, rows: int = 60, end: int = ber.END_OF_MIB_VIEW) -> bytes:
    """GETNEXT/GETBULK over TABLE.1..TABLE.rows (Counter32 = 10 * index), then `end`."""
    reps = req.error_index if req.pdu_type == ber.GET_BULK else 1
    start = req.varbinds[0][0]
    index = start[len(TABLE)] if under(start, TABLE) else 0
    out: list[ber.RawVarbind] = []
    for n in range(index + 1, index + 1 + reps):
        if n > rows:
            out.append(((*TABLE[:-1], 2, 1), ber.INTEGER, 5) if end == ber.INTEGER else (start, end, None))
            break
        out.append(((*TABLE, n), ber.COUNTER32, 10 * n))
    return answer(req, tuple(out))


@pytest.fixture
async def scripted() -> AsyncIterator[Start]:
    """Start a FakeAgent with a script and return a client for it; everything is closed at the end."""
    stack = SnmpStack()
    transports: list[asyncio.DatagramTransport] = []

    async def start(script: Script, **client: object) -> SnmpClient:
        transport, agent = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: FakeAgent(script), local_addr=(LOOPBACK, 0)
        )
        transports.append(transport)
        port = transport.get_extra_info("sockname")[1]
        made = SnmpClient(stack, LOOPBACK, port, Credentials(community=COMMUNITY), **client)  # type: ignore[arg-type]
        made.agent = agent  # type: ignore[attr-defined]
        return made

    yield start
    for t in transports:
        t.close()
    stack.close()


async def test_getbulk_walk_stops_at_end_of_view_and_at_the_subtree_end(scripted: Start) -> None:
    client = await scripted(lambda req, n: [table(req)], max_repetitions=25)
    rows = await client.walk(TABLE)
    assert [vb.value for vb in rows] == [10 * n for n in range(1, 61)]
    assert all(vb.kind == "counter32" for vb in rows)
    reqs = client.agent.requests
    assert len(reqs) == 3 and all((r.pdu_type, r.error_status, r.error_index) == (ber.GET_BULK, 0, 25) for r in reqs)
    beyond = await scripted(lambda req, n: [table(req, end=ber.INTEGER)], max_repetitions=7)
    assert len(await beyond.walk(TABLE)) == 60
    by_next = await scripted(lambda req, n: [table(req, rows=4)])
    assert len(await by_next.walk(TABLE, bulk=False)) == 4
    assert {r.pdu_type for r in by_next.agent.requests} == {ber.GET_NEXT}


async def test_a_lost_request_is_retried_with_the_same_request_id(scripted: Start) -> None:
    client = await scripted(
        lambda req, n: [] if n == 1 else [answer(req, ((TABLE, ber.GAUGE32, 3),))], timeout=0.6, retries=1
    )
    t0 = time.monotonic()
    assert (await client.get([TABLE]))[0].value == 3
    assert 0.25 < time.monotonic() - t0 < 0.6
    first, second = client.agent.requests
    assert first.request_id == second.request_id


async def test_answers_that_do_not_match_are_dropped(scripted: Start) -> None:
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind((LOOPBACK, 0))

    def script(req: ber.Message, n: int) -> list[bytes]:
        good = answer(req, ((TABLE, ber.INTEGER, 42),))
        port = client.stack.v2c._socks[socket.AF_INET].get_extra_info("sockname")[1]
        other.sendto(good, (LOOPBACK, port))  # right request-id, wrong source port
        return [
            answer(req, ((TABLE, ber.INTEGER, 1),), request_id=(req.request_id + 1) % 2**31),
            answer(req, ((TABLE, ber.INTEGER, 2),), community=b"other"),
            answer(req, ((TABLE, ber.INTEGER, 3),), pdu_type=ber.REPORT),
            good,
        ]

    client = await scripted(script)
    try:
        assert (await client.get([TABLE]))[0].value == 42
    finally:
        other.close()
    await asyncio.sleep(0.05)
    assert client.stack.v2c.counters["stray"] == 4


async def test_malformed_answers_fail_with_a_clear_error_within_the_deadline(scripted: Start) -> None:
    client = await scripted(lambda req, n: [b"\x30\x03\x02\x01", b"garbage"], timeout=0.5, retries=2)
    t0 = time.monotonic()
    with pytest.raises(SnmpError) as info:
        await client.get([TABLE])
    assert time.monotonic() - t0 < 0.7
    assert info.value.code == "snmp_error"
    assert "malformed response from 127.0.0.1" in info.value.message


async def test_a_good_answer_after_garbage_still_counts(scripted: Start) -> None:
    client = await scripted(lambda req, n: [b"\xff" * 10, answer(req, ((TABLE, ber.TIMETICKS, 9),))])
    assert (await client.get([TABLE]))[0].value == 9
    assert client.stack.v2c.counters["malformed"] == 1


async def test_silence_is_a_timeout_that_names_the_community(scripted: Start) -> None:
    client = await scripted(lambda req, n: [], timeout=0.4, retries=3)
    t0 = time.monotonic()
    with pytest.raises(SnmpError) as info:
        await client.get([TABLE])
    assert 0.35 < time.monotonic() - t0 < 0.6
    assert info.value.code == "timeout" and "community" in info.value.message
    assert len(client.agent.requests) == 4


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (lambda req: answer(req, req.varbinds, error_status=2, error_index=1), "error-status noSuchName at 1.3.6.1.4"),
        (lambda req: answer(req, req.varbinds, error_status=5, error_index=0), "error-status genErr$"),
        (lambda req: answer(req, ()), "answered 0 variables to a request for 1"),
    ],
)
async def test_agent_errors_are_snmp_errors(scripted: Start, reply: Callable[[ber.Message], bytes], why: str) -> None:
    client = await scripted(lambda req, n: [reply(req)])
    with pytest.raises(SnmpError, match=why) as info:
        await client.get([TABLE])
    assert info.value.code == "snmp_error"


async def test_a_walk_that_goes_backwards_is_an_error(scripted: Start) -> None:
    backwards = (((*TABLE, 5), ber.INTEGER, 1), ((*TABLE, 3), ber.INTEGER, 1))
    client = await scripted(lambda req, n: [answer(req, backwards)])
    with pytest.raises(SnmpError, match=r"non-increasing OID 1\.3\.6\.1\.4\.1\.99999\.1\.3"):
        await client.walk(TABLE)


async def test_concurrent_clients_share_one_socket_and_get_their_own_answers(scripted: Start) -> None:
    pending: list[tuple[ber.Message, int]] = []

    def script(req: ber.Message, n: int) -> list[bytes]:
        pending.append((req, n))
        if len(pending) < 20:
            return []
        return [answer(r, ((r.varbinds[0][0], ber.GAUGE32, r.varbinds[0][0][-1]),)) for r, _ in reversed(pending)]

    client = await scripted(script)
    results = await asyncio.gather(*(client.get([(*TABLE, i)]) for i in range(20)))
    assert [vbs[0].value for vbs in results] == list(range(20))
    assert len(client.stack.v2c._socks) == 1


async def test_encode_errors_are_snmp_errors(scripted: Start) -> None:
    client = await scripted(lambda req, n: [])
    with pytest.raises(SnmpError, match="cannot encode OID") as info:
        await client.get([(1, 3, 2**32)])
    assert info.value.code == "snmp_error"
