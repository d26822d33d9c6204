"""Targets that misbehave: each gives its error code within the deadline while the agent goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.harness import agent_under_fault
from tests.probes.servers import raw_server, read_head, reply, silent


def http_target(url: str, tid: str = "bad", timeout: str = "500ms") -> str:
    return f"""  - id: {tid}
    component: faulty
    kind: http
    interval: 600ms
    timeout: {timeout}
    http: {{url: "{url}"}}"""


async def slow_loris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_head(reader)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)


async def run_fault(tmp_path: Path, url: str, expected_error: str) -> None:
    async with agent_under_fault(tmp_path, http_target(url)) as h:
        await h.wait_transition("bad", "down")
        await h.healthy_keeps_probing()
        body = await h.metrics_answer()
        assert 'probe_success{target="bad",component="faulty",kind="http",vantage="faults"} 0' in body
        assert 'probe_success{target="healthy-http"' in body
        result = await h.agent.probe_now("bad")
        assert result.error == expected_error, result
        assert result.duration < 0.5 + 0.5  # the target's deadline plus the scheduler's grace
        h.assert_memory_bounded()
    h.assert_no_transition_lost()


async def test_tcp_blackhole_accepts_and_never_answers(tmp_path: Path) -> None:
    async with raw_server(silent) as port:
        await run_fault(tmp_path, f"http://127.0.0.1:{port}/", "timeout")


async def test_slow_loris_one_byte_a_second(tmp_path: Path) -> None:
    async with raw_server(slow_loris) as port:
        await run_fault(tmp_path, f"http://127.0.0.1:{port}/", "timeout")


async def test_reset_in_the_middle_of_a_response(tmp_path: Path) -> None:
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 100
    async with raw_server(reply(partial, then="reset")) as port:
        await run_fault(tmp_path, f"http://127.0.0.1:{port}/", "connection_reset")


async def test_tls_handshake_that_stalls(tmp_path: Path) -> None:
    async with raw_server(silent) as port:  # accepts TCP, never sends a ServerHello
        await run_fault(tmp_path, f"https://127.0.0.1:{port}/", "timeout")


async def test_dns_failure(tmp_path: Path) -> None:
    await run_fault(tmp_path, "http://no-such-host.invalid/", "dns_failed")


async def test_recovery_after_the_fault_is_recorded(tmp_path: Path) -> None:
    state = {"fail": True}

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        status = b"503 Service Unavailable" if state["fail"] else b"200 OK"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()

    async with raw_server(flaky) as port, agent_under_fault(tmp_path, http_target(f"http://127.0.0.1:{port}/")) as h:
        await h.wait_transition("faulty", "major_outage")
        state["fail"] = False
        await h.wait_transition("faulty", "operational")
    h.assert_no_transition_lost()
