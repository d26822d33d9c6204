"""HTTPS probes against local TLS servers with certificates generated at test time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.model import ProbeResult, Target
from agent.probes.http.config import HttpConfig
from agent.probes.http.probe import HttpProbe
from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, tcp_listening
from tests.probes.servers import Certs, aiohttp_server, openssl_not_after, raw_server, server_context, silent


async def probe(url: str, timeout: float = 3.0, **config: Any) -> ProbeResult:
    """Build an HttpProbe for `url` with `config` and run it once."""
    cfg = HttpConfig.model_validate({"url": url, **config})
    return await HttpProbe(cfg).probe(Target("web", "portal", "http", timeout))


async def test_https_with_private_ca_reports_expiry(certs: Certs) -> None:
    async with aiohttp_server(ssl_context=server_context(certs.server_cert, certs.server_key)) as port:
        r = await probe(f"https://127.0.0.1:{port}/hello", tls_config={"ca_file": str(certs.ca)})
        by_name = await probe(f"https://localhost:{port}/hello", tls_config={"ca_file": str(certs.ca)})
    assert r.ok, r.message
    assert r.values["ssl"] is True
    assert r.values["ssl_earliest_cert_expiry"] == openssl_not_after(certs.server_cert)
    assert {"resolve", "connect", "tls", "processing", "transfer"} == set(r.phases)
    assert by_name.ok, by_name.message


async def test_expired_certificate(certs: Certs) -> None:
    async with aiohttp_server(ssl_context=server_context(certs.expired_cert, certs.server_key)) as port:
        r = await probe(f"https://127.0.0.1:{port}/hello", tls_config={"ca_file": str(certs.ca)})
        unchecked = await probe(f"https://127.0.0.1:{port}/hello", tls_config={"verify": False})
    assert r.error == "tls_failed"
    assert r.message.startswith("cert_expired")
    # Without verification the probe succeeds and the expiry (in the past) is what alerts should use.
    assert unchecked.ok, unchecked.message
    assert unchecked.values["ssl_earliest_cert_expiry"] == openssl_not_after(certs.expired_cert)


async def test_self_signed_certificate(certs: Certs) -> None:
    ctx = server_context(certs.self_signed_cert, certs.self_signed_key)
    async with aiohttp_server(ssl_context=ctx) as port:
        system_roots = await probe(f"https://127.0.0.1:{port}/hello")
        private_ca = await probe(f"https://127.0.0.1:{port}/hello", tls_config={"ca_file": str(certs.ca)})
        pinned = await probe(f"https://127.0.0.1:{port}/hello", tls_config={"ca_file": str(certs.self_signed_cert)})
    assert system_roots.error == "tls_failed"
    assert system_roots.message.startswith("cert_untrusted")
    assert private_ca.message.startswith("cert_untrusted")
    assert pinned.ok, pinned.message


async def test_server_name_mismatch(certs: Certs) -> None:
    async with aiohttp_server(ssl_context=server_context(certs.server_cert, certs.server_key)) as port:
        r = await probe(
            f"https://127.0.0.1:{port}/hello",
            tls_config={"ca_file": str(certs.ca), "server_name": "voice.example.com"},
        )
    assert r.error == "tls_failed"
    assert r.message.startswith("cert_hostname_mismatch")


@pytest.fixture
def mutual_tls_server(certs: Certs, tmp_path: Path) -> Iterator[int]:
    """`openssl s_server` requiring a client certificate from our CA: unlike asyncio's server side, it sends
    the TLS alert a real web server sends when it rejects a client."""
    openssl = require_binary("openssl", "openssl")
    port = free_port()
    argv = [
        openssl, "s_server", "-accept", f"{LOOPBACK}:{port}", "-cert", str(certs.server_cert),
        "-key", str(certs.server_key), "-CAfile", str(certs.ca), "-Verify", "1", "-www", "-quiet",
    ]  # fmt: skip
    with PeerProcess(argv, name="s_server") as peer:
        peer.start(tmp_path)
        peer.wait_ready(lambda: tcp_listening(port))
        yield port


async def test_client_certificate_required(certs: Certs, mutual_tls_server: int) -> None:
    url = f"https://127.0.0.1:{mutual_tls_server}/"
    without = await probe(url, tls_config={"ca_file": str(certs.ca)})
    client = {
        "ca_file": str(certs.ca),
        "cert_file": str(certs.client_cert),
        "key_file": str(certs.client_key_encrypted),
        "key_password_file": str(certs.client_key_password_file),
    }
    with_cert = await probe(url, tls_config=client)
    assert without.error == "tls_failed", without.message
    assert without.message.startswith("client_cert_rejected"), without.message
    assert with_cert.ok, with_cert.message
    assert with_cert.values["status_code"] == 200


async def test_handshake_that_never_completes_times_out_in_tls() -> None:
    async with raw_server(silent) as port:
        r = await probe(f"https://127.0.0.1:{port}/", timeout=0.5, tls_config={"verify": False})
    assert r.error == "timeout"
    assert "tls" in r.message


async def test_redirect_from_http_to_https(certs: Certs) -> None:
    tls = server_context(certs.server_cert, certs.server_key)
    async with aiohttp_server() as plain, aiohttp_server(ssl_context=tls) as secure:
        r = await probe(
            f"http://127.0.0.1:{plain}/to?url=https://127.0.0.1:{secure}/hello",
            tls_config={"ca_file": str(certs.ca)},
        )
    assert r.ok, r.message
    assert (r.values["redirects"], r.values["ssl"]) == (1, True)
    assert "tls" in r.phases
