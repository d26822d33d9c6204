"""TCP probe against raw local servers: connect, TLS, send/expect dialogues, STARTTLS and failures."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from agent.core.model import ProbeResult, Target
from agent.probes.tcp import METRICS, TcpProbe
from agent.probes.tcp_config import TcpConfig
from tests.peers.base import free_port
from tests.probes.servers import (
    Certs,
    backlog_full_port,
    openssl_not_after,
    raw_server,
    reset,
    server_context,
    silent,
)


async def probe(address: str, timeout: float = 3.0, **config: Any) -> ProbeResult:
    """Build a TcpProbe for `address` with `config` and run it once."""
    cfg = TcpConfig.model_validate({"address": address, **config})
    return await TcpProbe(cfg).probe(Target("sbc", "voice", "tcp", timeout))


async def smtp_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Greets, answers EHLO with 250; anything else gets 500 and a close."""
    writer.write(b"220 mail.test ready\r\n")
    line = await reader.readline()
    if not line.startswith(b"EHLO "):
        writer.write(b"500 what?\r\n")
        await writer.drain()
        writer.close()
        return
    writer.write(b"250 hello\r\n")
    await writer.drain()
    await reader.read(1)


SMTP_STEPS = [{"expect": "^220 "}, {"send": "EHLO probe\r\n"}, {"expect": "(?m)^250 "}]


async def test_connect_only() -> None:
    async with raw_server(silent) as port:
        r = await probe(f"127.0.0.1:{port}")
    assert r.ok, r.message
    assert {"resolve", "connect"} <= set(r.phases)
    assert r.values == {}


async def test_send_expect_dialogue() -> None:
    async with raw_server(smtp_like) as port:
        good = await probe(f"127.0.0.1:{port}", query_response=SMTP_STEPS)
        wrong = await probe(f"127.0.0.1:{port}", query_response=[{"send": "HELO x\r\n"}, {"expect": "^250"}])
    assert good.ok, good.message
    assert wrong.error == "expect_failed"
    assert "^250" in wrong.message


async def test_expect_never_satisfied_times_out() -> None:
    async with raw_server(silent) as port:
        r = await probe(f"127.0.0.1:{port}", timeout=0.5, query_response=[{"expect": "^220"}])
    assert r.error == "timeout"
    assert "query" in r.message


async def test_expect_read_is_capped() -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"y" * 200_000)
        await writer.drain()
        await asyncio.sleep(3600)

    async with raw_server(flood) as port:
        r = await probe(f"127.0.0.1:{port}", max_read_bytes=1000, query_response=[{"expect": "220"}])
    assert r.error == "expect_failed"
    assert "1000 bytes" in r.message


async def test_reset_while_expecting() -> None:
    async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"22")
        await writer.drain()
        await asyncio.sleep(0.05)
        reset(writer)

    async with raw_server(rst) as port:
        r = await probe(f"127.0.0.1:{port}", query_response=[{"expect": "^220"}])
    assert r.error == "connection_reset", r.message


async def test_refused_and_connect_timeout() -> None:
    refused = await probe(f"127.0.0.1:{free_port()}")
    with backlog_full_port() as port:
        hung = await probe(f"127.0.0.1:{port}", timeout=0.5)
    assert refused.error == "connect_refused"
    assert hung.error == "connect_timeout"


async def test_tls_expiry_and_failures(certs: Certs) -> None:
    good_ctx = server_context(certs.server_cert, certs.server_key)
    expired_ctx = server_context(certs.expired_cert, certs.server_key)
    async with raw_server(smtp_like, ssl_context=good_ctx) as good, raw_server(silent, ssl_context=expired_ctx) as bad:
        ok = await probe(f"127.0.0.1:{good}", tls=True, tls_config={"ca_file": str(certs.ca)},
                         query_response=SMTP_STEPS)  # fmt: skip
        expired = await probe(f"127.0.0.1:{bad}", tls=True, tls_config={"ca_file": str(certs.ca)})
        untrusted = await probe(f"127.0.0.1:{good}", tls=True)
    assert ok.ok, ok.message
    assert ok.values["ssl_earliest_cert_expiry"] == openssl_not_after(certs.server_cert)
    assert "tls" in ok.phases
    assert expired.error == "tls_failed" and expired.message.startswith("cert_expired")
    assert untrusted.error == "tls_failed" and untrusted.message.startswith("cert_untrusted")


async def test_starttls(certs: Certs) -> None:
    ctx = server_context(certs.server_cert, certs.server_key)

    async def starttls_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ready\r\n")
        if await reader.readline() != b"STARTTLS\r\n":
            return
        writer.write(b"220 go ahead\r\n")
        await writer.drain()
        await writer.start_tls(ctx)
        writer.write(b"250 secure\r\n")
        await writer.drain()
        await reader.read(1)

    steps = [
        {"expect": "220 ready", "send": "STARTTLS\r\n"},
        {"expect": "220 go ahead\r\n", "starttls": True},
        {"expect": "250 secure"},
    ]
    async with raw_server(starttls_server) as port:
        r = await probe(f"127.0.0.1:{port}", tls_config={"ca_file": str(certs.ca)}, query_response=steps)
        bad = await probe(f"127.0.0.1:{port}", query_response=steps)  # system roots: our CA is unknown
    assert r.ok, r.message
    assert r.values["ssl_earliest_cert_expiry"] == openssl_not_after(certs.server_cert)
    assert bad.error == "tls_failed" and bad.message.startswith("cert_untrusted")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_address() -> None:
    async with raw_server(smtp_like, host="::1") as port:
        r = await probe(f"[::1]:{port}", query_response=SMTP_STEPS)
    assert r.ok, r.message


async def test_dns_failure() -> None:
    r = await probe("dialtone-test.invalid:25")
    assert r.error == "dns_failed"


def test_metrics() -> None:
    assert [(m.value, m.name) for m in METRICS.values] == [
        ("ssl_earliest_cert_expiry", "probe_ssl_earliest_cert_expiry")
    ]
    assert METRICS.phase_metric is None
