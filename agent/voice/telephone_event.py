"""RFC 4733 telephone-events (DTMF as RTP payload): encoding, the send plan, and the receiver.

An event keeps the RTP timestamp of its start in every packet; the duration grows with each packet; the
first packet has the RTP marker bit; the final packet has the end (E) bit and is sent three times, since
RFC 4733 section 2.5.1.4 relies on that redundancy to survive loss. The receiver reports each event once,
keyed on its timestamp, so retransmissions and redundant end packets are never counted twice.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from agent.voice.rtp import RtpParseError

EVENT_CODES = "0123456789*#ABCD"
"""Event codes 0..15 in order (RFC 4733 section 3.2)."""
END_REPEATS = 3
DEFAULT_VOLUME = 10
"""Power level in -dBm0, as RFC 4733 reports it (10 means -10 dBm0)."""

_EVENT = struct.Struct("!BBH")


class TelephoneEventError(RtpParseError):
    """A telephone-event payload that is too short."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One RFC 4733 event payload."""

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """The DTMF digit of this event, or None for other events (tones, flash)."""
        return EVENT_CODES[self.event] if self.event < len(EVENT_CODES) else None

    def to_bytes(self) -> bytes:
        """The 4-byte payload."""
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF)


def parse_event(payload: bytes) -> TelephoneEvent:
    """Parse the first event block of a payload; raise TelephoneEventError when it is shorter than 4 bytes."""
    if len(payload) < 4:
        raise TelephoneEventError(f"telephone-event payload of {len(payload)} bytes; 4 are needed")
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def event_code(digit: str) -> int:
    """The event code of a DTMF digit; ValueError for anything else."""
    code = EVENT_CODES.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise ValueError(f"{digit!r} is not a DTMF digit; use 0-9, *, #, A-D")
    return code


def plan_event(digit: str, duration: float, frame_samples: int = 160, rate: int = 8000) -> list[bytes]:
    """The payloads of one digit, one per packet interval: growing durations, then the end packet three times.

    The caller sends element k at interval k with the event's start timestamp, and the marker bit on
    element 0 only.
    """
    code = event_code(digit)
    ticks = max(1, round(duration * rate / frame_samples))
    out = [
        TelephoneEvent(code, False, DEFAULT_VOLUME, min(k * frame_samples, 0xFFFF)).to_bytes() for k in range(1, ticks)
    ]
    final = TelephoneEvent(code, True, DEFAULT_VOLUME, min(ticks * frame_samples, 0xFFFF)).to_bytes()
    return out + [final] * END_REPEATS


class EventReceiver:
    """Turns received telephone-event packets into digits, each reported once."""

    __slots__ = ("_ended_key", "_last_key", "ended", "unknown")

    def __init__(self) -> None:
        self._last_key: tuple[int, int] | None = None
        self._ended_key: tuple[int, int] | None = None
        self.ended = 0
        """Events whose end packet arrived (at least one of the three)."""
        self.unknown = 0
        """Events that are not DTMF digits."""

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        """Account one packet; return the digit when it starts a new event. Raises TelephoneEventError."""
        event = parse_event(payload)
        key = (timestamp, event.event)
        if event.end and key != self._ended_key:
            self._ended_key = key
            self.ended += 1
        if key == self._last_key:
            return None
        self._last_key = key
        if event.digit is None:
            self.unknown += 1
        return event.digit
