"""Round-trip time from a far end that echoes our media (an echo test number, SIPp -rtp_echo, a loopback).

Every so often the sender overwrites the start of one frame with a marker: 6 magic bytes, our SSRC and a
counter. When a payload beginning with the magic and our SSRC comes back, the time since that marker left
is one round trip. Carrying the SSRC means a far end that sends its own markers (another dialtone session)
is never mistaken for an echo. The marker is 14 bytes, under 2 ms of audio, every half second by default.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

MAGIC = b"\x7e\x1d\xa1\x70\x4e\xe5"
_TAIL = struct.Struct("!II")
MARKER_SIZE = len(MAGIC) + _TAIL.size
_KEEP = 64
"""Markers remembered while waiting for their echo (32 s at the default interval)."""


class RttEstimator:
    """Stamps markers into outgoing frames and measures the round trip when they return."""

    __slots__ = ("_counter", "_pending", "_ssrc", "samples")

    def __init__(self, ssrc: int) -> None:
        self._ssrc = ssrc & 0xFFFFFFFF
        self._counter = 0
        self._pending: OrderedDict[int, float] = OrderedDict()
        self.samples: list[float] = []
        """Measured round trips in seconds, in arrival order."""

    def mark(self, frame: bytes, sent_at: float) -> bytes:
        """The frame with a marker written over its start, recorded as sent at `sent_at` (monotonic s)."""
        if len(frame) < MARKER_SIZE:
            return frame
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        self._pending[self._counter] = sent_at
        if len(self._pending) > _KEEP:
            self._pending.popitem(last=False)
        return MAGIC + _TAIL.pack(self._ssrc, self._counter) + frame[MARKER_SIZE:]

    def observe(self, payload: bytes, arrived_at: float) -> float | None:
        """If `payload` is one of our markers coming back, record and return its round trip."""
        if not payload.startswith(MAGIC) or len(payload) < MARKER_SIZE:
            return None
        ssrc, counter = _TAIL.unpack_from(payload, len(MAGIC))
        if ssrc != self._ssrc:
            return None
        sent_at = self._pending.pop(counter, None)
        if sent_at is None:
            return None
        rtt = max(0.0, arrived_at - sent_at)
        self.samples.append(rtt)
        return rtt

    @property
    def rtt(self) -> float | None:
        """The median measured round trip in seconds, or None before any echo came back."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
