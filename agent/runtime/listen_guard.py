"""Descriptors belong to probing first: the listeners get what is left after a reserve, and no more.

A thousand idle or half-sent connections to an unauthenticated listener once took every descriptor under
systemd's default soft limit of 1024, and every probe then failed with "Too many open files": a false
outage. So at start the soft RLIMIT_NOFILE is raised to the hard limit, a reserve is set aside for the
probes, and every listener shares one cap on open connections, in all and per client address; a connection
over a cap is answered 503 and closed at once, before anything is parsed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from aiohttp import web

log = logging.getLogger("dialtone.listen")

BASE_RESERVE = 64
"""Descriptors kept for the process itself: history, its readers, the MQTT session, logs, SNMP engine."""

PER_PROBE = 2
"""Descriptors a probe in flight may hold (a call holds a SIP and an RTP socket)."""

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 34\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections; retry later\n"
)


def raise_nofile() -> tuple[int, int]:
    """Raise the soft descriptor limit to the hard one (as far as the kernel allows); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as exc:  # e.g. above fs.nr_open: keep the soft limit, say so
            log.warning("cannot raise the descriptor limit from %d to %d: %s", soft, want, exc)
    return soft, hard


def open_descriptors() -> int:
    """Descriptors this process has open now (0 where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def connection_cap(max_connections: int, soft_limit: int, probes_in_flight: int, listening: int = 0) -> int:
    """How many listener connections may be open at once: the configured cap, or what the descriptor limit
    leaves after the descriptors open now (less the `listening` connections, which the cap is for) and the
    probes' reserve, whichever is lower (never below 8)."""
    reserve = BASE_RESERVE + PER_PROBE * probes_in_flight
    return max(8, min(max_connections, soft_limit - (open_descriptors() - listening) - reserve))


class _Gate(asyncio.Protocol):
    """Admits a connection under the caps and hands it to aiohttp's handler, or answers 503 and closes it
    (one write, no parsing). It stays in front of the handler to release the slot when the connection ends."""

    def __init__(self, guard: ConnectionGuard, server: web.Server) -> None:
        self.guard, self.server = guard, server
        self.inner: asyncio.Protocol | None = None
        self.client = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.guard.admit(self.client):
            writer = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
            writer.write(_BUSY)
            writer.close()
            return
        self.inner = self.server()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is not None:
            self.guard.release(self.client)
            inner, self.inner = self.inner, None
            inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


@dataclass
class ConnectionGuard:
    """Caps on the connections open across every listener, in all and per client address."""

    limit: int
    per_client: int = 128
    active: int = 0
    refused: int = 0
    clients: dict[str, int] = field(default_factory=dict)

    def admit(self, client: str) -> bool:
        """Take a slot for a new connection from `client`, or count a refusal."""
        held = self.clients.get(client, 0)
        if self.active >= self.limit or held >= self.per_client:
            self.refused += 1
            return False
        self.active += 1
        self.clients[client] = held + 1
        return True

    def release(self, client: str) -> None:
        """Give back the slot of a connection that ended."""
        self.active -= 1
        held = self.clients.pop(client, 1) - 1
        if held > 0:
            self.clients[client] = held

    def factory(self, server: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        """A protocol factory for `loop.create_server` that applies the caps in front of `server`."""
        return lambda: _Gate(self, server)
