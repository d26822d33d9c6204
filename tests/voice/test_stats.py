"""RFC 3550 receive statistics: a hand-computed jitter example, the 16-bit wrap, loss, duplicates, reordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.voice.rtp import parse_rtp
from agent.voice.sender import RtpSender
from agent.voice.stats import ReceiveStats


def test_jitter_matches_a_hand_computed_rfc3550_example() -> None:
    # 20 ms packets (160 timestamp units at 8 kHz). Arrivals 0, 20, 45, 60 ms give transits 0, 0, 40, 0
    # units, so D = 0, 40, 40 and J = 0 -> 40/16 = 2.5 -> 2.5 + (40 - 2.5)/16 = 4.84375 units.
    stats = ReceiveStats(8000)
    for seq, ts, arrival in [(1, 0, 0.0), (2, 160, 0.020), (3, 320, 0.045), (4, 480, 0.060)]:
        stats.update(seq, ts, arrival)
    assert stats.snapshot().jitter_seconds == pytest.approx(4.84375 / 8000, abs=1e-12)


def test_constant_delay_is_no_jitter_even_across_the_timestamp_wrap() -> None:
    stats = ReceiveStats(8000)
    base_ts = 0xFFFFFFFF - 800
    for i in range(20):
        stats.update(i, (base_ts + 160 * i) & 0xFFFFFFFF, 5.0 + 0.02 * i)
    assert stats.snapshot().jitter_seconds == pytest.approx(0.0, abs=1e-9)


def test_sequence_wrap_at_65535_is_not_loss() -> None:
    stats = ReceiveStats()
    seqs = [65530 + i for i in range(12)]  # 65530..65535 then 0..5
    for i, seq in enumerate(seqs):
        stats.update(seq & 0xFFFF, 160 * i, 0.02 * i)
    snap = stats.snapshot()
    assert (snap.received, snap.expected, snap.lost) == (12, 12, 0)
    assert snap.highest_sequence == 65536 + 5


def test_loss_across_the_wrap_is_counted() -> None:
    stats = ReceiveStats()
    for i in range(12):
        if i in (5, 6, 9):  # 65535, 0 and 3 never arrive
            continue
        stats.update((65530 + i) & 0xFFFF, 160 * i, 0.02 * i)
    snap = stats.snapshot()
    assert (snap.expected, snap.lost) == (12, 3)
    assert snap.loss_ratio == pytest.approx(0.25)


def test_duplicates_do_not_hide_loss_and_reordering_is_counted() -> None:
    stats = ReceiveStats()
    order = [1, 2, 4, 3, 3, 6, 7, 7]  # 5 lost, 3 late, 3 and 7 duplicated
    for i, seq in enumerate(order):
        stats.update(seq, 160 * seq, 0.02 * i)
    snap = stats.snapshot()
    assert (snap.received, snap.expected, snap.lost) == (6, 7, 1)
    assert (snap.duplicates, snap.reordered) == (2, 1)


def test_a_late_packet_from_before_the_first_one_widens_the_range() -> None:
    stats = ReceiveStats()
    stats.update(10, 1600, 0.0)
    stats.update(9, 1440, 0.001)
    stats.update(11, 1760, 0.02)
    assert (stats.snapshot().expected, stats.snapshot().lost) == (3, 0)


def test_a_source_restart_resyncs_after_two_sequential_packets() -> None:
    stats = ReceiveStats()
    for i in range(10):
        stats.update(100 + i, 160 * i, 0.02 * i)
    stats.update(40000, 0, 0.3)  # a jump: ignored until confirmed
    assert stats.snapshot().expected == 10
    stats.update(40001, 160, 0.32)
    stats.update(40002, 320, 0.34)
    snap = stats.snapshot()
    assert (snap.received, snap.expected, snap.lost) == (2, 2, 0)


def test_our_sender_wrapping_its_sequence_is_seen_without_loss() -> None:
    sender = RtpSender("pcmu", 0, 101, ssrc=1)
    sender.sequence = 65500
    stats = ReceiveStats()
    for i in range(100):
        (data,) = sender.next_packets(0.02 * i)
        packet = parse_rtp(data)
        stats.update(packet.sequence, packet.timestamp, 0.02 * i)
    snap = stats.snapshot()
    assert (snap.received, snap.expected, snap.lost) == (100, 100, 0)
    assert snap.jitter_seconds == pytest.approx(0.0, abs=1e-9)


def test_clock_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="clock rate must be positive"):
        ReceiveStats(0)


@given(st.integers(0, 0xFFFF), st.lists(st.booleans(), min_size=1, max_size=300))
def test_loss_equals_the_packets_withheld_inside_the_received_range(start: int, keep: list[bool]) -> None:
    stats = ReceiveStats()
    kept = [i for i, k in enumerate(keep) if k]
    for i in kept:
        stats.update((start + i) & 0xFFFF, 160 * i, 0.02 * i)
    snap = stats.snapshot()
    if not kept:
        assert snap.expected == 0
        return
    span = kept[-1] - kept[0] + 1
    assert (snap.expected, snap.lost, snap.received) == (span, span - len(kept), len(kept))
