"""Demo only: the demo platform's echo extension, a UAS that answers and plays the caller's RTP back to it.

Signalling: 100 at once, 180 after RING_DELAY, 200 with an SDP answer after ANSWER_DELAY (repeated until the
ACK), BYE and CANCEL answered. Media: each call has its own RTP socket; every packet goes back to where it
came from (symmetric RTP). While `one_way()` is true the caller's audio is lost instead, and the extension
plays its own silence stream: the caller hears audio, but none of its own comes back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.sip.message import SipMessage, SipParseError
from agent.sip.sdp import MediaAnswer, parse_answer
from agent.sip.ua import response_to
from agent.sip.uri import NameAddr
from agent.voice.rtp import RtpParseError, build_rtp, parse_rtp

log = logging.getLogger(__name__)

Addr = tuple[str, int]
Send = Callable[[SipMessage, Addr], None]
RING_DELAY = 0.08
"""Seconds from the INVITE to the 180: the post-dial delay the demo shows."""
ANSWER_DELAY = 0.35
MAX_CALL = 120.0
"""A call whose BYE never comes is dropped after this long (its socket closed)."""
_SILENCE = {"pcmu": 0xFF, "pcma": 0xD5}


class EchoMedia(asyncio.DatagramProtocol):
    """One call's RTP socket: echoes each packet to its source, or (one-way) answers with its own silence."""

    def __init__(self, codec: str, one_way: Callable[[], bool]) -> None:
        self.silence = _SILENCE[codec]
        self.one_way = one_way
        self.ssrc = secrets.randbits(32)
        self.packets = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        if self.transport is None:
            return
        self.packets += 1
        if self.one_way():
            try:
                pkt = parse_rtp(data)
            except RtpParseError:
                return
            if pkt.payload_type not in (0, 8):
                return  # events are not audio: nothing to play back for them
            payload = bytes([self.silence]) * len(pkt.payload)
            data = build_rtp(pkt.payload_type, pkt.sequence, pkt.timestamp, self.ssrc, payload)
        self.transport.sendto(data, addr)

    @property
    def port(self) -> int:
        """The local RTP port."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        """Close the socket."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None


@dataclass(slots=True)
class EchoCall:
    """One call to the echo extension."""

    invite: SipMessage
    addr: Addr
    tag: str
    last: SipMessage | None = None
    media: EchoMedia | None = None
    acked: bool = False
    ended: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class EchoExtension:
    """The echo extension of the demo platform at `host`; `contact` is the platform's own address."""

    def __init__(self, host: str, contact: str, send: Send, one_way: Callable[[], bool]) -> None:
        self.host = host
        self.contact = contact
        self.send = send
        self.one_way = one_way
        self.calls: dict[str, EchoCall] = {}
        self.answered = 0

    async def invite(self, req: SipMessage, addr: Addr) -> None:
        """A new INVITE (already authenticated) or its retransmission."""
        call_id = req.get("call-id")
        known = self.calls.get(call_id)
        if known is not None:
            if known.last is not None and known.invite.branch == req.branch:
                self.send(known.last, addr)
            return
        try:
            offer = parse_answer(req.body)
        except SipParseError as exc:
            self.send(response_to(req, 488, f"Not Acceptable Here ({exc})"[:80]), addr)
            return
        call = EchoCall(req, addr, secrets.token_hex(6))
        self.calls[call_id] = call
        self._reply(call, 100, "Trying")
        loop = asyncio.get_running_loop()
        _, media = await loop.create_datagram_endpoint(
            lambda: EchoMedia(offer.codec, self.one_way), local_addr=(self.host, 0)
        )
        call.media = media
        call.timers.append(loop.call_later(RING_DELAY, self._reply, call, 180, "Ringing"))
        call.timers.append(loop.call_later(ANSWER_DELAY, self._answer, call, offer))
        call.timers.append(loop.call_later(MAX_CALL, self._end, call))

    def _reply(self, call: EchoCall, status: int, reason: str, sdp: bytes = b"") -> None:
        if call.ended:
            return
        resp = response_to(call.invite, status, reason, to_tag=call.tag if status > 100 else None)
        if status > 100:
            resp.add("contact", self.contact)
        if sdp:
            resp.add("content-type", "application/sdp")
            resp.body = sdp
        call.last = resp
        self.send(resp, call.addr)

    def _answer(self, call: EchoCall, offer: MediaAnswer) -> None:
        if call.ended or call.media is None:
            return
        self._reply(call, 200, "OK", answer_sdp(self.host, call.media.port, offer))
        self.answered += 1
        self._repeat(call, 0.5)

    def _repeat(self, call: EchoCall, interval: float) -> None:
        # RFC 3261 13.3.1.4: the 2xx is repeated until the ACK arrives.
        if call.acked or call.ended or interval > 16 or call.last is None:
            return
        self.send(call.last, call.addr)
        call.timers.append(asyncio.get_running_loop().call_later(interval, self._repeat, call, interval * 2))

    def in_dialog(self, req: SipMessage, addr: Addr) -> bool:
        """Handle an ACK, BYE or CANCEL of one of our calls; False when the request is not ours."""
        call = self.calls.get(req.get("call-id"))
        if call is None:
            return False
        if req.method == "ACK":
            call.acked = True
        elif req.method == "CANCEL":
            self.send(response_to(req, 200, "OK", to_tag=call.tag), addr)
            if call.last is None or call.last.status < 200:
                self._reply(call, 487, "Request Terminated")
                self._end(call)
        elif req.method == "BYE":
            self.send(response_to(req, 200, "OK"), addr)
            self._end(call)
        else:
            self.send(response_to(req, 200 if req.method == "OPTIONS" else 501, "OK"), addr)
        return True

    def _end(self, call: EchoCall) -> None:
        call.ended = True
        for timer in call.timers:
            timer.cancel()
        if call.media is not None:
            call.media.close()
        # Keep the entry briefly so a retransmitted BYE still finds its call.
        loop = asyncio.get_running_loop()
        loop.call_later(32.0, self.calls.pop, call.invite.get("call-id"), None)

    def close(self) -> None:
        """End every call."""
        for call in list(self.calls.values()):
            call.ended = True
            for timer in call.timers:
                timer.cancel()
            if call.media is not None:
                call.media.close()
        self.calls.clear()


def answer_sdp(host: str, port: int, offer: MediaAnswer) -> bytes:
    """The echo's SDP answer: the codec the offer prefers, and telephone-event when offered."""
    session = secrets.randbelow(2**31)
    pts = f"{offer.payload_type}" + (f" {offer.event_pt}" if offer.event_pt is not None else "")
    lines = [
        "v=0", f"o=demo {session} {session} IN IP4 {host}", "s=demo echo", f"c=IN IP4 {host}", "t=0 0",
        f"m=audio {port} RTP/AVP {pts}", f"a=rtpmap:{offer.payload_type} {offer.codec.upper()}/8000",
    ]  # fmt: skip
    if offer.event_pt is not None:
        lines += [f"a=rtpmap:{offer.event_pt} telephone-event/8000", f"a=fmtp:{offer.event_pt} 0-16"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


def callee_tag(req: SipMessage) -> str:
    """The To tag of a request ('' for a new one)."""
    try:
        return NameAddr.parse(req.get("to")).tag
    except SipParseError:
        return ""
