"""SNMPv2c requests over asyncio UDP with the native codec (agent.snmp.ber): the hot path of every v2c poll.

One ``V2cTransport`` (one UDP socket per address family) serves any number of agents. A response is
accepted only when its request-id, source address and community match an outstanding request; anything
else is dropped and counted. Each request is retried with the same request-id inside its deadline, so a
late answer to an earlier try still counts. A datagram that does not decode never raises out of here: it
is counted, and if the request then goes unanswered its error says the agent sent malformed responses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from agent.snmp import ber
from agent.snmp.ber import Oid

ERROR_STATUS = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)
"""RFC 3416 error-status names by value."""

Address = tuple[str, int]


class SnmpError(Exception):
    """A failed SNMP exchange: `code` is one of timeout, auth_failed, no_such_object, snmp_error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def closed_error() -> SnmpError:
    """What a request gets once its transport or stack was closed (outstanding ones, and any later one)."""
    return SnmpError("snmp_error", "SNMP client closed")


class Varbind(NamedTuple):
    """One returned variable: `kind` is integer, counter32, counter64, gauge, timeticks, string, oid, ip,
    opaque, or missing (noSuchObject/noSuchInstance/endOfMibView), with `value` a plain Python value."""

    oid: Oid
    kind: str
    value: int | str | None


_NUMBER_KINDS = {
    ber.INTEGER: "integer",
    ber.COUNTER32: "counter32",
    ber.COUNTER64: "counter64",
    ber.GAUGE32: "gauge",
    ber.TIMETICKS: "timeticks",
}


def from_raw(raw: Sequence[ber.RawVarbind]) -> list[Varbind]:
    """Decoded varbinds -> Varbinds, exactly as client.convert() makes them from pysnmp's values."""
    out: list[Varbind] = []
    numbers, new = _NUMBER_KINDS, tuple.__new__  # tuple.__new__ skips NamedTuple's slower Python __new__
    for oid, tag, value in raw:
        kind = numbers.get(tag)
        if kind is not None:
            out.append(new(Varbind, (oid, kind, value)))
        elif tag == ber.OCTET_STRING:
            assert isinstance(value, bytes)
            try:
                out.append(Varbind(oid, "string", value.decode("utf-8")))
            except UnicodeDecodeError:
                out.append(Varbind(oid, "string", value.hex(":")))
        elif tag == ber.OBJECT_ID:
            assert isinstance(value, tuple)
            out.append(Varbind(oid, "oid", ".".join(map(str, value))))
        elif tag == ber.IP_ADDRESS:
            assert isinstance(value, bytes)
            out.append(Varbind(oid, "ip", ".".join(map(str, value))))
        elif tag == ber.OPAQUE:
            assert isinstance(value, bytes)
            out.append(Varbind(oid, "opaque", value.hex(":")))
        else:  # NULL, noSuchObject, noSuchInstance, endOfMibView
            out.append(Varbind(oid, "missing", None))
    return out


class _Pending:
    """One outstanding request: what a response must match, and its retry state."""

    __slots__ = ("addr", "community", "future", "malformed", "packet", "sock", "timer", "tries_left")

    def __init__(
        self,
        addr: Address,
        community: bytes,
        future: asyncio.Future[ber.Message],
        packet: bytes,
        sock: asyncio.DatagramTransport,
        tries_left: int,
    ) -> None:
        self.addr, self.community, self.future = addr, community, future
        self.packet, self.sock, self.tries_left = packet, sock, tries_left
        self.malformed = ""
        self.timer: asyncio.TimerHandle | None = None


class V2cTransport(asyncio.DatagramProtocol):
    """UDP sockets shared by v2c clients; responses are matched to requests by request-id and source."""

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}
        self._socks: dict[int, asyncio.DatagramTransport] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self.counters: Counter[str] = Counter()  # malformed, stray (no matching request)

    async def _sock(self, family: int) -> asyncio.DatagramTransport:
        sock = self._socks.get(family)
        if sock is None:
            async with self._lock:
                sock = self._socks.get(family)
                if self._closed:  # closed while this request waited for the lock
                    raise closed_error()
                if sock is None:
                    local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
                    sock, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                        lambda: self, local_addr=local, family=family
                    )
                    self._socks[family] = sock
        return sock

    async def request(
        self,
        family: int,
        addr: Address,
        community: bytes,
        pdu_type: int,
        oids: Sequence[Oid],
        first: int = 0,
        second: int = 0,
        *,
        within: float,
        retries: int,
    ) -> ber.Message:
        """Send one request, retried inside `within` seconds; its response, or TimeoutError when none came."""
        if self._closed:  # never reopen a socket that its owner has already closed
            raise closed_error()
        sock = self._socks.get(family) or await self._sock(family)
        loop = asyncio.get_running_loop()
        rid = random.getrandbits(31)
        while rid in self._pending:
            rid = random.getrandbits(31)
        packet = ber.request(community, pdu_type, rid, oids, first, second)
        pending = _Pending(addr, community, loop.create_future(), packet, sock, retries)
        self._pending[rid] = pending
        per_try = within / (retries + 1)
        try:
            sock.sendto(packet, addr)
            pending.timer = loop.call_later(per_try, self._expire, rid, per_try)
            return await pending.future
        finally:
            del self._pending[rid]
            if pending.timer is not None:
                pending.timer.cancel()

    def _expire(self, rid: int, per_try: float) -> None:
        pending = self._pending.get(rid)
        if pending is None or pending.future.done():
            return
        if pending.tries_left > 0:
            pending.tries_left -= 1
            pending.sock.sendto(pending.packet, pending.addr)
            pending.timer = asyncio.get_running_loop().call_later(per_try, self._expire, rid, per_try)
        elif pending.malformed:
            host, port = pending.addr
            pending.future.set_exception(
                SnmpError("snmp_error", f"malformed response from {host}:{port}: {pending.malformed}")
            )
        else:
            pending.future.set_exception(TimeoutError())

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Match a response to its request; count and drop everything else."""
        try:
            msg = ber.decode(data)
        except ber.BerError as exc:
            self.counters["malformed"] += 1
            for waiting in self._pending.values():
                if waiting.addr[0] == addr[0] and waiting.addr[1] == addr[1]:
                    waiting.malformed = str(exc)
            return
        pending = self._pending.get(msg.request_id)
        if (
            pending is None
            or pending.future.done()
            or msg.pdu_type != ber.RESPONSE
            or pending.addr[0] != addr[0]
            or pending.addr[1] != addr[1]
            or msg.community != pending.community
        ):
            self.counters["stray"] += 1
            return
        pending.future.set_result(msg)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors on an unconnected socket name no request: the request's own timer decides."""
        self.counters["socket_error"] += 1

    def close(self) -> None:
        """Close the sockets for good; outstanding and later requests fail with snmp_error."""
        self._closed = True
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(closed_error())


async def resolve(host: str, port: int) -> tuple[int, Address]:
    """(address family, (ip, port)) of an agent; an IP literal needs no lookup."""
    try:
        ip = ipaddress.ip_address(host)
        return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), (ip.compressed, port)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise SnmpError("snmp_error", f"cannot resolve {host}: {exc}") from None
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def check_response(msg: ber.Message, oids: Sequence[Oid], max_repetitions: int, where: str) -> None:
    """SnmpError for an agent's error-status or a response of the wrong size (max_repetitions 0: not GETBULK)."""
    if msg.error_status:
        status = msg.error_status
        name = ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"error-status {status}"
        index = msg.error_index
        at = f" at {'.'.join(map(str, oids[index - 1]))}" if 0 < index <= len(oids) else ""
        raise SnmpError("snmp_error", f"agent answered error-status {name}{at}")
    n = len(msg.varbinds)
    if (n > len(oids) * max_repetitions) if max_repetitions else (n != len(oids)):
        raise SnmpError("snmp_error", f"{where} answered {n} variables to a request for {len(oids)}")
