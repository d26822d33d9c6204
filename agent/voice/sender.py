"""What the sending side puts on the wire at each 20 ms tick: audio, DTMF (in-band and RFC 4733), RTT markers.

`RtpSender` holds no socket and no timer: `RtpSession` calls `next_packets()` on each paced tick and sends
the datagrams it returns, so the packet sequence can be tested without I/O.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from agent.voice import g711
from agent.voice.g711 import Codec
from agent.voice.rtp import build_rtp
from agent.voice.rtt import RttEstimator
from agent.voice.telephone_event import plan_event
from agent.voice.tones import FRAME_SAMPLES, dtmf_frames, validate_digits


@dataclass(slots=True)
class DtmfTick:
    """One packet interval of a DTMF job: the audio frame (in-band) and the event payload (RFC 4733)."""

    audio: bytes | None
    event: bytes | None
    event_start: bool


@dataclass(slots=True)
class DtmfJob:
    """A queued digit sequence: one `DtmfTick` per packet interval, and a callback when the last one is sent."""

    ticks: list[DtmfTick]
    on_done: Callable[[bool], None] | None = None
    index: int = 0
    event_timestamp: int = 0


def plan_dtmf(
    digits: str, codec: Codec, *, inband: bool, rfc4733: bool, duration: float = 0.1, gap: float = 0.1
) -> list[DtmfTick]:
    """The per-tick plan of a digit sequence: tone frames (if in-band) and event payloads (if RFC 4733)."""
    digits = validate_digits(digits)
    if not (inband or rfc4733):
        raise ValueError("send_dtmf needs inband, rfc4733 or both")
    on = max(1, round(duration / 0.02))
    off = max(1, round(gap / 0.02))
    ticks: list[DtmfTick] = []
    for digit in digits:
        tones = list(dtmf_frames(digit, codec, duration=duration, gap=gap)) if inband else []
        events = plan_event(digit, duration, FRAME_SAMPLES) if rfc4733 else []
        for k in range(max(on + off, len(events))):
            audio = (tones[k] if k < len(tones) else g711.silence(codec)) if inband else None
            event = events[k] if k < len(events) else None
            ticks.append(DtmfTick(audio, event, event_start=k == 0 and rfc4733))
    return ticks


class RtpSender:
    """Builds the datagrams of each tick for one outgoing stream (one SSRC, one sequence space)."""

    def __init__(
        self,
        codec: Codec,
        payload_type: int,
        event_payload_type: int,
        *,
        ssrc: int | None = None,
        rtt: RttEstimator | None = None,
        rtt_every: int = 25,
    ) -> None:
        self.codec = codec
        self.payload_type = payload_type
        self.event_payload_type = event_payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc & 0xFFFFFFFF
        # Random initial sequence and timestamp, as RFC 3550 section 5.1 asks.
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.rtt = rtt
        self.rtt_every = max(1, rtt_every)
        self._silence = g711.silence(codec)
        self._source: Iterator[bytes] | None = None
        self._jobs: deque[DtmfJob] = deque()
        self._ticks = 0
        self._first = True

    def set_codec(self, codec: Codec, payload_type: int) -> None:
        """Send `codec` with `payload_type` from now on (the codec the SDP answer chose)."""
        self.codec, self.payload_type = codec, payload_type
        self._silence = g711.silence(codec)

    @property
    def started(self) -> bool:
        """True once the first packet was built (it carries the marker bit and anchors the timestamps)."""
        return not self._first

    def set_source(self, source: Iterable[bytes] | None) -> None:
        """Frames to send from now on; silence when None or once the source is exhausted."""
        self._source = iter(source) if source is not None else None

    def queue(self, job: DtmfJob) -> None:
        """Append a DTMF job; it starts when the jobs before it are sent."""
        self._jobs.append(job)

    def cancel_jobs(self) -> None:
        """Drop queued DTMF, telling each job it was not sent."""
        while self._jobs:
            job = self._jobs.popleft()
            if job.on_done is not None:
                job.on_done(False)

    def _audio_frame(self) -> bytes:
        if self._source is not None:
            frame = next(self._source, None)
            if frame is not None and len(frame) == FRAME_SAMPLES:
                return frame
            self._source = None  # exhausted or a wrong-sized frame: fall back to silence
        return self._silence

    def next_packets(self, now: float, skipped: int = 0) -> list[bytes]:
        """The datagrams of this tick. `skipped` ticks were missed (the loop stalled): time moves on for them."""
        self.timestamp = (self.timestamp + FRAME_SAMPLES * skipped) & 0xFFFFFFFF
        job = self._jobs[0] if self._jobs else None
        tick = job.ticks[job.index] if job is not None else None
        audio = tick.audio if tick is not None and tick.audio is not None else self._audio_frame()
        if tick is None and self.rtt is not None and self._ticks % self.rtt_every == 0:
            audio = self.rtt.mark(audio, now)
        out = [self._packet(self.payload_type, self.timestamp, audio, self._first)]
        self._first = False
        if job is not None and tick is not None:
            if tick.event_start:
                job.event_timestamp = self.timestamp
            if tick.event is not None:
                out.append(self._packet(self.event_payload_type, job.event_timestamp, tick.event, tick.event_start))
            job.index += 1
            if job.index >= len(job.ticks):
                self._jobs.popleft()
                if job.on_done is not None:
                    job.on_done(True)
        self.timestamp = (self.timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        self._ticks += 1
        return out

    def _packet(self, pt: int, timestamp: int, payload: bytes, marker: bool) -> bytes:
        data = build_rtp(pt, self.sequence, timestamp, self.ssrc, payload, marker)
        self.sequence = (self.sequence + 1) & 0xFFFF
        return data
