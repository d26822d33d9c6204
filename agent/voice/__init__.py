"""Media measurement for SIP and PSTN test calls: RTP, G.711, DTMF, RFC 3550 statistics, E-model MOS.

The API the probes use::

    session = RtpSession("127.0.0.1", codec="pcmu")      # or "pcma"; payload_type defaults to 0 / 8
    port = await session.open()                          # put it in the SDP offer
    session.set_remote(sdp_host, sdp_port)               # from the answer; symmetric RTP re-latches later
    session.start_sending()                              # silence, or tone_frames(1004, "pcmu"), or frames
    await session.send_dtmf("4711")                      # in-band tones and RFC 4733 events
    async with asyncio.timeout(3):
        await session.wait_for_digits("0815")            # digits the far end sent us
    snap = session.stats()                               # MediaStats: loss, jitter, RTT, MOS, first packet
    verdict = classify_audio(snap.packets_sent, snap.packets_received)   # ok / no_audio / one_way_audio
    await session.close()

Modules: rtp (packets), g711 (companding), stats (RFC 3550 loss and jitter), telephone_event (RFC 4733),
tones (DTMF generation and Goertzel detection), mos (G.107: `mos.mos(loss_ratio, one_way_delay)`),
rtt (echo markers), verdict (one-way audio), sender, receiver and session (the endpoint).
"""

from __future__ import annotations

from agent.voice.g711 import Codec
from agent.voice.media_stats import MediaStats
from agent.voice.rtp import RtpPacket, RtpParseError, build_rtp, parse_rtp
from agent.voice.session import RtpSession
from agent.voice.stats import ReceiveSnapshot, ReceiveStats
from agent.voice.tones import DtmfDetector, detect_digit, dtmf_frames, tone_frames
from agent.voice.verdict import AudioVerdict, classify_audio

__all__ = [
    "AudioVerdict",
    "Codec",
    "DtmfDetector",
    "MediaStats",
    "ReceiveSnapshot",
    "ReceiveStats",
    "RtpPacket",
    "RtpParseError",
    "RtpSession",
    "build_rtp",
    "classify_audio",
    "detect_digit",
    "dtmf_frames",
    "parse_rtp",
    "tone_frames",
]
