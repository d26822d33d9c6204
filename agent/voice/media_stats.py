"""The immutable media snapshot an RTP session reports, and the sender's own timing record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agent.voice.mos import mos as emodel_mos
from agent.voice.stats import ReceiveStats

if TYPE_CHECKING:
    from agent.voice.receiver import RtpReceiver
    from agent.voice.rtt import RttEstimator


_BUCKET = 0.0001
_BUCKETS = 200


class SendTiming:
    """How late each paced tick fired against its absolute deadline; that error reaches the far end's jitter."""

    __slots__ = ("dropped", "errors", "histogram", "max_error", "over_1ms", "sent", "skipped", "sum_error", "ticks")

    def __init__(self) -> None:
        self.ticks = 0
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self.skipped = 0
        self.max_error = 0.0
        self.sum_error = 0.0
        self.over_1ms = 0
        self.histogram = [0] * _BUCKETS
        """Tick errors in 0.1 ms buckets; the last bucket holds everything beyond."""

    def record(self, error: float, skipped: int) -> None:
        """One tick fired `error` seconds after its deadline, after `skipped` missed ticks."""
        self.ticks += 1
        self.skipped += skipped
        error = max(0.0, error)
        self.sum_error += error
        self.max_error = max(self.max_error, error)
        if error > 0.001:
            self.over_1ms += 1
        self.histogram[min(int(error / _BUCKET), _BUCKETS - 1)] += 1

    def percentile(self, q: float) -> float:
        """The tick error (upper bucket edge, seconds) below which a share `q` of ticks fell."""
        wanted, seen = q * self.ticks, 0
        for i, count in enumerate(self.histogram):
            seen += count
            if seen >= wanted and seen:
                return (i + 1) * _BUCKET
        return 0.0


@dataclass(frozen=True, slots=True)
class MediaStats:
    """What one RTP session sent and received, at one moment. Times in seconds, ratios in 0..1."""

    packets_sent: int
    packets_received: int
    expected: int
    lost: int
    loss_ratio: float
    duplicates: int
    reordered: int
    malformed: int
    jitter_seconds: float
    rtt_seconds: float | None
    first_packet_at: datetime | None
    first_packet_monotonic: float | None
    mos: float | None
    """E-model MOS from the loss ratio and half the RTT (0 delay without RTT); None when nothing arrived."""
    events_received: int
    rtcp_received: int
    unexpected_payload: int
    send_errors: int
    send_ticks: int
    send_skipped_ticks: int
    send_error_max_seconds: float
    send_error_mean_seconds: float
    send_error_p99_seconds: float
    send_late_over_1ms: int
    remote: tuple[str, int] | None
    tone_frames: int | None = None
    """Received 20 ms frames that carried the watched test tone (RtpSession(tone_hz=...)); None when unwatched."""

    def values(self, prefix: str = "") -> dict[str, float | int]:
        """Numeric readings for ProbeResult.values (keys as the SIP and PSTN probes publish them)."""
        out: dict[str, float | int] = {
            f"{prefix}rtp_packets_sent": self.packets_sent,
            f"{prefix}rtp_packets_received": self.packets_received,
            f"{prefix}rtp_packets_lost": self.lost,
            f"{prefix}packet_loss_ratio": round(self.loss_ratio, 6),
            f"{prefix}jitter_seconds": round(self.jitter_seconds, 6),
        }
        if self.rtt_seconds is not None:
            out[f"{prefix}round_trip_seconds"] = round(self.rtt_seconds, 6)
        if self.mos is not None:
            out[f"{prefix}mos"] = self.mos
        return out


def _combine(streams: dict[int, ReceiveStats]) -> tuple[int, int, int, int, float]:
    """expected, lost, duplicates, reordered summed over SSRCs; jitter of the busiest SSRC."""
    snaps = [s.snapshot() for s in streams.values()]
    if not snaps:
        return 0, 0, 0, 0, 0.0
    busiest = max(snaps, key=lambda s: s.received)
    return (
        sum(s.expected for s in snaps),
        sum(s.lost for s in snaps),
        sum(s.duplicates for s in snaps),
        sum(s.reordered for s in snaps),
        busiest.jitter_seconds,
    )


def build_media_stats(
    timing: SendTiming,
    receiver: RtpReceiver,
    rtt: RttEstimator | None,
    remote: tuple[str, int] | None,
    *,
    bpl: float,
) -> MediaStats:
    """Assemble the snapshot from the sender's timing, the receiver's counters and the RTT estimate."""
    expected, lost, duplicates, reordered, jitter = _combine(receiver.streams)
    loss_ratio = lost / expected if expected else 0.0
    rtt_seconds = rtt.rtt if rtt is not None else None
    one_way = rtt_seconds / 2 if rtt_seconds is not None else 0.0
    score = emodel_mos(min(1.0, loss_ratio), one_way, bpl=bpl) if expected else None
    return MediaStats(
        packets_sent=timing.sent,
        packets_received=receiver.packets,
        expected=expected,
        lost=lost,
        loss_ratio=loss_ratio,
        duplicates=duplicates,
        reordered=reordered,
        malformed=receiver.malformed,
        jitter_seconds=jitter,
        rtt_seconds=rtt_seconds,
        first_packet_at=receiver.first_packet_at,
        first_packet_monotonic=receiver.first_packet_monotonic,
        mos=score,
        events_received=receiver.events_received,
        rtcp_received=receiver.rtcp,
        unexpected_payload=receiver.unexpected_payload,
        send_errors=timing.errors + timing.dropped,
        send_ticks=timing.ticks,
        send_skipped_ticks=timing.skipped,
        send_error_max_seconds=timing.max_error,
        send_error_mean_seconds=timing.sum_error / timing.ticks if timing.ticks else 0.0,
        send_error_p99_seconds=timing.percentile(0.99),
        send_late_over_1ms=timing.over_1ms,
        remote=remote,
        tone_frames=receiver.tone_frames,
    )
