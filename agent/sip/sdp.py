"""The SDP (RFC 4566) of a G.711 test call: build the offer, read the answer's address, port and codec."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from agent.sip.message import SipParseError

CODECS = {"pcmu": (0, "PCMU"), "pcma": (8, "PCMA")}
EVENT_PT = 101
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def build_offer(ip: str, port: int, codecs: str | Sequence[str] = ("pcmu", "pcma")) -> bytes:
    """An audio offer (or answer) of G.711 codecs in order of preference and RFC 4733 telephone-event,
    20 ms packets."""
    family = "IP6" if ":" in ip else "IP4"
    chosen = [CODECS[c] for c in ((codecs,) if isinstance(codecs, str) else codecs)]
    session = secrets.randbelow(2**31)
    lines = [
        "v=0",
        f"o=dialtone {session} {session} IN {family} {ip}",
        "s=dialtone",
        f"c=IN {family} {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt, _ in chosen)} {EVENT_PT}",
        *(f"a=rtpmap:{pt} {name}/8000" for pt, name in chosen),
        f"a=rtpmap:{EVENT_PT} telephone-event/8000",
        f"a=fmtp:{EVENT_PT} 0-16",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True, slots=True)
class MediaAnswer:
    """What the far end's SDP answer says: where to send RTP, with which payload type."""

    ip: str
    port: int
    payload_type: int
    codec: str
    event_pt: int | None
    direction: str
    codecs: tuple[str, ...] = ()
    """Every G.711 codec of the stream, in its order (an offer's preference); `codec` is the first."""


def parse_answer(body: bytes) -> MediaAnswer:
    """Read the first audio stream of an SDP answer; SipParseError when absent, rejected or malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("SDP is not UTF-8") from None
    session_ip = media_ip = ""
    port: int | None = None
    fmts: list[int] = []
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    in_audio = False
    for line in text.replace("\r\n", "\n").split("\n"):
        key, eq, value = line.strip().partition("=")
        if not eq:
            continue
        if key == "m":
            if port is not None:
                break  # only the first audio stream is used
            in_audio = value.startswith("audio ")
            if in_audio:
                port, fmts = _media_line(value)
        elif key == "c":
            ip = _connection(value)
            if in_audio:
                media_ip = ip
            elif port is None:
                session_ip = ip
        elif key == "a" and (in_audio or port is None):
            attr, _, rest = value.partition(":")
            if attr == "rtpmap":
                pt, _, enc = rest.partition(" ")
                if _is_number(pt):
                    rtpmap[int(pt)] = enc.split("/")[0].upper()
            elif attr in _DIRECTIONS:
                direction = attr
    return _answer(media_ip or session_ip, port, fmts, rtpmap, direction)


def _is_number(text: str) -> bool:
    # ASCII only: str.isdigit() accepts '²', which int() refuses; ten digits are plenty for ports and types.
    return text.isascii() and text.isdigit() and len(text) <= 10


def _media_line(value: str) -> tuple[int, list[int]]:
    parts = value.split()
    if len(parts) < 4 or not _is_number(parts[1].split("/")[0]) or not all(_is_number(p) for p in parts[3:]):
        raise SipParseError(f"malformed SDP media line {value[:60]!r}")
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SipParseError(f"bad SDP media port {port}")
    return port, [int(p) for p in parts[3:]]


def _connection(value: str) -> str:
    parts = value.split()
    if len(parts) < 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SipParseError(f"malformed SDP connection line {value[:60]!r}")
    ip = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise SipParseError(f"SDP connection address is not an IP address: {ip[:40]!r}") from None
    return ip


def _answer(ip: str, port: int | None, fmts: list[int], rtpmap: dict[int, str], direction: str) -> MediaAnswer:
    if port is None:
        raise SipParseError("SDP answer has no audio stream")
    if port == 0:
        raise SipParseError("SDP answer rejected the audio stream (port 0)")
    if not ip:
        raise SipParseError("SDP answer has no connection address")
    names = {0: "PCMU", 8: "PCMA"}
    g711 = [(pt, name.lower()) for pt in fmts if (name := rtpmap.get(pt, names.get(pt, ""))) in ("PCMU", "PCMA")]
    if not g711:
        raise SipParseError(f"SDP answer has no G.711 codec (payload types {fmts})")
    event = next((p for p in fmts if rtpmap.get(p) == "TELEPHONE-EVENT"), None)
    codecs = tuple(dict.fromkeys(name for _, name in g711))
    return MediaAnswer(ip, port, g711[0][0], g711[0][1], event, direction, codecs)


def payload_type_of(media: MediaAnswer, codec: str) -> int:
    """The payload type `media` gives `codec` (its static one when the stream does not map it otherwise)."""
    return media.payload_type if media.codec == codec else CODECS[codec][0]
