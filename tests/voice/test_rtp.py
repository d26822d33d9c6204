"""RTP packet build and parse: round trips, every malformed shape, and a parser that only raises its own error."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.voice.rtp import RtpPacket, RtpParseError, build_rtp, is_rtcp, parse_rtp


def test_round_trip_keeps_every_field() -> None:
    packet = RtpPacket(101, 65535, 0xFFFFFFFF, 0xDEADBEEF, b"\x01\x02\x03\x04", marker=True, csrcs=(7, 9))
    parsed = parse_rtp(packet.to_bytes())
    assert parsed == packet


def test_padding_is_removed_and_extension_skipped() -> None:
    header = bytes([0x80 | 0x20 | 0x10, 0]) + struct.pack("!HII", 1, 2, 3)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\xaa\xbb\xcc\xdd"
    data = header + extension + b"audio" + b"\x00\x00\x03"
    parsed = parse_rtp(data)
    assert parsed.payload == b"audio"
    assert (parsed.sequence, parsed.timestamp, parsed.ssrc) == (1, 2, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00\x00", "shorter than the 12-byte RTP header"),
        (bytes([0x40, 0]) + bytes(10), "RTP version 1, expected 2"),
        (bytes([0x83, 0]) + bytes(10) + bytes(4), "CSRC list runs past"),
        (bytes([0x90, 0]) + bytes(10) + b"\x00\x00", "header extension runs past"),
        (bytes([0x90, 0]) + bytes(10) + b"\x00\x00\x00\x05" + bytes(4), "header extension runs past"),
        (bytes([0xA0, 0]) + bytes(10) + b"\x00", "padding count 0"),
        (bytes([0xA0, 0]) + bytes(10) + b"\x01\x09", "padding count 9"),
        (bytes([0x80, 0]) + bytes(2000), "exceeds 1500"),
    ],
)
def test_malformed_datagrams_name_the_rule_they_break(data: bytes, message: str) -> None:
    with pytest.raises(RtpParseError, match=message):
        parse_rtp(data)


def test_rtcp_is_recognised_on_the_rtp_port() -> None:
    assert is_rtcp(bytes([0x81, 200]) + bytes(26))
    assert not is_rtcp(build_rtp(0, 1, 2, 3, b""))
    assert not is_rtcp(build_rtp(96, 1, 2, 3, b""))


def test_build_refuses_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="payload type 128"):
        build_rtp(128, 0, 0, 0, b"")
    with pytest.raises(ValueError, match="at most 15 CSRCs"):
        build_rtp(0, 0, 0, 0, b"", csrcs=tuple(range(16)))


@given(st.binary(max_size=1600))
def test_parse_never_raises_anything_but_its_own_error(data: bytes) -> None:
    try:
        packet = parse_rtp(data)
    except RtpParseError:
        return
    assert 0 <= packet.payload_type <= 127
    assert len(packet.payload) <= len(data) - 12


@given(
    st.integers(0, 127),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=400),
    st.booleans(),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
)
def test_build_then_parse_round_trips(
    pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool, csrcs: list[int]
) -> None:
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrcs))
    assert parse_rtp(packet.to_bytes()) == packet
