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
closes after `LINGER` seconds. Who owns the sockets, and closes them all, is a `SipTransportPool`
(agent/sip/pool.py): one per Agent.

An `OptionsPing` (the sip_options probe without credentials) needs no view, user agent or task of its own:
it is a non-INVITE client transaction driven by callbacks. Its response is matched here like any other and
finishes the probe's future in `datagram_received`; one timer handle at a time runs Timer E and the end
(Timer F or the probe's deadline, whichever comes first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Callable
from typing import cast

from agent.sip.message import SipMessage, SipParseError, parse, redact
from agent.sip.transaction import T1, T2, TransactionTimeout
from agent.sip.transport import Addr, MessageHandler, Tracked, Transport, TransportError, classify

log = logging.getLogger(__name__)

LINGER = 32.0
"""Seconds an unused shared socket stays open (64*T1: late retransmitted responses still find it)."""

_RAW_BRANCH = re.compile(rb"branch=(z9hG4bK[^;,\s]+)", re.IGNORECASE)
SocketKey = tuple[str | None, str, int]


class SharedUdpSocket(asyncio.DatagramProtocol):
    """A connected UDP socket to one next hop and the routing table of the views that use it."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        key: SocketKey,
        max_size: int,
        on_closed: Callable[[SharedUdpSocket], None] = lambda sock: None,
    ) -> None:
        self.loop = loop
        self.key = key
        self.on_closed = on_closed
        """Told once the socket closes, so its owner (the pool) forgets it."""
        self.remote: Addr = (key[1], key[2])
        self.local: Addr = ("0.0.0.0", 0)
        self.max_size = max_size
        self.views: set[SharedUdpView] = set()
        self.branches: dict[str, Tracked | OptionsPing] = {}  # by the top Via branch of the request
        self.pings = 0  # OptionsPing transactions in flight (they hold the socket open like views)
        self.last_used = 0.0  # loop time a view or ping was last released (the linger counts from there)
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
            if log.isEnabledFor(logging.DEBUG):
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
        self._fail_all(classify(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self._tx = None
        self.on_closed(self)
        self._fail_all(
            classify(exc) if exc is not None else TransportError("connection_failed", "the shared socket closed")
        )

    def _fail_all(self, err: TransportError) -> None:
        for view in list(self.views):
            view._fail(err)
        if self.pings:
            for tx in list(self.branches.values()):
                if isinstance(tx, OptionsPing):
                    tx.fail(err)

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
        self.released()

    def released(self) -> None:
        """A view or ping let go: the linger counts from now (one timer for the socket, not one per probe)."""
        if not self.views and not self.pings:
            self.last_used = self.loop.time()
            if self._linger is None:
                self.start_linger()

    def start_linger(self) -> None:
        """Close LINGER seconds after the last use unless a view or ping holds the socket then."""
        if self._linger is None and not self.closed:
            self._linger = self.loop.call_at(max(self.last_used, self.loop.time()) + LINGER, self._idle)

    def _idle(self) -> None:
        self._linger = None
        if self.views or self.pings:
            return  # in use: the last release starts the linger again
        if self.loop.time() < self.last_used + LINGER:
            self.start_linger()  # used meanwhile: linger from that last use
        else:
            self.close()

    def close(self) -> None:
        """Close the socket now (its views fail with connection_failed)."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self.on_closed(self)
        if self._tx is not None and not self._tx.is_closing():
            self._tx.close()

    def _malformed(self, data: bytes, why: str) -> None:
        m = _RAW_BRANCH.search(data)
        tx = self.branches.get(m.group(1).decode("ascii", "replace")) if m else None
        if tx is None:
            self.malformed += 1
            log.debug("dropped malformed SIP from %s:%s: %s", *self.remote, why)
            return
        if isinstance(tx, OptionsPing):
            tx.bad(why)
        else:
            cast(SharedUdpView, tx.transport)._bad(why)


class OptionsPing:
    """One OPTIONS client transaction (RFC 3261 17.1.2) on a shared socket, driven by callbacks, not a task.

    `start()` registers the branch, sends, and arms one timer: Timer E retransmits at T1, doubling to T2 (at
    T2 once a provisional came: Proceeding); Timer F (64*T1) or `deadline` (loop time), whichever is first,
    ends it. `waiter` gets the final response, or TransactionTimeout at Timer F, TimeoutError at the
    deadline, or the socket's TransportError. The caller must `close()` it (releases the branch and timer).
    Malformed datagrams that carry its branch are kept in `parse_errors` (the probe reports bad_response).
    """

    __slots__ = (
        "_deadline",
        "_ending",
        "_give_up",
        "_interval",
        "_loop",
        "_open",
        "_t1",
        "_t2",
        "_timer",
        "branch",
        "data",
        "parse_errors",
        "provisional",
        "sock",
        "waiter",
    )  # fmt: skip
    method = "OPTIONS"

    def __init__(
        self, sock: SharedUdpSocket, branch: str, data: bytes, deadline: float, *, t1: float = T1, t2: float = T2
    ) -> None:
        self.sock = sock
        self.branch = branch
        self.data = data
        loop = self._loop = sock.loop
        self.waiter: asyncio.Future[SipMessage] = loop.create_future()
        self.parse_errors: list[str] = []
        self.provisional: SipMessage | None = None
        self._interval = self._t1 = t1
        self._t2 = t2
        self._deadline = deadline
        self._give_up = deadline
        self._ending = False
        self._open = False
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Register the branch, send the request, arm Timer E (and the end)."""
        sock = self.sock
        sock.branches[self.branch] = self
        sock.pings += 1
        self._open = True
        now = self._loop.time()
        self._give_up = min(now + 64 * self._t1, self._deadline)  # Timer F, or the probe's deadline
        self._send()
        self._arm(now)

    def _arm(self, now: float) -> None:
        at = now + self._interval
        if at >= self._give_up:
            at, self._ending = self._give_up, True
        self._timer = self._loop.call_at(at, self._fire)

    def _send(self) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("send udp to %s:%s (shared)\n%s", *self.sock.remote, redact(self.data.decode(errors="replace")))
        self.sock.sendto(self.data)

    def _fire(self) -> None:
        self._timer = None
        if self.waiter.done():
            return
        # A Timer E that fires late (a busy loop) at or after Timer F ends the transaction: no send past F.
        if self._ending or self._loop.time() >= self._give_up:
            if self._give_up < self._deadline:
                self.waiter.set_exception(TransactionTimeout(f"no final response to OPTIONS after {64 * self._t1:g}s"))
            else:
                self.waiter.set_exception(TimeoutError())
            return
        self._send()
        # Timer E doubles up to T2; once Proceeding (a provisional came) it is reset to T2 (RFC 3261 17.1.2.2).
        self._interval = self._t2 if self.provisional is not None else min(self._interval * 2, self._t2)
        self._arm(self._loop.time())

    def receive(self, response: SipMessage) -> None:
        """A response matched to this transaction (branch and CSeq method) by the socket."""
        if self.waiter.done():
            return  # a retransmitted final response
        if response.status < 200:
            self.provisional = response
            return
        self.waiter.set_result(response)
        self._cancel_timer()

    def bad(self, why: str) -> None:
        """A malformed datagram carried our branch."""
        self.parse_errors.append(why)
        log.debug("dropped malformed SIP from %s:%s: %s", *self.sock.remote, why)

    def fail(self, error: TransportError) -> None:
        """The socket failed (ICMP error, closed): the waiter raises it."""
        if not self.waiter.done():
            self.waiter.set_exception(error)
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Stop the timer and release the branch (late responses are then strays)."""
        self._cancel_timer()
        if self._open:
            self._open = False
            sock = self.sock
            if sock.branches.get(self.branch) is self:
                del sock.branches[self.branch]
            sock.pings -= 1
            sock.released()


class SharedUdpView(Transport):
    """One user agent's transport on a shared UDP socket: `close()` releases the view, not the socket."""

    def __init__(self, sock: SharedUdpSocket, on_message: MessageHandler) -> None:
        super().__init__("udp", sock.remote, on_message, sock.max_size)
        self.local = sock.local
        self.socket = sock
        self.txs: list[Tracked] = []
        self.call_ids: list[str] = []
        self._released = False
        self._debug = log.isEnabledFor(logging.DEBUG)

    def track(self, tx: Tracked) -> None:
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


RECEIVE_BUFFER = 4 * 1024 * 1024
"""Bytes asked for the shared socket's receive queue (SO_RCVBUF)."""


async def create_socket(
    loop: asyncio.AbstractEventLoop,
    key: SocketKey,
    max_size: int,
    on_closed: Callable[[SharedUdpSocket], None] = lambda sock: None,
) -> SharedUdpSocket:
    """Open the connected socket `key` names (bind host, next hop); TransportError on failure.

    It starts lingering at once, so it closes again if nobody attaches a view or starts a ping.
    """
    sock = SharedUdpSocket(loop, key, max_size, on_closed)
    bind_host, host, port = key
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    local = (bind_host, 0) if bind_host else None
    try:
        await loop.create_datagram_endpoint(lambda: sock, local_addr=local, remote_addr=(host, port), family=family)
    except OSError as exc:
        raise classify(exc) from None
    sock.start_linger()
    return sock
