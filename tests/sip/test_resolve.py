"""RFC 3263 resolution against a real DNS server on 127.0.0.1 (dnspython answering from a zone table)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.asyncresolver
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from agent.sip.resolve import Hop, resolve
from agent.sip.transport import TransportError
from agent.sip.uri import SipUri

ZONE = {
    ("voice.test.", "NAPTR"): [
        '10 50 "s" "SIP+D2T" "" _sip._tcp.voice.test.',
        '20 50 "s" "SIP+D2U" "" _sip._udp.voice.test.',
    ],
    ("_sip._tcp.voice.test.", "SRV"): ["10 10 5070 b.voice.test.", "5 10 5080 a.voice.test."],
    ("_sip._udp.voice.test.", "SRV"): ["10 10 5060 a.voice.test."],
    ("a.voice.test.", "A"): ["127.0.0.11"],
    ("b.voice.test.", "A"): ["127.0.0.12"],
    ("srvonly.test.", "SRV"): [],
    ("_sips._tcp.secure.test.", "SRV"): ["10 10 5061 a.voice.test."],
    ("_sip._udp.plain.test.", "SRV"): ["10 10 5090 a.voice.test."],
    ("plain.test.", "A"): ["127.0.0.13"],
    ("bare.test.", "A"): ["127.0.0.14"],
}


class DnsServer:
    """A tiny authoritative DNS server on UDP 127.0.0.1: answers from ZONE, NXDOMAIN otherwise."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            query = dns.message.from_wire(data)
            q = query.question[0]
            key = (q.name.to_text(), dns.rdatatype.to_text(q.rdtype))
            self.queries.append(key)
            resp = dns.message.make_response(query)
            records = ZONE.get(key)
            if records:
                resp.answer.append(dns.rrset.from_text_list(q.name, 60, "IN", key[1], records))
            elif not any(name == key[0] for name, _ in ZONE):
                resp.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(resp.to_wire(), addr)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.stop()


@pytest.fixture
def resolver(dns_server: DnsServer) -> dns.asyncresolver.Resolver:
    res = dns.asyncresolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = dns_server.port
    res.lifetime = 2.0
    return res


async def test_naptr_then_srv_then_a(resolver):
    hops = await resolve(SipUri.parse("sip:100@voice.test"), resolver=resolver)
    # NAPTR prefers TCP; SRV priority 5 (a, 5080) before priority 10 (b, 5070).
    assert hops == [Hop("tcp", "127.0.0.11", 5080, "voice.test"), Hop("tcp", "127.0.0.12", 5070, "voice.test")]


async def test_configured_transport_skips_naptr(resolver, dns_server):
    hops = await resolve(SipUri.parse("sip:voice.test"), "udp", resolver=resolver)
    assert hops == [Hop("udp", "127.0.0.11", 5060, "voice.test")]
    assert ("voice.test.", "NAPTR") not in dns_server.queries


async def test_sips_uses_sips_srv(resolver):
    hops = await resolve(SipUri.parse("sips:secure.test"), resolver=resolver)
    assert hops == [Hop("tls", "127.0.0.11", 5061, "secure.test")]


async def test_srv_without_naptr(resolver):
    assert await resolve(SipUri.parse("sip:plain.test"), resolver=resolver) == [
        Hop("udp", "127.0.0.11", 5090, "plain.test")
    ]


async def test_no_srv_falls_back_to_a_and_default_port(resolver):
    assert await resolve(SipUri.parse("sip:bare.test"), resolver=resolver) == [
        Hop("udp", "127.0.0.14", 5060, "bare.test")
    ]


async def test_explicit_port_skips_naptr_and_srv(resolver, dns_server):
    hops = await resolve(SipUri.parse("sip:a.voice.test:5099;transport=tcp"), resolver=resolver)
    assert hops == [Hop("tcp", "127.0.0.11", 5099, "a.voice.test")]
    assert all(t in ("A", "AAAA") for _, t in dns_server.queries)


async def test_ip_literal_makes_no_query(resolver, dns_server):
    assert await resolve(SipUri.parse("sips:127.0.0.5"), resolver=resolver) == [
        Hop("tls", "127.0.0.5", 5061, "127.0.0.5")
    ]
    assert await resolve(SipUri.parse("sip:[::1]:5070"), resolver=resolver) == [Hop("udp", "::1", 5070, "::1")]
    assert dns_server.queries == []


async def test_unknown_name_is_dns_failed(resolver):
    with pytest.raises(TransportError) as info:
        await resolve(SipUri.parse("sip:nowhere.invalid"), resolver=resolver)
    assert info.value.code == "dns_failed"
