"""RTP packets (RFC 3550 section 5.1): build and parse, with `RtpParseError` for anything malformed.

Only the fixed header, CSRCs, the header extension (skipped) and padding are handled; that is all a G.711
media stream and RFC 4733 events need. `parse_rtp` never raises anything but `RtpParseError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_SIZE = 12
MAX_DATAGRAM = 1500
"""Larger datagrams are refused: a G.711 frame at 20 ms is 172 bytes with its header."""

PT_PCMU = 0
PT_PCMA = 8
PT_CN = 13
DEFAULT_TELEPHONE_EVENT_PT = 101

_HEADER = struct.Struct("!BBHII")


class RtpParseError(ValueError):
    """A datagram that is not a well-formed RTP packet; the message says which rule it broke."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet: header fields and payload (padding removed, extension skipped)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    def to_bytes(self) -> bytes:
        """The packet on the wire (no padding, no extension)."""
        return build_rtp(
            self.payload_type, self.sequence, self.timestamp, self.ssrc, self.payload, self.marker, self.csrcs
        )


def build_rtp(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
) -> bytes:
    """Serialise an RTP packet; out-of-range fields raise ValueError (they are our own bugs)."""
    if not 0 <= payload_type <= 127:
        raise ValueError(f"payload type {payload_type} outside 0..127")
    if len(csrcs) > 15:
        raise ValueError("at most 15 CSRCs")
    first = (RTP_VERSION << 6) | len(csrcs)
    second = (0x80 if marker else 0) | payload_type
    header = _HEADER.pack(first, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
    if csrcs:
        header += struct.pack(f"!{len(csrcs)}I", *csrcs)
    return header + payload


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet multiplexed on the RTP port (RFC 5761: packet types 192..223)."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one datagram; raise RtpParseError (only) when it is not a well-formed RTP packet."""
    size = len(data)
    if size < HEADER_SIZE:
        raise RtpParseError(f"datagram of {size} bytes is shorter than the 12-byte RTP header")
    if size > MAX_DATAGRAM:
        raise RtpParseError(f"datagram of {size} bytes exceeds {MAX_DATAGRAM}")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpParseError(f"RTP version {first >> 6}, expected 2")
    offset = HEADER_SIZE + 4 * (first & 0x0F)
    if offset > size:
        raise RtpParseError("CSRC list runs past the end of the datagram")
    csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, HEADER_SIZE) if first & 0x0F else ()
    if first & 0x10:
        if offset + 4 > size:
            raise RtpParseError("header extension runs past the end of the datagram")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if offset > size:
            raise RtpParseError("header extension runs past the end of the datagram")
    end = size
    if first & 0x20:
        pad = data[-1]
        if pad == 0 or offset + pad > size:
            raise RtpParseError(f"padding count {pad} is invalid for a {size}-byte datagram")
        end -= pad
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
    )
