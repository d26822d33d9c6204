"""Client transactions (RFC 3261 section 17.1) with the standard timers, bounded by the caller's deadline."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from agent.sip.message import SipMessage
from agent.sip.transport import Transport, TransportError

T1 = 0.5
T2 = 4.0
MAGIC = "z9hG4bK"


_POOL_SIZE = 4096
_pool = b""
_pool_at = _POOL_SIZE


def random_hex(nbytes: int) -> str:
    """Hex of `nbytes` bytes from the OS CSPRNG, drawn from a pool: one getrandom() per 4 KiB, not per token."""
    global _pool, _pool_at
    at = _pool_at
    if at + nbytes > _POOL_SIZE:
        _pool, at = os.urandom(_POOL_SIZE), 0
    _pool_at = at + nbytes
    return _pool[at : at + nbytes].hex()


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie prefix) with 64 random bits."""
    return MAGIC + random_hex(8)


class TransactionTimeout(Exception):
    """Timer B or F fired: no final response."""


class ClientTransaction:
    """One client transaction. `run()` returns the final response; provisionals go to `on_provisional`."""

    def __init__(
        self,
        transport: Transport,
        request: SipMessage,
        *,
        on_provisional: Callable[[SipMessage], None] | None = None,
        t1: float = T1,
        t2: float = T2,
    ) -> None:
        self.transport = transport
        self.request = request
        self.branch = request.branch
        self.method = request.method
        self.key = (self.branch, self.method)
        self.on_provisional = on_provisional
        self.t1, self.t2 = t1, t2
        self.provisional: SipMessage | None = None
        self.final: SipMessage | None = None
        self._waiter: asyncio.Future[bool] | None = None
        self._error: TransportError | None = None
        self._data = request.to_bytes()
        transport.track(self)

    def receive(self, response: SipMessage) -> None:
        """A response matched to this transaction (branch and CSeq method) by the user agent."""
        if self.final is not None:
            if self.method == "INVITE" and response.status >= 300:
                self.transport.send(self.ack_for(response))  # the final response was retransmitted
            return
        if response.status < 200:
            self.provisional = response
            self._wake()
            if self.on_provisional is not None:
                self.on_provisional(response)
            return
        self.final = response
        if self.method == "INVITE" and response.status >= 300:
            # RFC 3261 17.1.1.3: the transaction itself ACKs a failure response, on the INVITE's branch.
            self.transport.send(self.ack_for(response))
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)

    def fail(self, error: TransportError) -> None:
        """The transport failed: `run()` raises it."""
        self._error = error
        self._wake()

    async def run(self) -> SipMessage:
        """Send and retransmit until a final response; TransactionTimeout after 64*T1."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 64 * self.t1  # Timer B (INVITE) and Timer F (non-INVITE)
        interval = self.t1
        self.transport.send(self._data)
        while True:
            if self._error is not None:
                raise self._error
            if self.final is not None:
                return self.final
            now = loop.time()
            if self.method == "INVITE" and self.provisional is not None:
                # Proceeding: no retransmissions, no Timer B; the caller's deadline (or CANCEL) ends it.
                wait: float | None = None
            elif now >= give_up:
                raise TransactionTimeout(f"no final response to {self.method} after {64 * self.t1:g}s")
            elif self.transport.reliable:
                wait = give_up - now
            else:
                wait = min(interval, give_up - now)
            if not await self._wait(loop, wait) and not self.transport.reliable and loop.time() < give_up:
                self.transport.send(self._data)
                # Timer A doubles without bound; Timer E is capped at T2, and at T2 once proceeding.
                if self.method == "INVITE":
                    interval *= 2
                else:
                    interval = self.t2 if self.provisional is not None else min(interval * 2, self.t2)

    async def _wait(self, loop: asyncio.AbstractEventLoop, wait: float | None) -> bool:
        """Wait for a response or a transport error; False when `wait` seconds passed first."""
        # A bare future and one timer handle: asyncio.wait_for would create a task per wait.
        self._waiter = loop.create_future()
        timer = loop.call_later(wait, _expire, self._waiter) if wait is not None else None
        try:
            return await self._waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None

    def ack_for(self, response: SipMessage) -> SipMessage:
        """The ACK for a non-2xx final response (RFC 3261 17.1.1.3)."""
        req = self.request
        ack = SipMessage(method="ACK", uri=req.uri)
        ack.add("via", req.get("via"))
        for route in req.get_all("route"):
            ack.add("route", route)
        ack.add("max-forwards", "70")
        ack.add("from", req.get("from"))
        ack.add("to", response.get("to"))
        ack.add("call-id", req.get("call-id"))
        ack.add("cseq", f"{req.cseq[0]} ACK")
        return ack


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
