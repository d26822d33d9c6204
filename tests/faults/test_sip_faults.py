"""SIP peers that misbehave: floods of responses, oversized and fragmented messages over TCP."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.faults.harness import agent_under_fault
from tests.peers.base import free_port_both
from tests.probes.servers import raw_server

BRANCH = re.compile(rb"branch=([^;\r\n ]+)")


def response(request: bytes, status: str = "200 OK", body: bytes = b"", extra: bytes = b"") -> bytes:
    """A response echoing the request's Via, From, To, Call-ID and CSeq."""
    head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [
        h
        for h in head[1:]
        if h.split(b":", 1)[0].strip().lower() in (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")
    ]
    lines = [b"SIP/2.0 " + status.encode(), *keep, extra, b"Content-Length: %d" % len(body)]
    return b"\r\n".join(x for x in lines if x) + b"\r\n\r\n" + body


class Flooder(asyncio.DatagramProtocol):
    """Answers each OPTIONS after a flood of strays (other branches) and garbage."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        stray = BRANCH.sub(b"branch=z9hG4bKstray", data)
        for i in range(500):
            self.transport.sendto(response(stray) if i % 2 else b"SIP/2.0 200 \x00garbage" * 20, addr)
        self.transport.sendto(response(data), addr)


def sip_target(uri: str, tid: str = "bad") -> str:
    return (
        f"  - {{id: {tid}, component: faulty, kind: sip_options, interval: 500ms, timeout: 400ms,"
        f" sip_options: {{uri: '{uri}'}}}}"
    )


async def test_flood_of_sip_responses(tmp_path: Path) -> None:
    port = free_port_both()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Flooder, local_addr=("127.0.0.1", port))
    try:
        async with agent_under_fault(tmp_path, sip_target(f"sip:127.0.0.1:{port}")) as h:
            await h.wait_transition("bad", "up")
            await h.healthy_keeps_probing()
            await h.metrics_answer()
            result = await h.agent.probe_now("bad")
            assert result.ok and result.values["status_code"] == 200, result
            h.assert_memory_bounded()
        h.assert_no_transition_lost()
    finally:
        transport.close()


async def oversized(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    writer.write(response(request, extra=b"X-Junk: " + b"j" * 200_000))
    await writer.drain()
    await asyncio.sleep(5)


async def huge_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    head = response(request).split(b"Content-Length: 0")[0] + b"Content-Length: 100000000\r\n\r\n"
    writer.write(head)
    for _ in range(100):
        writer.write(b"b" * 65536)
        await writer.drain()
    await asyncio.sleep(5)


async def fragmented(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    data = response(request, body=b"v=0\r\n", extra=b"Content-Type: application/sdp")
    for i in range(0, len(data), 7):  # seven bytes at a time, a pause between
        writer.write(data[i : i + 7])
        await writer.drain()
        await asyncio.sleep(0.001)
    await asyncio.sleep(5)


async def test_oversized_sip_over_tcp_is_refused(tmp_path: Path) -> None:
    for handler in (oversized, huge_body):
        async with (
            raw_server(handler) as port,
            agent_under_fault(
                _mkdir(tmp_path / handler.__name__), sip_target(f"sip:127.0.0.1:{port};transport=tcp")
            ) as h,
        ):
            await h.wait_transition("bad", "down")
            result = await h.agent.probe_now("bad")
            assert result.error == "bad_response", result
            await h.healthy_keeps_probing()
            await h.metrics_answer()
            h.assert_memory_bounded()
        h.assert_no_transition_lost()


async def test_fragmented_sip_over_tcp_is_reassembled(tmp_path: Path) -> None:
    async with (
        raw_server(fragmented) as port,
        agent_under_fault(tmp_path, sip_target(f"sip:127.0.0.1:{port};transport=tcp")) as h,
    ):
        await h.wait_transition("bad", "up")
        result = await h.agent.probe_now("bad")
        assert result.ok, result
        await h.healthy_keeps_probing()
    h.assert_no_transition_lost()


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path
