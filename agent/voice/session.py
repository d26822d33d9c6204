"""`RtpSession`: one asyncio RTP endpoint sending and receiving G.711 at 20 ms, with symmetric RTP.

Sending is paced by the loop's shared `Pacer` on absolute monotonic deadlines, never `sleep(0.02)` in a loop,
so timer error does not accumulate; each tick's lateness is recorded because it reaches the far end's jitter.
Receiving reads the non-blocking socket straight from the selector and never raises on what arrives:
malformed datagrams, RTCP and unexpected payload types are counted. With `symmetric=True` the session sends
to wherever the far end's first valid RTP packet came from (RFC 4961 symmetric RTP, as NATed phones need).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

from agent.core.clock import Clock, SystemClock
from agent.voice import g711
from agent.voice.g711 import Codec
from agent.voice.media_stats import MediaStats, SendTiming, build_media_stats
from agent.voice.pacer import Pacer
from agent.voice.receiver import RtpReceiver
from agent.voice.rtp import DEFAULT_TELEPHONE_EVENT_PT
from agent.voice.rtt import RttEstimator
from agent.voice.sender import DtmfJob, RtpSender, plan_dtmf

Address = tuple[str, int]
_RECV_BUDGET = 64
"""Datagrams drained per readiness callback, so one flooded socket cannot starve the loop."""


def _family(host: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address; resolve media hosts before opening RTP") from None


class RtpSession:
    """A G.711 RTP endpoint: `await open()`, `set_remote()`, `start_sending()`, `send_dtmf()`, `stats()`."""

    def __init__(
        self,
        local_host: str = "127.0.0.1",
        local_port: int = 0,
        *,
        codec: Codec = "pcmu",
        payload_type: int | None = None,
        telephone_event_pt: int = DEFAULT_TELEPHONE_EVENT_PT,
        ptime: float = 0.02,
        symmetric: bool = True,
        rtt_markers: bool = True,
        rtt_interval: float = 0.5,
        detect_inband: bool = True,
        bpl: float = 25.1,
        dtmf_duration: float = 0.1,
        dtmf_gap: float = 0.1,
        tone_hz: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        if codec not in g711.CODECS:
            raise ValueError(f"unknown codec {codec!r}; expected one of {', '.join(g711.CODECS)}")
        if abs(ptime - 0.02) > 1e-9:
            raise ValueError(f"ptime {ptime} is not supported; G.711 frames here are 20 ms (ptime=0.02)")
        if not 0 <= local_port <= 65535:
            raise ValueError(f"local port {local_port} outside 0..65535")
        self._family = _family(local_host)
        self._local: Address = (local_host, local_port)
        self.codec: Codec = codec
        self.ptime = ptime
        self.symmetric = symmetric
        self.dtmf_duration, self.dtmf_gap, self.bpl = dtmf_duration, dtmf_gap, bpl
        self._clock = clock or SystemClock()
        pt = g711.payload_type(codec) if payload_type is None else payload_type
        self._sender = RtpSender(codec, pt, telephone_event_pt, rtt_every=max(1, round(rtt_interval / ptime)))
        self._rtt = RttEstimator(self._sender.ssrc) if rtt_markers else None
        self._sender.rtt = self._rtt
        self._receiver = RtpReceiver(
            codec, pt, telephone_event_pt, rtt=self._rtt, detect_inband=detect_inband, clock=self._clock,
            tone_hz=tone_hz,
        )  # fmt: skip
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._remote: Address | None = None
        self._latched = False
        self._pacer: Pacer | None = None
        self._tick_handle: int | None = None
        self._timing = SendTiming()
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------------------------

    async def open(self) -> int:
        """Bind the UDP socket and start receiving; return the bound local port."""
        if self._sock is not None:
            return self.local_port
        self._loop = asyncio.get_running_loop()
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(self._local)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._on_readable)
        return self.local_port

    async def close(self) -> None:
        """Stop sending and receiving and release the socket; queued DTMF reports it was not sent."""
        self._closed = True
        self.stop_sending()
        self._sender.cancel_jobs()
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
        self._sock = None

    async def __aenter__(self) -> RtpSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def local_port(self) -> int:
        """The bound UDP port (after `open`)."""
        if self._sock is None:
            raise RuntimeError("RtpSession is not open")
        return int(self._sock.getsockname()[1])

    @property
    def ssrc(self) -> int:
        """Our SSRC."""
        return self._sender.ssrc

    @property
    def remote(self) -> Address | None:
        """Where we send: the SDP address, or the far end's source address once symmetric RTP latched."""
        return self._remote

    def use_codec(self, codec: Codec, payload_type: int | None = None) -> None:
        """Send and decode `codec` (the one the SDP answer chose among those offered), before sending starts."""
        if codec not in g711.CODECS:
            raise ValueError(f"unknown codec {codec!r}; expected one of {', '.join(g711.CODECS)}")
        pt = g711.payload_type(codec) if payload_type is None else payload_type
        self.codec = codec
        self._sender.set_codec(codec, pt)
        self._receiver.set_codec(codec, pt)

    def set_remote(self, host: str, port: int) -> None:
        """Send to host:port (from the far end's SDP); symmetric RTP may re-latch when its packets arrive."""
        if _family(host) != self._family:
            raise ValueError(f"remote {host} is not in the local socket's address family")
        if not 1 <= port <= 65535:
            raise ValueError(f"remote port {port} outside 1..65535")
        self._remote = (host, port)
        self._latched = False

    # --- sending ----------------------------------------------------------------------------------------

    def start_sending(self, source: Iterable[bytes] | None = None) -> None:
        """Send a 160-byte frame from `source` every 20 ms (silence when None or exhausted)."""
        self._sender.set_source(source)
        if self._tick_handle is not None or self._closed:
            return
        self._pacer = self._pacer or Pacer.for_loop(self._require_loop())
        self._tick_handle = self._pacer.register(self._tick)

    def stop_sending(self) -> None:
        """Stop the paced sender (receiving continues)."""
        if self._tick_handle is not None and self._pacer is not None:
            self._pacer.unregister(self._tick_handle)
        self._tick_handle = None

    @property
    def sending(self) -> bool:
        """True while the paced sender runs."""
        return self._tick_handle is not None

    async def send_dtmf(self, digits: str, *, inband: bool = True, rfc4733: bool = True) -> bool:
        """Send digits in-band, as RFC 4733 events or both; True once all were sent, False if closed first."""
        ticks = plan_dtmf(
            digits, self.codec, inband=inband, rfc4733=rfc4733, duration=self.dtmf_duration, gap=self.dtmf_gap
        )
        done: asyncio.Future[bool] = self._require_loop().create_future()

        def finish(sent: bool) -> None:
            if not done.done():
                done.set_result(sent)

        self._sender.queue(DtmfJob(ticks, finish))
        if self._closed:
            self._sender.cancel_jobs()
        elif self._tick_handle is None:
            self.start_sending()
        return await done

    def _tick(self, now: float, deadline: float, skipped: int) -> None:
        if self._sender.started:
            self._timing.record(now - deadline, skipped)
        else:
            self._timing.ticks += 1  # the first packet anchors the stream's timestamps: it cannot be late
        packets = self._sender.next_packets(now, skipped)
        if self._remote is None or self._sock is None:
            return
        for data in packets:
            try:
                self._sock.sendto(data, self._remote)
            except BlockingIOError:
                self._timing.dropped += 1
            except OSError:
                self._timing.errors += 1
            else:
                self._timing.sent += 1

    # --- receiving --------------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(_RECV_BUDGET):
            try:
                data, addr = sock.recvfrom(2048)
            except BlockingIOError:
                return
            except OSError:
                self._receiver.socket_errors += 1
                continue
            arrival = self._loop.time() if self._loop is not None else 0.0
            if self._receiver.on_datagram(data, arrival) and self.symmetric and not self._latched:
                self._remote = (addr[0], addr[1])
                self._latched = True

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("RtpSession is not open; await open() first")
        return self._loop

    # --- results ----------------------------------------------------------------------------------------

    @property
    def received_digits(self) -> str:
        """Digits received in-band (Goertzel) or as RFC 4733 events, each key press once."""
        return self._receiver.digits()

    async def wait_for_digits(self, digits: str) -> None:
        """Wait until `digits` appear in the received digits; bound it with `asyncio.timeout`."""
        await self._receiver.wait(lambda: digits in self.received_digits)

    async def wait_for_media(self) -> None:
        """Wait for the first valid RTP packet; bound it with `asyncio.timeout`."""
        await self._receiver.wait(lambda: self._receiver.first_packet_at is not None)

    def stats(self) -> MediaStats:
        """An immutable snapshot of what was sent and received so far."""
        return build_media_stats(self._timing, self._receiver, self._rtt, self._remote, bpl=self.bpl)
