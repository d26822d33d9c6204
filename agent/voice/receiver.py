"""The receiving half of an RTP session: classify each datagram and feed the statistics and detectors.

`on_datagram` never raises for anything that arrives: malformed packets, RTCP and unknown payload types are
counted. Statistics are kept per SSRC, since a far end that restarts its stream starts a new sequence space.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from agent.core.clock import Clock
from agent.voice import g711
from agent.voice.g711 import Codec
from agent.voice.rtp import PT_CN, RtpParseError, is_rtcp, parse_rtp
from agent.voice.rtt import RttEstimator
from agent.voice.stats import ReceiveStats
from agent.voice.telephone_event import EventReceiver
from agent.voice.tones import DtmfDetector, ToneDetector
from agent.voice.verdict import DigitEvent, merge_digits


class RtpReceiver:
    """Counters, per-SSRC statistics, RTT echoes and DTMF (in-band and RFC 4733) of one incoming stream."""

    def __init__(
        self,
        codec: Codec,
        payload_type: int,
        event_payload_type: int,
        *,
        rtt: RttEstimator | None,
        detect_inband: bool,
        clock: Clock,
        tone_hz: float | None = None,
    ) -> None:
        self._audio_codecs: dict[int, Codec] = {0: "pcmu", 8: "pcma", payload_type: codec}
        self._event_pt = event_payload_type
        self._rtt = rtt
        self._clock = clock
        self._detectors = {c: DtmfDetector(c) for c in g711.CODECS} if detect_inband else {}
        self._tones = {c: ToneDetector(tone_hz, c) for c in g711.CODECS} if tone_hz is not None else {}
        self._events: dict[int, EventReceiver] = {}
        self.streams: dict[int, ReceiveStats] = {}
        self.digit_events: list[DigitEvent] = []
        self.packets = 0
        """Valid RTP packets, duplicates included."""
        self.malformed = 0
        self.rtcp = 0
        self.unexpected_payload = 0
        self.socket_errors = 0
        self.first_packet_at: datetime | None = None
        self.first_packet_monotonic: float | None = None
        self._changed = asyncio.Event()

    def set_codec(self, codec: Codec, payload_type: int) -> None:
        """Decode `payload_type` as `codec` (a dynamic mapping from the SDP; 0 and 8 are always known)."""
        self._audio_codecs[payload_type] = codec

    def on_datagram(self, data: bytes, arrival: float) -> bool:
        """Account one datagram that arrived at `arrival` (monotonic s); True when it was valid RTP."""
        if is_rtcp(data):
            self.rtcp += 1
            return False
        try:
            packet = parse_rtp(data)
        except RtpParseError:
            self.malformed += 1
            return False
        pt = packet.payload_type
        codec = self._audio_codecs.get(pt)
        if codec is None and pt not in (self._event_pt, PT_CN):
            # Neither audio, event nor comfort noise: not our stream (RFC 3550 says ignore it).
            self.unexpected_payload += 1
            return False
        if pt == self._event_pt and not self._on_event(packet.ssrc, packet.timestamp, packet.payload, arrival):
            return False
        stream = self.streams.get(packet.ssrc)
        if stream is None:
            stream = self.streams[packet.ssrc] = ReceiveStats(g711.SAMPLE_RATE)
        stream.update(packet.sequence, packet.timestamp, arrival, jitter=codec is not None or pt == PT_CN)
        self.packets += 1
        if self.first_packet_at is None:
            self.first_packet_at = self._clock.now()
            self.first_packet_monotonic = arrival
            self._changed.set()
        if codec is not None:
            self._on_audio(codec, packet.payload, arrival)
        return True

    def _on_event(self, ssrc: int, timestamp: int, payload: bytes, arrival: float) -> bool:
        receiver = self._events.get(ssrc)
        if receiver is None:
            receiver = self._events[ssrc] = EventReceiver()
        try:
            digit = receiver.feed(timestamp, payload)
        except RtpParseError:
            self.malformed += 1
            return False
        if digit is not None:
            self._add_digit(DigitEvent(digit, arrival, "rfc4733"))
        return True

    def _on_audio(self, codec: Codec, payload: bytes, arrival: float) -> None:
        if self._rtt is not None and self._rtt.observe(payload, arrival) is not None:
            return  # our own marker echoed back: not audio worth analysing
        tone = self._tones.get(codec)
        if tone is not None:
            tone.feed(payload)
        detector = self._detectors.get(codec)
        if detector is not None:
            digit = detector.feed(payload)
            if digit is not None:
                self._add_digit(DigitEvent(digit, arrival, "inband"))

    def _add_digit(self, event: DigitEvent) -> None:
        self.digit_events.append(event)
        self._changed.set()

    @property
    def tone_frames(self) -> int | None:
        """Audio frames that carried the watched test tone; None when no tone is watched."""
        return sum(t.tone_frames for t in self._tones.values()) if self._tones else None

    @property
    def events_received(self) -> int:
        """RFC 4733 events received (each event once, however many packets carried it)."""
        return sum(1 for e in self.digit_events if e.source == "rfc4733")

    def digits(self) -> str:
        """The received digits, an in-band and an RFC 4733 sighting of one key press counted once."""
        return merge_digits(self.digit_events)

    async def wait(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` holds, re-checking on each new digit or first packet (bound it by a timeout)."""
        while not predicate():
            self._changed.clear()
            await self._changed.wait()
