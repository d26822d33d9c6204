"""The SIP transport pool: the UDP sockets shared by the probes of one Agent, and who closes them.

An Agent creates one `SipTransportPool`, hands it to its probes (`ProbeContext.sip_pool`) and closes it in
`stop()`. Two Agents in one process (tests, the benches) never share a socket, a route or a counter, and a
stopped Agent leaves no socket behind. A pool is bound to the event loop it is first used on.

Probes that start together wait for one socket instead of each opening their own. The opening runs as a
task of its own, so a probe cancelled meanwhile cancels only its wait, never the others'.

A pool nobody closes (a probe built without a context, in a test or `dialtone probe`) still lets its
sockets go: they linger out, and they all close when the loop shuts its async generators down
(`asyncio.run` does), so no socket outlives its loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agent.sip.shared_udp import SharedUdpSocket, SharedUdpView, SocketKey, create_socket
from agent.sip.transport import Addr, MessageHandler, TransportError


class SipTransportPool:
    """The shared UDP sockets of one owner, one per (bind host, next hop), on one event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[SocketKey, SharedUdpSocket] = {}
        self._pending: dict[SocketKey, asyncio.Task[SharedUdpSocket]] = {}
        self._guard: AsyncIterator[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once `close()` ran: the pool opens no more sockets."""
        return self._closed

    def sockets(self) -> list[SharedUdpSocket]:
        """The open sockets (for tests and metrics)."""
        return list(self._sockets.values())

    def ready_socket(self, remote: Addr, bind_host: str | None = None) -> SharedUdpSocket | None:
        """The open socket to `remote`, if there is one (no await: the probes' fast path)."""
        sock = self._sockets.get((bind_host, remote[0], remote[1]))
        return None if sock is None or sock.closed else sock

    async def open_socket(self, remote: Addr, *, bind_host: str | None = None, max_size: int) -> SharedUdpSocket:
        """The socket to `remote`, opened if need be; TransportError on failure or once the pool is closed."""
        key: SocketKey = (bind_host, remote[0], remote[1])
        sock = self._sockets.get(key)
        if sock is not None and not sock.closed:
            return sock
        if self._closed:
            raise _closed_error()
        pending = self._pending.get(key)
        if pending is None:
            loop = await self._bind()
            pending = self._pending[key] = loop.create_task(self._open(key, max_size))
            pending.add_done_callback(lambda task: self._opened(key, task))
        return await asyncio.shield(pending)

    async def acquire(
        self, remote: Addr, on_message: MessageHandler, *, bind_host: str | None = None, max_size: int
    ) -> SharedUdpView:
        """A view for one user agent on the socket to `remote` (opened on first use); TransportError."""
        sock = await self.open_socket(remote, bind_host=bind_host, max_size=max_size)
        return sock.attach(on_message)

    def close(self) -> None:
        """Close every socket now (views and pings on them fail with connection_failed) and open no more."""
        self._closed = True
        if self._loop is not None and self._loop.is_closed():
            self._sockets.clear()  # their transports went with the loop
            return
        for task in self._pending.values():
            task.cancel()
        for sock in list(self._sockets.values()):
            sock.close()
        self._sockets.clear()

    async def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            # An async generator the loop finalises in shutdown_asyncgens(): the sockets close with the loop.
            self._guard = self._until_loop_ends()
            await anext(self._guard)
        elif self._loop is not loop:
            raise RuntimeError("a SipTransportPool is bound to the event loop it was first used on")
        return loop

    async def _until_loop_ends(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self.close()

    async def _open(self, key: SocketKey, max_size: int) -> SharedUdpSocket:
        assert self._loop is not None
        sock = await create_socket(self._loop, key, max_size, self._forget)
        if self._closed:  # closed while the socket was being opened
            sock.close()
            raise _closed_error()
        self._sockets[key] = sock
        return sock

    def _opened(self, key: SocketKey, task: asyncio.Future[SharedUdpSocket]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have been cancelled already

    def _forget(self, sock: SharedUdpSocket) -> None:
        if self._sockets.get(sock.key) is sock:
            del self._sockets[sock.key]


def _closed_error() -> TransportError:
    return TransportError("connection_failed", "the SIP transport pool is closed (the agent is stopping)")
