"""SIP over UDP, TCP and TLS on asyncio transports. Errors become `TransportError` with a probe error code.

UDP sockets are connected to the next hop, so an ICMP port-unreachable comes back as `connection_refused`
and the kernel picks the source address that Via and Contact must carry. Every transport `open_transport`
makes owns its socket; a `SipTransportPool` (agent/sip/pool.py) hands out views on one connected UDP socket
per (local address, next hop) that many probes share (agent/sip/shared_udp.py).

This module is the bottom of the SIP stack: it knows of a client transaction only the `Tracked` protocol
below, so transaction.py and shared_udp.py build on it and nothing here imports them back.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Literal, Protocol, cast

from agent.sip.message import MAX_MESSAGE, SipMessage, SipParseError, StreamFramer, parse, redact

log = logging.getLogger(__name__)

Proto = Literal["udp", "tcp", "tls"]
Addr = tuple[str, int]
MessageHandler = Callable[[SipMessage, "Transport"], None]


class Tracked(Protocol):
    """What a transport needs of a client transaction it routes responses to (agent/sip/transaction.py)."""

    @property
    def branch(self) -> str:
        """The top Via branch of the request (RFC 3261 17.1.3)."""

    @property
    def method(self) -> str:
        """The request's method, which the CSeq of a response must name."""

    @property
    def request(self) -> SipMessage:
        """The request the transaction sends."""

    @property
    def transport(self) -> Transport:
        """The transport the transaction sends on."""

    def receive(self, response: SipMessage) -> None:
        """A response matched to the transaction."""


class TransportError(Exception):
    """A transport failure; `code` is the probe's error class (connection_refused, tls_failed...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def classify(exc: BaseException) -> TransportError:
    """Translate a socket or TLS exception into a TransportError with its error class."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError("tls_failed", f"certificate verification failed: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return TransportError("tls_failed", f"TLS handshake failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError("connection_refused", "connection refused")
    if isinstance(exc, socket.gaierror):
        return TransportError("dns_failed", f"cannot resolve: {exc.strerror}")
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "error")
        return TransportError("connection_failed", f"{name}: {exc.strerror or exc}")
    return TransportError("connection_failed", str(exc) or type(exc).__name__)


class Transport(asyncio.Protocol, asyncio.DatagramProtocol):
    """One connection (or connected UDP socket) to the next hop; parsed messages go to `on_message`."""

    def __init__(self, proto: Proto, remote: Addr, on_message: MessageHandler, max_size: int) -> None:
        self.proto: Proto = proto
        self.remote = remote
        self.local: Addr = ("0.0.0.0", 0)
        self.on_message = on_message
        self.on_error: Callable[[TransportError], None] = lambda err: None
        self.error: TransportError | None = None
        self.parse_errors: list[str] = []
        self.max_size = max_size
        self._framer: StreamFramer | None = None  # made on the first stream read: UDP never needs one
        self._tx: asyncio.BaseTransport | None = None

    @property
    def reliable(self) -> bool:
        """True for TCP and TLS: no retransmissions (RFC 3261 17.1.1.2)."""
        return self.proto != "udp"

    @property
    def via_proto(self) -> str:
        """The transport token of a Via header."""
        return self.proto.upper()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._tx = transport
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.local = (str(sockname[0]), int(sockname[1]))

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        try:
            msg = parse(data, max_size=self.max_size)
        except SipParseError as exc:
            self._bad(str(exc))  # a malformed datagram is dropped, as RFC 3261 18.3 allows
            return
        self._deliver(msg)

    def data_received(self, data: bytes) -> None:
        if self._framer is None:
            self._framer = StreamFramer(self.max_size)
        try:
            for msg in self._framer.feed(data):
                self._deliver(msg)
        except SipParseError as exc:
            # A stream cannot resynchronise after a framing error: close it.
            self._bad(str(exc))
            self._fail(TransportError("bad_response", f"malformed SIP on the stream: {exc}"))
            self.close()

    def _deliver(self, msg: SipMessage) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("received %s from %s:%s\n%s", self.proto, *self.remote, msg.dump())
        self.on_message(msg, self)

    def track(self, tx: Tracked) -> None:
        """A client transaction starts on this transport (a shared socket routes its responses here)."""

    def _bad(self, why: str) -> None:
        self.parse_errors.append(why)
        log.debug("dropped malformed SIP from %s:%s: %s", *self.remote, why)

    def error_received(self, exc: Exception) -> None:
        self._fail(classify(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._fail(classify(exc))
        elif self.reliable and self.error is None:
            self._fail(TransportError("connection_closed", "the peer closed the connection"))
        self._tx = None

    def _fail(self, err: TransportError) -> None:
        if self.error is None:
            self.error = err
        self.on_error(err)

    @property
    def closed(self) -> bool:
        """True once closed or lost."""
        return self._tx is None or self._tx.is_closing()

    def send(self, msg: SipMessage | bytes) -> None:
        """Send one message to the next hop; silently dropped once closed (the transaction times out)."""
        data = msg if isinstance(msg, bytes) else msg.to_bytes()
        if self.closed:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("send %s to %s:%s\n%s", self.proto, *self.remote, redact(data.decode(errors="replace")))
        if self.proto == "udp":
            # Python 3.11's selector datagram transport does not subclass DatagramTransport: no isinstance.
            cast(asyncio.DatagramTransport, self._tx).sendto(data)
        else:
            cast(asyncio.WriteTransport, self._tx).write(data)

    def close(self) -> None:
        """Close the socket."""
        if self._tx is not None and not self._tx.is_closing():
            self._tx.close()


def tls_context(ca_file: str | None = None, verify: bool = True) -> ssl.SSLContext:
    """A client TLS context: system CAs (or `ca_file`), hostname checked, unless `verify` is False."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def open_transport(
    proto: Proto,
    remote: Addr,
    on_message: MessageHandler,
    *,
    bind_host: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    server_name: str | None = None,
    max_size: int = MAX_MESSAGE,
) -> Transport:
    """Open a transport of its own to `remote` (an IP address and port); TransportError on failure."""
    loop = asyncio.get_running_loop()
    transport = Transport(proto, remote, on_message, max_size)
    family = socket.AF_INET6 if ":" in remote[0] else socket.AF_INET
    local = (bind_host, 0) if bind_host else None
    try:
        if proto == "udp":
            await loop.create_datagram_endpoint(lambda: transport, local_addr=local, remote_addr=remote, family=family)
        else:
            ctx = (ssl_context or tls_context()) if proto == "tls" else None
            await loop.create_connection(
                lambda: transport,
                remote[0],
                remote[1],
                family=family,
                local_addr=local,
                ssl=ctx,
                server_hostname=(server_name or remote[0]) if ctx else None,
            )
    except (OSError, ssl.SSLError) as exc:
        raise classify(exc) from None
    return transport
