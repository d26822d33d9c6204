"""A lean HTTP/1.1 client on asyncio transports, for probes: a fresh connection per request, exact phases,
a byte cap, Content-Length, chunked transfer-encoding and redirects. No pooling, no decompression.

Why not aiohttp here: a ClientSession per probe plus a TraceConfig for phases costs several times the CPU
of this client (see bench/http_vs_blackbox.py), and it cannot stop reading at a byte cap mid-body cheaply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urljoin

from agent.net.address import Endpoint, IpPreference, parse_endpoint
from agent.net.httpparse import ResponseReader
from agent.net.netconn import ProbeFailure, Trace, open_connection
from agent.net.tls_config import TlsConfig
from agent.net.tlsinfo import peer_cert_expiry, shared_context

REDIRECTS = frozenset({301, 302, 303, 307, 308})


def encode_request(method: str, ep: Endpoint, headers: tuple[tuple[str, str], ...], body: bytes) -> bytes:
    """The request bytes: our defaults first (Host, User-Agent, Accept, Connection), each overridable."""
    given = {name.lower() for name, _ in headers}
    lines = [f"{method} {ep.target} HTTP/1.1"]
    defaults = (
        ("Host", ep.host_header), ("User-Agent", "dialtone"), ("Accept", "*/*"), ("Connection", "close")
    )  # fmt: skip
    lines += [f"{n}: {v}" for n, v in defaults if n.lower() not in given]
    lines += [f"{n}: {v}" for n, v in headers]
    if (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in given:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a probe's requests need, prepared once when the probe is built."""

    method: str
    endpoint: Endpoint
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    max_redirects: int = 10
    max_body: int = 1 << 20
    keep_body: bool = False
    accept_truncated: bool = False
    preference: IpPreference = "any"
    fallback: bool = True
    tls: TlsConfig = field(default_factory=TlsConfig)
    cross_origin_drop: frozenset[str] = frozenset({"authorization", "proxy-authorization", "cookie"})
    """Header names (lower case) not sent on after a redirect to another host or port."""
    first_request: bytes = b""

    def __post_init__(self) -> None:
        # Encode the first request once, so the hot path only writes bytes.
        raw = encode_request(self.method, self.endpoint, self.headers, self.body)
        object.__setattr__(self, "first_request", raw)


@dataclass(slots=True)
class Response:
    """What the final response of a fetch looked like."""

    status: int
    version: float
    headers: dict[str, str]
    body: bytes | None
    body_len: int
    truncated: bool
    tls: bool
    cert_expiry: float | None
    redirects: int = 0


async def fetch(plan: Plan, trace: Trace) -> Response:
    """Run the plan's request, following redirects; raises ProbeFailure for a failing target."""
    method, ep, headers, body, raw = plan.method, plan.endpoint, plan.headers, plan.body, plan.first_request
    redirects = 0
    while True:
        resp = await _exchange(plan, ep, method, raw, trace)
        location = resp.headers.get("location")
        if resp.status not in REDIRECTS or plan.max_redirects == 0 or not location:
            resp.redirects = redirects
            return resp
        if redirects >= plan.max_redirects:
            raise ProbeFailure("too_many_redirects", f"more than {plan.max_redirects} redirects")
        redirects += 1
        try:
            new = parse_endpoint(urljoin(ep.url, location))
        except ValueError as exc:
            raise ProbeFailure("protocol_error", f"bad redirect Location: {exc}") from None
        if (resp.status == 303 and method != "HEAD") or (resp.status in (301, 302) and method == "POST"):
            method, body = "GET", b""
            headers = tuple(h for h in headers if h[0].lower() not in ("content-length", "content-type"))
        if (new.host, new.port) != (ep.host, ep.port):
            # Credentials go only to the origin they were configured for (unless cross_origin_credentials).
            drop = plan.cross_origin_drop | {"host"}
            headers = tuple(h for h in headers if h[0].lower() not in drop)
        ep = new
        raw = encode_request(method, ep, headers, body)
        trace.step("resolve")


async def _exchange(plan: Plan, ep: Endpoint, method: str, raw: bytes, trace: Trace) -> Response:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    reader = ResponseReader(done, trace, plan.max_body, plan.keep_body, plan.accept_truncated, method == "HEAD")
    ctx = None
    if ep.tls:
        try:
            ctx = shared_context(plan.tls, ("http/1.1",))
        except ValueError as exc:
            raise ProbeFailure("tls_failed", f"tls_config: {exc}") from None
    server_name = plan.tls.server_name if ep.tls and plan.tls.server_name else ep.host
    transport, _ = await open_connection(
        ep.host, ep.port, lambda: reader, trace,
        preference=plan.preference, fallback=plan.fallback, tls=ctx, server_hostname=server_name,
    )  # fmt: skip
    try:
        expiry = peer_cert_expiry(transport.get_extra_info("ssl_object")) if ep.tls else None
        trace.step("processing")
        transport.write(raw)
        await done
    finally:
        transport.abort()
    trace.step("done")
    if reader.failure is not None:
        raise reader.failure
    body = bytes(reader.body) if reader.body is not None else None
    return Response(
        reader.status, reader.version, reader.headers, body, reader.body_len, reader.truncated, ep.tls, expiry
    )
