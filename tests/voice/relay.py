"""Real UDP peers for media tests, reusable by the SIP and PSTN tests: an impairment relay and an echo.

`ImpairmentRelay` sits between side A and side B on 127.0.0.1. A sends to `port_a`, B sends to `port_b`;
each direction has its own `Impairment` (drop a share of packets evenly or at random, drop all, delay,
duplicate, reorder) and its own counters, so a test compares what was measured with what was injected.
`EchoPeer` sends every datagram back to where it came from, optionally after a delay.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from typing import cast

LOOPBACK = "127.0.0.1"
Address = tuple[str, int]


@dataclass
class Impairment:
    """What happens to one direction's datagrams. `drop_ratio` drops evenly spaced packets (exactly that
    share, deterministic) unless `seed` is set, then at random with that probability."""

    drop_ratio: float = 0.0
    drop_all: bool = False
    delay: float = 0.0
    duplicate_every: int = 0
    reorder_every: int = 0
    seed: int | None = None
    forwarded: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    _seen: int = 0
    _held: bytes | None = None
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_ratio <= 1.0:
            raise ValueError(f"drop_ratio must lie in [0, 1], got {self.drop_ratio}")
        if self.seed is not None:
            self._rng = random.Random(self.seed)

    def _drop(self) -> bool:
        n = self._seen
        self._seen += 1
        if self.drop_all:
            return True
        if self.seed is not None:
            return self._rng.random() < self.drop_ratio
        # Evenly spaced: packet n is dropped when the running share crosses a whole number.
        return math.floor((n + 1) * self.drop_ratio) > math.floor(n * self.drop_ratio)

    def apply(self, data: bytes) -> list[bytes]:
        """The datagrams to forward for one that arrived (none, itself, itself twice, or a held one)."""
        if self._drop():
            self.dropped += 1
            return []
        out = [data]
        if self.reorder_every and self._seen % self.reorder_every == 0 and self._held is None:
            self._held = data
            return []
        if self._held is not None:
            out.append(self._held)  # the held packet goes out after its successor
            self._held = None
            self.reordered += 1
        if self.duplicate_every and self._seen % self.duplicate_every == 0:
            out.append(data)
            self.duplicated += 1
        self.forwarded += len(out)
        return out


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: object) -> None:
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_datagram(data, addr)  # type: ignore[operator]


class ImpairmentRelay:
    """A UDP relay between A (talks to `port_a`) and B (talks to `port_b`), impairing each direction."""

    def __init__(self, a_to_b: Impairment | None = None, b_to_a: Impairment | None = None) -> None:
        self.a_to_b = a_to_b or Impairment()
        self.b_to_a = b_to_a or Impairment()
        self.a_addr: Address | None = None
        self.b_addr: Address | None = None
        self._a: _Side | None = None
        self._b: _Side | None = None
        self.port_a = self.port_b = 0

    async def start(self, a_addr: Address | None = None, b_addr: Address | None = None) -> ImpairmentRelay:
        """Bind both sides on 127.0.0.1; each far address is given or learned from the first datagram."""
        loop = asyncio.get_running_loop()
        self.a_addr, self.b_addr = a_addr, b_addr
        _, self._a = await loop.create_datagram_endpoint(lambda: _Side(self._from_a), local_addr=(LOOPBACK, 0))
        _, self._b = await loop.create_datagram_endpoint(lambda: _Side(self._from_b), local_addr=(LOOPBACK, 0))
        assert self._a.transport is not None and self._b.transport is not None
        self.port_a = self._a.transport.get_extra_info("sockname")[1]
        self.port_b = self._b.transport.get_extra_info("sockname")[1]
        return self

    def _from_a(self, data: bytes, addr: Address) -> None:
        self.a_addr = self.a_addr or addr
        self._forward(self.a_to_b, data, self._b, self.b_addr)

    def _from_b(self, data: bytes, addr: Address) -> None:
        self.b_addr = self.b_addr or addr
        self._forward(self.b_to_a, data, self._a, self.a_addr)

    def _forward(self, imp: Impairment, data: bytes, out: _Side | None, dest: Address | None) -> None:
        if out is None or out.transport is None or dest is None:
            return
        transport = out.transport
        for datagram in imp.apply(data):
            if imp.delay > 0:
                asyncio.get_running_loop().call_later(imp.delay, _send, transport, datagram, dest)
            else:
                transport.sendto(datagram, dest)

    async def close(self) -> None:
        """Release both sockets."""
        for side in (self._a, self._b):
            if side is not None and side.transport is not None:
                side.transport.close()


def _send(transport: asyncio.DatagramTransport, data: bytes, dest: Address) -> None:
    if not transport.is_closing():
        transport.sendto(data, dest)


class EchoPeer:
    """Sends every datagram back to its source after `delay` seconds (an echo test number, in short)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.echoed = 0
        self.port = 0
        self._side: _Side | None = None

    async def start(self) -> EchoPeer:
        """Bind on 127.0.0.1 and start echoing."""
        loop = asyncio.get_running_loop()
        _, self._side = await loop.create_datagram_endpoint(lambda: _Side(self._echo), local_addr=(LOOPBACK, 0))
        assert self._side.transport is not None
        self.port = self._side.transport.get_extra_info("sockname")[1]
        return self

    def _echo(self, data: bytes, addr: Address) -> None:
        assert self._side is not None and self._side.transport is not None
        self.echoed += 1
        if self.delay > 0:
            asyncio.get_running_loop().call_later(self.delay, _send, self._side.transport, data, addr)
        else:
            self._side.transport.sendto(data, addr)

    async def close(self) -> None:
        """Release the socket."""
        if self._side is not None and self._side.transport is not None:
            self._side.transport.close()
