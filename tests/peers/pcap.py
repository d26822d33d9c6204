"""Write RTP streams as pcap files for SIPp's `play_pcap_audio` (Ethernet, IPv4, UDP, RTP; 20 ms apart).

SIPp replays the UDP payloads of a capture with the capture's own timing, rewriting addresses and ports, so a
test can make a SIPp answer point play audio of its choosing: a milliwatt tone, say, built by
agent.voice.tones.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

_GLOBAL = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # little-endian, LINKTYPE_ETHERNET


def _checksum(header: bytes) -> int:
    words: tuple[int, ...] = struct.unpack(f"!{len(header) // 2}H", header)
    total = sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes, src_port: int, dst_port: int) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))  # fmt: skip
    struct.pack_into("!H", ip, 10, _checksum(bytes(ip)))
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + bytes(ip) + udp


def write_rtp_pcap(
    path: Path, frames: Iterable[bytes], payload_type: int, *, ssrc: int = 0x1004, lose_every: int = 0
) -> int:
    """Write one RTP stream, a packet per 20 ms G.711 frame; returns the number of packets written.
    With `lose_every` n, every n-th packet is left out, its sequence number and slot unused: a lossy path."""
    out = bytearray(_GLOBAL)
    count = written = 0
    for count, frame in enumerate(frames, start=1):
        seq = count - 1
        if lose_every and count % lose_every == 0:
            continue
        written += 1
        rtp = struct.pack("!BBHII", 0x80, payload_type, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, ssrc) + frame
        packet = _frame(rtp, 6000, 6000)
        usec = seq * 20_000
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(packet), len(packet)) + packet
    path.write_bytes(bytes(out))
    return written
