"""HTTP probe against real local servers: a well-behaved aiohttp app and raw servers that misbehave."""

from __future__ import annotations

import base64
import re
import socket
import tracemalloc
from typing import Any

import pytest

from agent.core.model import ProbeResult, Target
from agent.probes.http.config import HttpConfig
from agent.probes.http.probe import METRICS, HttpProbe
from tests.peers.base import free_port
from tests.probes.servers import (
    aiohttp_server,
    backlog_full_port,
    raw_server,
    reply,
    silent,
    slow_loris,
)

PHASES = {"resolve", "connect", "processing", "transfer"}


async def probe(url: str, timeout: float = 3.0, **config: Any) -> ProbeResult:
    """Build an HttpProbe for `url` with `config` and run it once."""
    cfg = HttpConfig.model_validate({"url": url, **config})
    return await HttpProbe(cfg).probe(Target("web", "portal", "http", timeout))


async def test_success_values_and_phases() -> None:
    async with aiohttp_server() as port:
        r = await probe(f"http://127.0.0.1:{port}/hello")
    assert r.ok, r.message
    assert r.values["status_code"] == 200
    assert r.values["content_length"] == len("hello dialtone\n")
    assert r.values["http_version"] == 1.1
    assert r.values["redirects"] == 0
    assert r.values["ssl"] is False
    assert "ssl_earliest_cert_expiry" not in r.values
    assert set(r.phases) == PHASES
    assert all(v >= 0 for v in r.phases.values())
    assert r.started_at.tzinfo is not None and r.started_at.utcoffset() is not None
    assert r.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_chunked_body_is_counted_after_dechunking() -> None:
    async with aiohttp_server() as port:
        r = await probe(f"http://127.0.0.1:{port}/chunked?n=12345", fail_if_body_not_matches_regexp=["^x+$"])
    assert r.ok, r.message
    assert r.values["content_length"] == 12345


async def test_head_request_reads_no_body() -> None:
    async with aiohttp_server() as port:
        r = await probe(f"http://127.0.0.1:{port}/hello", method="HEAD")
    assert r.ok, r.message
    assert r.values["content_length"] == 0


async def test_redirects_are_followed_and_counted() -> None:
    async with aiohttp_server() as port:
        r = await probe(f"http://127.0.0.1:{port}/redirect/3")
        off = await probe(f"http://127.0.0.1:{port}/redirect/3", follow_redirects=False)
        allowed = await probe(f"http://127.0.0.1:{port}/redirect/3", follow_redirects=False,
                              valid_status_codes=[302])  # fmt: skip
        too_many = await probe(f"http://127.0.0.1:{port}/redirect/3", max_redirects=2)
    assert r.ok, r.message
    assert (r.values["redirects"], r.values["status_code"]) == (3, 200)
    assert (off.ok, off.error, off.values["status_code"]) == (False, "http_status", 302)
    assert allowed.ok
    assert too_many.error == "too_many_redirects"


async def test_post_redirected_with_302_becomes_get() -> None:
    async with aiohttp_server() as port:
        r = await probe(f"http://127.0.0.1:{port}/to?url=/echo", method="POST", body="ping",
                        fail_if_body_not_matches_regexp=["^method=GET ", "body=$"])  # fmt: skip
    assert r.ok, r.message


async def test_credentials_are_not_sent_to_another_origin() -> None:
    async with aiohttp_server() as a, aiohttp_server() as b:
        same = await probe(f"http://127.0.0.1:{a}/to?url=/echo", bearer_token="s3cret",
                           fail_if_body_not_matches_regexp=["auth=Bearer s3cret"])  # fmt: skip
        other = await probe(f"http://127.0.0.1:{a}/to?url=http://127.0.0.1:{b}/echo", bearer_token="s3cret",
                            fail_if_body_not_matches_regexp=["auth=- "])  # fmt: skip
    assert same.ok, same.message
    assert other.ok, other.message


async def test_status_codes() -> None:
    async with aiohttp_server() as port:
        bad = await probe(f"http://127.0.0.1:{port}/status/503")
        cls = await probe(f"http://127.0.0.1:{port}/status/503", valid_status_codes=["5xx"])
        exact = await probe(f"http://127.0.0.1:{port}/status/503", valid_status_codes=[404])
    assert (bad.ok, bad.error, bad.values["status_code"]) == (False, "http_status", 503)
    assert "503" in bad.message
    assert cls.ok
    assert exact.error == "http_status"


async def test_body_regexes() -> None:
    async with aiohttp_server() as port:
        url = f"http://127.0.0.1:{port}/hello"
        forbidden = await probe(url, fail_if_body_matches_regexp=["dial\\w+"])
        missing = await probe(url, fail_if_body_not_matches_regexp=["maintenance"])
        good = await probe(url, fail_if_body_matches_regexp=["error"], fail_if_body_not_matches_regexp=["^hello"])
    assert (forbidden.error, missing.error) == ("body_mismatch", "body_mismatch")
    assert "dial" in forbidden.message and "maintenance" in missing.message
    assert forbidden.values["status_code"] == 200
    assert good.ok, good.message


async def test_method_body_headers_and_basic_auth(tmp_path: Any) -> None:
    secret = tmp_path / "pw"
    secret.write_text("pa:ss\n")
    token = base64.b64encode(b"probe:pa:ss").decode()
    async with aiohttp_server() as port:
        r = await probe(
            f"http://127.0.0.1:{port}/echo", method="PUT", body="ping", headers={"X-Probe": "yes"},
            basic_auth={"username": "probe", "password_file": str(secret)},
            fail_if_body_not_matches_regexp=["method=PUT", f"auth=Basic {re.escape(token)} ", "x-probe=yes",
                                             "body=ping$"],
        )  # fmt: skip
    assert r.ok, r.message


async def test_huge_body_stops_at_the_cap_with_bounded_memory() -> None:
    async with aiohttp_server() as port:
        tracemalloc.start()
        try:
            r = await probe(f"http://127.0.0.1:{port}/huge", fail_if_body_not_matches_regexp=["x"])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        declared = await probe(f"http://127.0.0.1:{port}/declared-huge")
        truncated = await probe(f"http://127.0.0.1:{port}/huge", max_body_bytes=4096, accept_truncated_body=True)
    assert r.error == "body_too_large", r.message
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 1 MiB cap"
    assert declared.error == "body_too_large"
    assert "Content-Length" in declared.message
    assert truncated.ok, truncated.message
    assert truncated.values["content_length"] == 4096
    assert truncated.values["body_truncated"] is True


async def test_server_that_never_answers_times_out_in_processing() -> None:
    async with raw_server(silent) as port:
        r = await probe(f"http://127.0.0.1:{port}/", timeout=0.5)
    assert r.error == "timeout"
    assert "processing" in r.message


async def test_slow_loris_times_out_in_transfer() -> None:
    async with raw_server(slow_loris) as port:
        r = await probe(f"http://127.0.0.1:{port}/", timeout=0.6)
    assert r.error == "timeout"
    assert "transfer" in r.message


async def test_connect_refused_and_connect_timeout() -> None:
    refused = await probe(f"http://127.0.0.1:{free_port()}/")
    with backlog_full_port() as port:
        hung = await probe(f"http://127.0.0.1:{port}/", timeout=0.5)
    assert refused.error == "connect_refused"
    assert hung.error == "connect_timeout"


async def test_dns_failure() -> None:
    r = await probe("http://dialtone-test.invalid/", timeout=3.0)
    assert r.error == "dns_failed"


async def test_reset_mid_response() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000
    async with raw_server(reply(head, then="reset")) as port:
        r = await probe(f"http://127.0.0.1:{port}/")
    assert r.error == "connection_reset", r.message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP"),
        (b"", "before any response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "before the response was complete"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "not followed by CRLF"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 70000 + b"\r\n\r\n", "head larger"),
        (b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", "malformed header"),
    ],
)
async def test_protocol_errors(raw: bytes, words: str) -> None:
    async with raw_server(reply(raw)) as port:
        r = await probe(f"http://127.0.0.1:{port}/")
    assert r.error == "protocol_error"
    assert words in r.message


async def test_http10_body_until_close_and_interim_response() -> None:
    async with raw_server(reply(b"HTTP/1.0 200 OK\r\n\r\nabc")) as port:
        old = await probe(f"http://127.0.0.1:{port}/")
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    async with raw_server(reply(interim, then="hang")) as port:
        cont = await probe(f"http://127.0.0.1:{port}/")
    assert old.ok, old.message
    assert (old.values["content_length"], old.values["http_version"]) == (3, 1.0)
    assert cont.ok, cont.message
    assert (cont.values["status_code"], cont.values["content_length"]) == (201, 2)


def _localhost_has_ipv6() -> bool:
    return any(info[0] == socket.AF_INET6 for info in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_literal_and_preference() -> None:
    async with aiohttp_server("::1") as port:
        v6 = await probe(f"http://[::1]:{port}/hello")
        pref = await probe(f"http://localhost:{port}/hello", ip_protocol="ip6", ip_fallback=False)
    assert v6.ok, v6.message
    if _localhost_has_ipv6():
        assert pref.ok, pref.message
    else:
        assert pref.error == "dns_failed"
        assert "IPv6" in pref.message


async def test_ip4_preference_and_fallback() -> None:
    async with aiohttp_server() as port:
        v4 = await probe(f"http://localhost:{port}/hello", ip_protocol="ip4", ip_fallback=False)
        fallback = await probe(f"http://localhost:{port}/hello", ip_protocol="ip6") if not _localhost_has_ipv6() else v4
    assert v4.ok, v4.message
    assert fallback.ok, fallback.message


def test_metrics_spec_names() -> None:
    names = {spec.value: spec.name for spec in METRICS.values}
    assert METRICS.phase_metric == "probe_http_duration_seconds"
    assert names == {
        "status_code": "probe_http_status_code",
        "content_length": "probe_http_content_length",
        "redirects": "probe_http_redirects",
        "ssl_earliest_cert_expiry": "probe_ssl_earliest_cert_expiry",
        "http_version": "probe_http_version",
    }
