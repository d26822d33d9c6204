"""RFC 3263 server location: NAPTR, SRV, then A/AAAA; an IP literal or explicit port skips NAPTR/SRV."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from agent.sip.transport import Proto, TransportError
from agent.sip.uri import SipUri

DEFAULT_PORT = {"udp": 5060, "tcp": 5060, "tls": 5061}
_NAPTR_SERVICES: dict[str, Proto] = {"SIPS+D2T": "tls", "SIP+D2T": "tcp", "SIP+D2U": "udp"}
_SRV_PREFIX: dict[Proto, str] = {"tls": "_sips._tcp.", "tcp": "_sip._tcp.", "udp": "_sip._udp."}
_DNS_ERRORS = (dns.exception.DNSException, OSError)


@dataclass(frozen=True, slots=True)
class Hop:
    """Where to send: transport, IP and port; `server_name` is the name a TLS certificate must carry."""

    proto: Proto
    ip: str
    port: int
    server_name: str


_LITERALS: dict[tuple[SipUri, Proto | None], Hop] = {}


async def resolve(
    uri: SipUri,
    proto: Proto | None = None,
    *,
    resolver: dns.asyncresolver.Resolver | None = None,
) -> list[Hop]:
    """Candidate next hops for `uri` in the order to try; TransportError('dns_failed') when there is none."""
    literal = _LITERALS.get((uri, proto))
    if literal is not None:
        return [literal]
    secure = uri.scheme == "sips"
    chosen = proto or _uri_transport(uri, secure)
    if uri.is_ip:
        p = chosen or ("tls" if secure else "udp")
        hop = Hop(p, uri.host_ip, uri.port or DEFAULT_PORT[p], uri.host_ip)
        if len(_LITERALS) < 4096:  # an IP literal needs no DNS: its hop never changes
            _LITERALS[(uri, proto)] = hop
        return [hop]
    if uri.port is not None:
        p = chosen or ("tls" if secure else "udp")
        return [Hop(p, ip, uri.port, uri.host) for ip in await _addresses(uri.host, resolver)]
    try:
        res = resolver or dns.asyncresolver.Resolver()
    except _DNS_ERRORS:  # no resolv.conf: only the system resolver (hosts file) is left
        p = chosen or ("tls" if secure else "udp")
        return [Hop(p, ip, DEFAULT_PORT[p], uri.host) for ip in await _addresses(uri.host, None)]
    srv_name: str | None = None
    if chosen is None:
        chosen, srv_name = await _naptr(uri.host, secure, res)
    candidates: list[Proto] = [chosen] if chosen else (["tls"] if secure else ["tls", "tcp", "udp"])
    for p in candidates:
        hops = await _srv(srv_name or _SRV_PREFIX[p] + uri.host, p, uri.host, res)
        if hops:
            return hops
        srv_name = None
    p = chosen or ("tls" if secure else "udp")
    return [Hop(p, ip, DEFAULT_PORT[p], uri.host) for ip in await _addresses(uri.host, resolver)]


def _uri_transport(uri: SipUri, secure: bool) -> Proto | None:
    param = (uri.param("transport") or "").lower()
    if param == "udp":
        return "udp"
    if param == "tcp":
        return "tls" if secure else "tcp"
    if param == "tls":
        return "tls"
    return "tls" if secure else None


async def _naptr(domain: str, secure: bool, res: dns.asyncresolver.Resolver) -> tuple[Proto | None, str | None]:
    try:
        answer = await res.resolve(domain, "NAPTR")
    except _DNS_ERRORS:
        return None, None
    records = sorted(answer, key=lambda r: (r.order, r.preference))
    for r in records:
        service = r.service.decode().upper()
        p = _NAPTR_SERVICES.get(service)
        if p and (p == "tls" or not secure) and r.flags.decode().lower() == "s":
            return p, r.replacement.to_text(omit_final_dot=True)
    return None, None


async def _srv(name: str, proto: Proto, domain: str, res: dns.asyncresolver.Resolver) -> list[Hop]:
    try:
        answer = await res.resolve(name, "SRV")
    except _DNS_ERRORS:
        return []
    hops: list[Hop] = []
    # Lower priority first; among equals, heavier weight first (a deterministic reading of RFC 2782).
    for r in sorted(answer, key=lambda r: (r.priority, -r.weight)):
        target = r.target.to_text(omit_final_dot=True)
        if target == "" or target == ".":
            continue
        try:
            ips = await _addresses(target, res)
        except TransportError:
            continue
        hops.extend(Hop(proto, ip, int(r.port), domain) for ip in ips)
    return hops


async def _addresses(host: str, res: dns.asyncresolver.Resolver | None) -> list[str]:
    """A then AAAA records; the system resolver (and /etc/hosts) without a DNS resolver or when it fails."""
    if res is not None:
        ips: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                ips.extend(r.address for r in await res.resolve(host, rdtype))
            except _DNS_ERRORS:
                continue
        if ips:
            return ips
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise TransportError("dns_failed", f"cannot resolve {host}: {exc.strerror or exc}") from None
    seen: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in seen:
            seen.append(ip)
    if not seen:
        raise TransportError("dns_failed", f"no address for {host}")
    return seen
