"""One connected UDP socket per (local address, next hop), shared by every probe that talks to that hop.

Each probe gets a `SharedUdpView`: a `Transport` whose `send` goes out on the shared socket and whose
`close` only releases the view. Responses are demultiplexed on the shared socket by the top Via branch and
the CSeq method (RFC 3261 17.1.3) to the view whose transaction sent the request; requests from the far end
(in-dialog BYE, OPTIONS) by Call-ID. Anything else is dropped and counted (`stray`, `unrouted`).

Why a socket per next hop, not one for everything: an ICMP port unreachable on an unconnected socket
names no transaction, and asyncio reports it to nobody. A connected socket receives the error for its own
destination only, so it fails exactly the transactions waiting on that destination: each of them would
have been refused too. A connected socket also lets the kernel pick the source address Via and Contact
carry, and keeps symmetric rport (RFC 3581): we send and receive on one port.

A malformed datagram cannot be parsed for its branch; it is charged to the view whose branch appears in
its raw bytes (the probe then reports bad_response), else counted in `malformed`. A socket without views
closes after `LINGER` seconds; every socket of a loop closes when the loop shuts its async generators down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import AsyncIterator
from typing import cast

from agent.sip.message import SipMessage, SipParseError, parse, redact
from agent.sip.transaction import ClientTransaction
from agent.sip.transport import Addr, MessageHandler, Transport, TransportError, classify

log = logging.getLogger(__name__)

LINGER = 32.0
"""Seconds an unused shared socket stays open (64*T1: late retransmitted responses still find it)."""

_RAW_BRANCH = re.compile(rb"branch=(z9hG4bK[^;,\s]+)", re.IGNORECASE)
SocketKey = tuple[str | None, str, int]


class SharedUdpSocket(asyncio.DatagramProtocol):
    """A connected UDP socket to one next hop and the routing table of the views that use it."""

    def __init__(self, registry: _Registry, key: SocketKey, max_size: int) -> None:
        self.registry = registry
        self.key = key
        self.remote: Addr = (key[1], key[2])
        self.local: Addr = ("0.0.0.0", 0)
        self.max_size = max_size
        self.views: set[SharedUdpView] = set()
        self.branches: dict[str, ClientTransaction] = {}  # by the top Via branch of the request
        self.call_ids: dict[str, SharedUdpView] = {}
        self.stray = 0  # responses that match no live transaction (unknown branch, or wrong CSeq method)
        self.unrouted = 0  # requests from the far end for no dialog of ours
        self.malformed = 0  # unparsable datagrams that carry no branch of ours
        self.received = 0
        self._tx: asyncio.DatagramTransport | None = None
        self._linger: asyncio.TimerHandle | None = None

    # --- asyncio protocol ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport does not subclass DatagramTransport: no isinstance.
        self._tx = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Many probes share this socket, and a peer may flood it: a deeper receive queue keeps the one
            # answer a probe waits for from being dropped behind strays (the kernel caps it at rmem_max).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.local = (str(sockname[0]), int(sockname[1]))

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.received += 1
        try:
            msg = parse(data, max_size=self.max_size)
        except SipParseError as exc:
            self._malformed(data, str(exc))  # dropped, as RFC 3261 18.3 allows
            return
        if msg.status:
            # RFC 3261 17.1.3: the top Via's branch and the CSeq method (validated by the parser) name the
            # transaction; it gets the response directly, as the user agent would have handed it over.
            tx = self.branches.get(msg.branch)
            if tx is None or tx.method != msg.get("cseq").split()[-1]:
                self.stray += 1
                log.debug("stray response %s %s from %s:%s", msg.status, msg.reason, *self.remote)
                return
            view = cast(SharedUdpView, tx.transport)
            if view._debug:
                log.debug("received udp from %s:%s (shared)\n%s", *self.remote, msg.dump())
            tx.receive(msg)
            return
        owner = self.call_ids.get(msg.get("call-id"))
        if owner is None:
            self.unrouted += 1
            log.debug("request %s for no dialog of ours from %s:%s", msg.method, *self.remote)
            return
        owner._deliver(msg)

    def error_received(self, exc: Exception) -> None:
        # The error belongs to this destination: every transaction waiting on it fails alike.
        err = classify(exc)
        for view in list(self.views):
            view._fail(err)

    def connection_lost(self, exc: Exception | None) -> None:
        self._tx = None
        self.registry.forget(self)
        err = classify(exc) if exc is not None else TransportError("connection_failed", "the shared socket closed")
        for view in list(self.views):
            view._fail(err)

    # --- used by the views --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the socket is closed."""
        return self._tx is None or self._tx.is_closing()

    def sendto(self, data: bytes) -> None:
        """Send one datagram to the next hop (the socket is connected)."""
        if self._tx is not None:
            self._tx.sendto(data)

    def attach(self, on_message: MessageHandler) -> SharedUdpView:
        """A new view for one user agent."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        view = SharedUdpView(self, on_message)
        self.views.add(view)
        return view

    def detach(self, view: SharedUdpView) -> None:
        """Release a view and every route to it; linger, then close, once no view is left."""
        self.views.discard(view)
        branches, call_ids = self.branches, self.call_ids
        for tx in view.txs:
            if branches.get(tx.branch) is tx:
                del branches[tx.branch]
        for call_id in view.call_ids:
            if call_ids.get(call_id) is view:
                del call_ids[call_id]
        if not self.views:
            self.start_linger()

    def start_linger(self) -> None:
        """Close after LINGER seconds unless a view is attached meanwhile."""
        if self._linger is None and not self.closed:
            self._linger = self.registry.loop.call_later(LINGER, self._idle)

    def _idle(self) -> None:
        self._linger = None
        if not self.views:
            self.close()

    def close(self) -> None:
        """Close the socket now (its views fail with connection_failed)."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self.registry.forget(self)
        if self._tx is not None and not self._tx.is_closing():
            self._tx.close()

    def _malformed(self, data: bytes, why: str) -> None:
        m = _RAW_BRANCH.search(data)
        tx = self.branches.get(m.group(1).decode("ascii", "replace")) if m else None
        if tx is None:
            self.malformed += 1
            log.debug("dropped malformed SIP from %s:%s: %s", *self.remote, why)
            return
        cast(SharedUdpView, tx.transport)._bad(why)


class SharedUdpView(Transport):
    """One user agent's transport on a shared UDP socket: `close()` releases the view, not the socket."""

    def __init__(self, sock: SharedUdpSocket, on_message: MessageHandler) -> None:
        super().__init__("udp", sock.remote, on_message, sock.max_size)
        self.local = sock.local
        self.socket = sock
        self.txs: list[ClientTransaction] = []
        self.call_ids: list[str] = []
        self._released = False
        self._debug = log.isEnabledFor(logging.DEBUG)

    def track(self, tx: ClientTransaction) -> None:
        """Route responses to `tx` (branch and CSeq method), and requests in its Call-ID, to this view."""
        if self._released:
            return
        self.txs.append(tx)
        self.socket.branches[tx.branch] = tx
        call_id = tx.request.get("call-id")
        if call_id and call_id not in self.call_ids:
            self.call_ids.append(call_id)
            self.socket.call_ids[call_id] = self

    @property
    def closed(self) -> bool:
        """True once released, or when the shared socket closed."""
        return self._released or self.socket.closed

    def send(self, msg: SipMessage | bytes) -> None:
        """Send on the shared socket; silently dropped once released (the transaction times out)."""
        if self._released:
            return
        data = msg if isinstance(msg, bytes) else msg.to_bytes()
        if self._debug:
            log.debug("send udp to %s:%s (shared)\n%s", *self.remote, redact(data.decode(errors="replace")))
        self.socket.sendto(data)

    def close(self) -> None:
        """Release the view: its branches and Call-IDs are forgotten; the socket stays for other probes."""
        if not self._released:
            self._released = True
            self.socket.detach(self)


class _Registry:
    """The shared sockets of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: dict[SocketKey, SharedUdpSocket] = {}
        self.pending: dict[SocketKey, asyncio.Task[SharedUdpSocket]] = {}
        self.closer: AsyncIterator[None] | None = None

    def forget(self, sock: SharedUdpSocket) -> None:
        if self.sockets.get(sock.key) is sock:
            del self.sockets[sock.key]

    def close_all(self) -> None:
        for sock in list(self.sockets.values()):
            sock.close()


_registries: dict[asyncio.AbstractEventLoop, _Registry] = {}


async def _closer(registry: _Registry) -> AsyncIterator[None]:
    # An async generator the loop finalises in shutdown_asyncgens() (asyncio.run, asyncio.Runner): the
    # loop's sockets close with it, and the registry lets the loop go.
    try:
        yield
    finally:
        registry.close_all()
        _registries.pop(registry.loop, None)


async def _registry() -> _Registry:
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        for old in [lp for lp in _registries if lp.is_closed()]:
            del _registries[old]  # a loop closed without shutdown_asyncgens(): drop its (unusable) sockets
        registry = _registries[loop] = _Registry(loop)
        registry.closer = _closer(registry)
        await anext(registry.closer)
    return registry


def shared_sockets() -> list[SharedUdpSocket]:
    """The shared sockets of the running loop (for tests and metrics)."""
    registry = _registries.get(asyncio.get_running_loop())
    return list(registry.sockets.values()) if registry is not None else []


async def acquire(
    remote: Addr, on_message: MessageHandler, *, bind_host: str | None = None, max_size: int
) -> SharedUdpView:
    """A view on the shared socket to `remote` (opened on first use); TransportError on failure."""
    registry = _registries.get(asyncio.get_running_loop()) or await _registry()
    key: SocketKey = (bind_host, remote[0], remote[1])
    sock = registry.sockets.get(key)
    if sock is None or sock.closed:
        sock = await _open(registry, key, max_size)
    return sock.attach(on_message)


async def _open(registry: _Registry, key: SocketKey, max_size: int) -> SharedUdpSocket:
    # Probes that start together wait for one socket instead of each opening their own. The opening runs
    # as its own task so that a probe cancelled meanwhile cancels only its wait, never the others'.
    pending = registry.pending.get(key)
    if pending is None:
        pending = registry.pending[key] = registry.loop.create_task(_create(registry, key, max_size))
        pending.add_done_callback(lambda task: _opened(registry, key, task))
    return await asyncio.shield(pending)


RECEIVE_BUFFER = 4 * 1024 * 1024
"""Bytes asked for the shared socket's receive queue (SO_RCVBUF)."""


def _opened(registry: _Registry, key: SocketKey, task: asyncio.Future[SharedUdpSocket]) -> None:
    registry.pending.pop(key, None)
    if not task.cancelled():
        task.exception()  # retrieved here: every waiter may have been cancelled already


async def _create(registry: _Registry, key: SocketKey, max_size: int) -> SharedUdpSocket:
    sock = SharedUdpSocket(registry, key, max_size)
    bind_host, host, port = key
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    local = (bind_host, 0) if bind_host else None
    try:
        await registry.loop.create_datagram_endpoint(
            lambda: sock, local_addr=local, remote_addr=(host, port), family=family
        )
    except OSError as exc:
        raise classify(exc) from None
    registry.sockets[key] = sock
    sock.start_linger()  # closes again if every probe that wanted it was cancelled meanwhile
    return sock
