"""RtpSession over real UDP sockets on 127.0.0.1: two sessions, an echo peer and an impairment relay."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from agent.voice import RtpSession, classify_audio
from agent.voice.mos import mos
from agent.voice.rtp import build_rtp
from agent.voice.verdict import AudioVerdict
from tests.voice.relay import EchoPeer, Impairment, ImpairmentRelay

LOOPBACK = "127.0.0.1"


@pytest.fixture
async def pair() -> AsyncIterator[tuple[RtpSession, RtpSession]]:
    a, b = RtpSession(LOOPBACK), RtpSession(LOOPBACK)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def _relayed(a: RtpSession, b: RtpSession, relay: ImpairmentRelay) -> None:
    await relay.start(a_addr=(LOOPBACK, a.local_port), b_addr=(LOOPBACK, b.local_port))
    a.set_remote(LOOPBACK, relay.port_a)
    b.set_remote(LOOPBACK, relay.port_b)


async def _wait_packets(session: RtpSession, count: int) -> None:
    async with asyncio.timeout(10):
        while session.stats().packets_received < count:
            await asyncio.sleep(0.02)


async def test_two_sessions_exchange_media_without_loss(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    a.set_remote(LOOPBACK, b.local_port)
    b.set_remote(LOOPBACK, a.local_port)
    a.start_sending()
    b.start_sending()
    await _wait_packets(a, 25)
    await _wait_packets(b, 25)
    a.stop_sending()
    b.stop_sending()
    await asyncio.sleep(0.05)
    sa, sb = a.stats(), b.stats()
    assert sb.packets_received == sa.packets_sent
    assert sa.packets_received == sb.packets_sent
    assert (sa.lost, sb.lost, sa.malformed) == (0, 0, 0)
    assert sb.mos == mos(0.0)
    assert sa.first_packet_at is not None and sa.first_packet_at.tzinfo is not None
    assert sa.send_ticks >= 25 and sa.send_skipped_ticks >= 0
    assert classify_audio(sa.packets_sent, sa.packets_received, sb.packets_received) is AudioVerdict.OK


async def test_dtmf_both_ways_inband_and_rfc4733(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    a.set_remote(LOOPBACK, b.local_port)
    b.set_remote(LOOPBACK, a.local_port)
    a.start_sending()
    b.start_sending()
    sent = await asyncio.gather(a.send_dtmf("19*#"), b.send_dtmf("A0"))
    assert list(sent) == [True, True]
    async with asyncio.timeout(3):
        await b.wait_for_digits("19*#")
        await a.wait_for_digits("A0")
    assert b.received_digits == "19*#"
    assert a.received_digits == "A0"
    assert b.stats().events_received == 4


@pytest.mark.parametrize(("inband", "rfc4733"), [(True, False), (False, True)])
async def test_each_dtmf_method_alone_is_detected(
    pair: tuple[RtpSession, RtpSession], inband: bool, rfc4733: bool
) -> None:
    a, b = pair
    a.set_remote(LOOPBACK, b.local_port)
    assert await a.send_dtmf("37", inband=inband, rfc4733=rfc4733)
    async with asyncio.timeout(3):
        await b.wait_for_digits("37")
    assert b.received_digits == "37"
    assert b.stats().events_received == (2 if rfc4733 else 0)


async def test_symmetric_rtp_latches_to_where_the_far_end_sends_from(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    a.set_remote(LOOPBACK, 9)  # what a wrong SDP (behind NAT) would say: the discard port
    b.set_remote(LOOPBACK, a.local_port)
    b.start_sending()
    async with asyncio.timeout(3):
        await a.wait_for_media()
    assert a.remote == (LOOPBACK, b.local_port)
    a.start_sending()
    await _wait_packets(b, 10)


async def test_malformed_datagrams_are_counted_not_raised(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    junk = [b"", b"\x00", b"\x40" + bytes(20), bytes([0xA0, 0]) + bytes(10) + b"\x09", bytes([0x8F, 0]) + bytes(12)]
    rtcp = bytes([0x81, 201]) + bytes(30)
    short_event = build_rtp(101, 1, 0, 5, b"\x01")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in [*junk, rtcp, short_event, build_rtp(96, 2, 0, 5, b"video")]:
            s.sendto(data, (LOOPBACK, b.local_port))
    a.set_remote(LOOPBACK, b.local_port)
    a.start_sending()
    await _wait_packets(b, 5)
    stats = b.stats()
    # the empty datagram, the too-short, the version-1, bad padding, overlong CSRC list, the short event
    assert stats.malformed == 6
    assert (stats.rtcp_received, stats.unexpected_payload) == (1, 1)
    assert stats.lost == 0


async def test_rtt_from_an_echoing_far_end() -> None:
    echo = await EchoPeer(delay=0.06).start()
    session = RtpSession(LOOPBACK, rtt_interval=0.1)
    try:
        await session.open()
        session.set_remote(LOOPBACK, echo.port)
        session.start_sending()
        async with asyncio.timeout(5):
            while session.stats().rtt_seconds is None or session.stats().packets_received < 20:
                await asyncio.sleep(0.02)
        stats = session.stats()
    finally:
        await session.close()
        await echo.close()
    assert stats.rtt_seconds is not None
    assert 0.06 <= stats.rtt_seconds < 1.0  # never below the injected delay
    assert stats.lost == 0 and stats.mos == mos(0.0, stats.rtt_seconds / 2)


async def test_injected_loss_one_way_is_measured_with_mos(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    relay = ImpairmentRelay(a_to_b=Impairment(drop_ratio=0.1))
    await _relayed(a, b, relay)
    try:
        a.start_sending()
        b.start_sending()
        await _wait_packets(b, 90)  # 100 sent, 10 dropped
        a.stop_sending()
        b.stop_sending()
        await asyncio.sleep(0.1)
        sa, sb = a.stats(), b.stats()
    finally:
        await relay.close()
    # tolerance: the last packets may be dropped after the last one received, which RFC 3550 cannot see
    assert abs(sb.lost - relay.a_to_b.dropped) <= 1
    assert sb.loss_ratio == pytest.approx(0.1, abs=0.02)
    assert sb.mos is not None and sb.mos == pytest.approx(mos(0.1), abs=0.1)
    assert sa.lost == 0 and sa.mos == mos(0.0)


async def test_all_packets_dropped_one_way_is_one_way_audio(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    relay = ImpairmentRelay(a_to_b=Impairment(drop_all=True))
    await _relayed(a, b, relay)
    try:
        a.start_sending()
        b.start_sending()
        await _wait_packets(a, 15)
        sa, sb = a.stats(), b.stats()
    finally:
        await relay.close()
    assert sb.packets_received == 0 and sb.mos is None
    assert classify_audio(sb.packets_sent, sb.packets_received) is AudioVerdict.NO_AUDIO
    assert classify_audio(sa.packets_sent, sa.packets_received, sb.packets_received) is AudioVerdict.ONE_WAY_AUDIO


async def test_duplicates_and_reordering_through_the_relay(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    relay = ImpairmentRelay(a_to_b=Impairment(duplicate_every=7, reorder_every=5))
    await _relayed(a, b, relay)
    try:
        a.start_sending()
        await _wait_packets(b, 40)
        a.stop_sending()
        await asyncio.sleep(0.1)
        stats = b.stats()
    finally:
        await relay.close()
    assert stats.duplicates == relay.a_to_b.duplicated > 0
    assert stats.reordered == relay.a_to_b.reordered > 0
    assert stats.lost == 0


async def test_close_reports_unsent_dtmf_and_is_idempotent() -> None:
    session = RtpSession(LOOPBACK)
    await session.open()
    session.set_remote(LOOPBACK, 9)
    pending = asyncio.ensure_future(session.send_dtmf("123456789"))
    await asyncio.sleep(0.05)
    await session.close()
    assert await pending is False
    await session.close()
    assert not session.sending


async def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        RtpSession("localhost")
    with pytest.raises(ValueError, match="unknown codec"):
        RtpSession(LOOPBACK, codec="g729")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"ptime 0\.03 is not supported"):
        RtpSession(LOOPBACK, ptime=0.03)
    session = RtpSession(LOOPBACK)
    with pytest.raises(RuntimeError, match="not open"):
        session.start_sending()
    await session.open()
    try:
        with pytest.raises(ValueError, match="address family"):
            session.set_remote("::1", 5000)
        with pytest.raises(ValueError, match="'Z' is not a DTMF digit"):
            await session.send_dtmf("1Z")
    finally:
        await session.close()
