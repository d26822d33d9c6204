"""TCP probe: connect (optionally TLS), then optional send/expect steps, like blackbox_exporter's tcp."""

from __future__ import annotations

import asyncio
import re
import ssl
from time import perf_counter
from typing import TYPE_CHECKING

from agent.core.clock import Clock, SystemClock
from agent.core.model import KindMetrics, ProbeResult, Target, Value
from agent.net.address import split_host_port
from agent.net.netconn import ProbeFailure, Trace, open_connection
from agent.net.tlsinfo import SSL_EXPIRY, describe_tls_error, peer_cert_expiry, shared_context
from agent.probes.tcp_config import TcpConfig

if TYPE_CHECKING:
    from agent.probes import ProbeContext


class _Stream(asyncio.Protocol):
    """Collects what the server sends (up to a cap) and wakes a waiter on every change."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.closed = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        """Keep at most `cap` bytes: beyond it, expect fails instead of memory growing."""
        self.buf += data[: max(0, self.cap + 1 - len(self.buf))]
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        """Record the close (None for a clean one) so a pending expect fails at once."""
        self.closed, self.error = True, exc
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def expect(self, rx: re.Pattern[str]) -> None:
        """Wait until `rx` matches the unread text, then consume it up to the match's end."""
        while True:
            # Latin-1 maps bytes to characters one to one, so the match end is a byte offset.
            m = rx.search(self.buf.decode("latin-1"))
            if m is not None:
                del self.buf[: m.end()]
                return
            if len(self.buf) > self.cap:
                raise ProbeFailure("expect_failed", f"no match for {rx.pattern!r} in {self.cap} bytes")
            if self.closed:
                if isinstance(self.error, ConnectionError):
                    raise ProbeFailure("connection_reset", f"connection reset while expecting {rx.pattern!r}")
                raise ProbeFailure("expect_failed", f"connection closed before {rx.pattern!r} matched")
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter


class TcpProbe:
    """Probe a TCP service: connect, optional TLS, optional send/expect dialogue."""

    kind = "tcp"

    def __init__(self, config: TcpConfig, context: ProbeContext | None = None) -> None:
        self.config = config
        self._host, self._port = split_host_port(config.address)
        self._steps = [(re.compile(s.expect) if s.expect else None, s) for s in config.query_response]
        clock = context.clock if context is not None else None
        self._clock: Clock = clock if clock is not None else SystemClock()

    async def probe(self, target: Target) -> ProbeResult:
        """Connect and run the steps under target.timeout; a failing target becomes ok=False."""
        started_at = self._clock.now()
        t0 = perf_counter()
        trace = Trace()
        values: dict[str, Value] = {}
        try:
            async with asyncio.timeout(target.timeout):
                await self._run(trace, values)
        except TimeoutError:
            failure = trace.timeout_failure(target.timeout)
        except ProbeFailure as exc:
            failure = exc
        else:
            trace.step("done")
            return ProbeResult(
                target=target.id, kind=self.kind, started_at=started_at, duration=perf_counter() - t0,
                ok=True, phases=trace.phases, values=values,
            )  # fmt: skip
        trace.step("done")
        return ProbeResult.failure(
            target, started_at, perf_counter() - t0, failure.code, failure.message, trace.phases, values
        )

    def _context(self) -> ssl.SSLContext:
        try:
            return shared_context(self.config.tls_config)
        except ValueError as exc:
            raise ProbeFailure("tls_failed", f"tls_config: {exc}") from None

    async def _run(self, trace: Trace, values: dict[str, Value]) -> None:
        cfg = self.config
        server_name = cfg.tls_config.server_name or self._host
        transport, stream = await open_connection(
            self._host, self._port, lambda: _Stream(cfg.max_read_bytes), trace,
            preference=cfg.ip_protocol, fallback=cfg.ip_fallback,
            tls=self._context() if cfg.tls else None, server_hostname=server_name,
        )  # fmt: skip
        try:
            if cfg.tls:
                _expiry(transport, values)
            if self._steps:
                trace.step("query")
            for rx, step in self._steps:
                if rx is not None:
                    await stream.expect(rx)
                if step.send is not None:
                    transport.write(step.send.encode("utf-8"))
                if step.starttls:
                    transport = await self._starttls(transport, stream, server_name, trace)
                    _expiry(transport, values)
        finally:
            transport.abort()

    async def _starttls(
        self, transport: asyncio.Transport, stream: _Stream, server_name: str, trace: Trace
    ) -> asyncio.Transport:
        trace.step("tls")
        loop = asyncio.get_running_loop()
        try:
            upgraded = await loop.start_tls(transport, stream, self._context(), server_hostname=server_name)
        except ssl.SSLError as exc:
            transport.abort()
            raise ProbeFailure("tls_failed", describe_tls_error(exc)) from None
        except OSError as exc:
            transport.abort()
            why = exc.strerror or type(exc).__name__
            raise ProbeFailure("tls_failed", f"handshake_failed: {why}") from None
        assert upgraded is not None
        trace.step("query")
        return upgraded


def _expiry(transport: asyncio.Transport, values: dict[str, Value]) -> None:
    expiry = peer_cert_expiry(transport.get_extra_info("ssl_object"))
    if expiry is not None:
        # The earliest over the connection's certificates (STARTTLS may show a second one).
        earlier = float(values.get("ssl_earliest_cert_expiry", expiry))
        values["ssl_earliest_cert_expiry"] = min(expiry, earlier)


METRICS = KindMetrics(values=(SSL_EXPIRY,))
