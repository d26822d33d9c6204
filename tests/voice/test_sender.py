"""The per-tick packet plan: audio pacing fields, RFC 4733 packets beside in-band tones, RTT markers, and a receiver
that never raises on what arrives."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.clock import SystemClock
from agent.voice.g711 import silence
from agent.voice.pacer import BATCH, Pacer
from agent.voice.receiver import RtpReceiver
from agent.voice.rtp import parse_rtp
from agent.voice.rtt import MAGIC, RttEstimator
from agent.voice.sender import DtmfJob, RtpSender, plan_dtmf
from agent.voice.telephone_event import parse_event


def test_audio_packets_advance_sequence_and_timestamp_by_one_frame() -> None:
    sender = RtpSender("pcma", 8, 101, ssrc=77)
    packets = [parse_rtp(sender.next_packets(0.0)[0]) for _ in range(3)]
    assert [p.marker for p in packets] == [True, False, False]
    assert [(p.sequence - packets[0].sequence) & 0xFFFF for p in packets] == [0, 1, 2]
    assert [(p.timestamp - packets[0].timestamp) & 0xFFFFFFFF for p in packets] == [0, 160, 320]
    assert {p.payload for p in packets} == {silence("pcma")}


def test_skipped_ticks_advance_the_timestamp_but_not_the_sequence() -> None:
    sender = RtpSender("pcmu", 0, 101, ssrc=1)
    first = parse_rtp(sender.next_packets(0.0)[0])
    later = parse_rtp(sender.next_packets(0.1, skipped=3)[0])
    assert (later.sequence - first.sequence) & 0xFFFF == 1
    assert (later.timestamp - first.timestamp) & 0xFFFFFFFF == 4 * 160


def test_a_digit_is_sent_in_band_and_as_events_sharing_one_sequence_space() -> None:
    sender = RtpSender("pcmu", 0, 101, ssrc=5)
    done: list[bool] = []
    sender.queue(DtmfJob(plan_dtmf("8", "pcmu", inband=True, rfc4733=True), done.append))
    packets = [parse_rtp(d) for _ in range(10) for d in sender.next_packets(0.0)]
    events = [p for p in packets if p.payload_type == 101]
    assert len(events) == 7  # 5 updates (100 ms) then the end packet again twice
    assert {p.timestamp for p in events} == {packets[0].timestamp}
    assert [p.marker for p in events] == [True] + [False] * 6
    assert [parse_event(p.payload).end for p in events] == [False] * 4 + [True] * 3
    seqs = [p.sequence for p in packets]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(packets))]
    assert done == [True]


def test_rtt_markers_carry_our_ssrc_and_come_back_as_round_trips() -> None:
    rtt = RttEstimator(ssrc=99)
    sender = RtpSender("pcmu", 0, 101, ssrc=99, rtt=rtt, rtt_every=5)
    payloads = [parse_rtp(sender.next_packets(1.0 + 0.02 * i)[0]).payload for i in range(10)]
    marked = [i for i, p in enumerate(payloads) if p.startswith(MAGIC)]
    assert marked == [0, 5]
    assert rtt.observe(payloads[5], 1.25) == pytest.approx(0.15)
    assert rtt.observe(payloads[5], 1.30) is None  # each marker counts once
    assert RttEstimator(ssrc=100).observe(payloads[0], 2.0) is None  # another session's marker


@given(st.lists(st.binary(max_size=300), max_size=30))
def test_receiver_never_raises_on_arbitrary_datagrams(datagrams: list[bytes]) -> None:
    receiver = RtpReceiver("pcmu", 0, 101, rtt=RttEstimator(1), detect_inband=True, clock=SystemClock())
    for i, data in enumerate(datagrams):
        receiver.on_datagram(data, 0.02 * i)
    assert receiver.packets + receiver.malformed + receiver.rtcp + receiver.unexpected_payload <= len(datagrams)


async def test_pacer_keeps_an_absolute_grid_and_stops_with_its_last_session() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(loop)
    deadlines: list[float] = []
    handle = pacer.register(lambda now, deadline, skipped: deadlines.append(deadline))
    async with asyncio.timeout(5):
        while len(deadlines) < 6:
            await asyncio.sleep(0.02)
    pacer.unregister(handle)
    steps = [round((b - a) / 0.02, 6) for a, b in itertools.pairwise(deadlines)]
    assert all(s == int(s) and s >= 1 for s in steps)  # whole ticks: missed ones are skipped, never drifted
    count = len(deadlines)
    await asyncio.sleep(0.06)
    assert len(deadlines) == count


def test_slots_fill_up_to_a_batch_then_open_the_next_phase_then_balance() -> None:
    loop = asyncio.new_event_loop()
    try:
        pacer = Pacer(loop)
        handles = [pacer.register(lambda now, deadline, skipped: None) for _ in range(BATCH)]
        assert pacer.occupancy == [BATCH, 0, 0, 0]  # a few calls share one wake-up per 20 ms
        more = [pacer.register(lambda now, deadline, skipped: None) for _ in range(3 * BATCH + 8)]
        assert pacer.occupancy == [BATCH + 2] * 4  # 40 sessions: four batches of ten, 5 ms apart
        for h in handles[:3]:
            pacer.unregister(h)
        pacer.register(lambda now, deadline, skipped: None)
        assert pacer.occupancy == [BATCH, BATCH + 2, BATCH + 2, BATCH + 2]  # the least-used slot
        for h in [*handles[3:], *more]:
            pacer.unregister(h)
    finally:
        loop.close()


async def test_pacer_spreads_sessions_over_slots_each_on_its_own_absolute_grid() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(loop)
    n = 4 * BATCH
    seen: dict[int, list[tuple[float, float]]] = {i: [] for i in range(n)}

    def recorder(i: int) -> Callable[[float, float, int], None]:
        return lambda now, deadline, skipped: seen[i].append((now, deadline))

    handles = [pacer.register(recorder(i)) for i in range(n)]
    assert pacer.occupancy == [BATCH] * 4
    async with asyncio.timeout(5):
        while min(len(v) for v in seen.values()) < 6:
            await asyncio.sleep(0.02)
    for h in handles:
        pacer.unregister(h)
    # Each session keeps a grid of whole 20 ms steps, and never runs before its deadline.
    for calls in seen.values():
        deadlines = [d for _, d in calls]
        steps = [round((b - a) / 0.02, 6) for a, b in itertools.pairwise(deadlines)]
        assert all(s == int(s) and s >= 1 for s in steps)
        assert all(now >= d - 1e-6 for now, d in calls)
    # The four phases are a quarter period apart: the first session of each slot, modulo 20 ms.
    origin = seen[0][0][1]
    phases = sorted(round(((seen[i * BATCH][0][1] - origin) % 0.02) * 1000, 3) for i in range(4))
    assert phases == [0.0, 5.0, 10.0, 15.0]
    count = sum(len(v) for v in seen.values())
    await asyncio.sleep(0.06)
    assert sum(len(v) for v in seen.values()) == count  # the timer stopped with the last session
    assert pacer.occupancy == [0, 0, 0, 0]


async def test_a_session_joining_a_full_slot_opens_the_next_phase_on_the_same_grid() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(loop)
    first: list[float] = []
    later: list[float] = []
    a = pacer.register(lambda now, deadline, skipped: first.append(deadline))
    async with asyncio.timeout(5):
        while len(first) < 3:
            await asyncio.sleep(0.01)
    fillers = [pacer.register(lambda now, deadline, skipped: None) for _ in range(BATCH - 1)]
    b = pacer.register(lambda now, deadline, skipped: later.append(deadline))
    assert pacer.occupancy == [BATCH, 1, 0, 0]
    async with asyncio.timeout(5):
        while len(later) < 3:
            await asyncio.sleep(0.01)
    for h in (a, b, *fillers):
        pacer.unregister(h)
    assert round(((later[0] - first[0]) % 0.02) * 1000, 3) == 5.0  # slot 1: 5 ms after slot 0's grid


def test_pacer_needs_a_slot() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="slots must be at least 1"):
            Pacer(loop, slots=0)
    finally:
        loop.close()
