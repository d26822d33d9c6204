"""Receive statistics for one RTP source (RFC 3550 appendix A.1, A.3 and A.8).

Sequence numbers are extended to 32 bits across the 16-bit wrap, so loss counts stay right over long
calls. Duplicates and reordered packets are counted separately; a duplicate never hides a loss.
Jitter is the A.8 interarrival estimate J += (|D| - J) / 16, kept in timestamp units and reported in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

_SEQ_MOD = 1 << 16
_MAX_DROPOUT = 3000
"""A forward jump beyond this is a restart of the source, not loss (RFC 3550 A.1)."""
_MAX_MISORDER = 100
_DUP_WINDOW = 1024
"""How many recent extended sequence numbers are remembered to spot duplicates."""


@dataclass(frozen=True, slots=True)
class ReceiveSnapshot:
    """Immutable counters of one received stream at one moment."""

    received: int
    expected: int
    lost: int
    duplicates: int
    reordered: int
    jitter_seconds: float
    highest_sequence: int
    """The extended highest sequence number received (cycles << 16 | seq)."""

    @property
    def loss_ratio(self) -> float:
        """Share of the expected packets that never arrived (0 when nothing was expected)."""
        return self.lost / self.expected if self.expected else 0.0


class ReceiveStats:
    """Loss, duplicates, reordering and interarrival jitter of one RTP source (one SSRC)."""

    __slots__ = (
        "_bad_seq",
        "_base",
        "_clock_rate",
        "_duplicates",
        "_jitter",
        "_max_ext",
        "_received",
        "_recent",
        "_reordered",
        "_transit",
    )

    def __init__(self, clock_rate: int = 8000) -> None:
        if clock_rate <= 0:
            raise ValueError(f"clock rate must be positive, got {clock_rate}")
        self._clock_rate = clock_rate
        self._base = -1
        self._max_ext = -1
        self._received = 0
        self._duplicates = 0
        self._reordered = 0
        self._recent: set[int] = set()
        self._bad_seq = -1
        self._jitter = 0.0
        self._transit: float | None = None

    def update(self, sequence: int, timestamp: int, arrival: float, *, jitter: bool = True) -> None:
        """Account one packet: its 16-bit sequence, RTP timestamp and arrival time in seconds.

        `jitter=False` counts the packet for loss only (RFC 4733 events repeat their timestamp).
        """
        ext = self._extend(sequence & 0xFFFF)
        if ext is None:
            return
        if ext in self._recent:
            self._duplicates += 1
            return
        self._recent.add(ext)
        if len(self._recent) > _DUP_WINDOW:
            # Trim to half the window so the rebuild runs once per few hundred packets, not on each.
            floor = self._max_ext - _DUP_WINDOW // 2
            self._recent = {s for s in self._recent if s > floor}
        self._received += 1
        self._base = min(self._base, ext)
        if ext < self._max_ext:
            self._reordered += 1
        else:
            self._max_ext = ext
        if jitter:
            self._update_jitter(timestamp, arrival)

    def _extend(self, seq: int) -> int | None:
        """The extended sequence number, or None when the packet is ignored as a stray."""
        if self._max_ext < 0:
            self._base = self._max_ext = seq
            return seq
        max_seq = self._max_ext & 0xFFFF
        cycles = self._max_ext - max_seq
        delta = (seq - max_seq) % _SEQ_MOD
        if delta < _MAX_DROPOUT:
            # In order, possibly with a gap; a wrap past 65535 starts a new cycle.
            return cycles + seq + (_SEQ_MOD if seq < max_seq else 0)
        if delta <= _SEQ_MOD - _MAX_MISORDER:
            # A large jump: RFC 3550 resyncs only when the next packet confirms the new sequence.
            if seq == self._bad_seq:
                self._restart(seq)
                return seq
            self._bad_seq = (seq + 1) % _SEQ_MOD
            return None
        # A late (reordered or duplicate) packet from just before the highest one seen.
        return cycles + seq - (_SEQ_MOD if seq > max_seq else 0)

    def _restart(self, seq: int) -> None:
        self._base = self._max_ext = seq
        self._received = 0
        self._recent = set()
        self._bad_seq = -1
        self._transit = None

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        transit = arrival * self._clock_rate - timestamp
        if self._transit is not None:
            d = transit - self._transit
            # The timestamp difference may cross the 32-bit wrap; fold it back near zero.
            if d > 2**31:
                d -= 2**32
            elif d < -(2**31):
                d += 2**32
            self._jitter += (abs(d) - self._jitter) / 16.0
        self._transit = transit

    def snapshot(self) -> ReceiveSnapshot:
        """The counters now, as an immutable value."""
        expected = self._max_ext - self._base + 1 if self._max_ext >= 0 else 0
        return ReceiveSnapshot(
            received=self._received,
            expected=expected,
            lost=max(0, expected - self._received),
            duplicates=self._duplicates,
            reordered=self._reordered,
            jitter_seconds=self._jitter / self._clock_rate,
            highest_sequence=max(self._max_ext, 0),
        )
