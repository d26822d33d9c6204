"""The answering side of a test call (UAS, RFC 3261 sections 13.3, 9.2 and 15) on a registered extension.

`Uas` takes over a `UserAgent`'s incoming requests: it answers the first new INVITE that passes `screen`
(agent/probes/pstn/screen.py) at once (180, then 200 with an SDP answer, retransmitted on UDP until the ACK),
refuses the others with the screen's status, answers a CANCEL that arrives before that with
200 and 487, turns away any further INVITE with 486, and hangs up with BYE (or is hung up on).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.sip.dialog import Dialog
from agent.sip.message import SipMessage, SipParseError
from agent.sip.sdp import MediaAnswer, parse_answer
from agent.sip.transaction import T1, T2
from agent.sip.ua import UserAgent, response_to
from agent.sip.uri import NameAddr
from agent.voice.g711 import Codec

log = logging.getLogger(__name__)

NORMAL_CLEARING = 'Q.850;cause=16;text="Normal call clearing"'
"""The Reason header (RFC 3326) of a BYE that ends a test call normally."""


@dataclass(slots=True)
class IncomingCall:
    """An INVITE that reached the extension, and the dialog our 2xx created."""

    invite: SipMessage
    dialog: Dialog
    offer: MediaAnswer
    invited_at: float
    codec: Codec
    """The codec we answered with."""
    answered_at: float | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False
    bye: SipMessage | None = None
    """The BYE the caller sent, if it hung up (its Reason header carries the Q.850 cause)."""
    last_response: SipMessage | None = None
    retransmit: asyncio.TimerHandle | None = None


class Uas:
    """Answers INVITEs on `ua` with `answer_sdp`; `on_answer(call)` runs just before the 200 is sent."""

    def __init__(
        self,
        ua: UserAgent,
        answer_sdp: Callable[[str], bytes],
        codecs: Sequence[Codec],
        on_answer: Callable[[IncomingCall], None] | None = None,
        screen: Callable[[SipMessage], tuple[int, str] | None] | None = None,
    ) -> None:
        self.ua = ua
        self.answer_sdp = answer_sdp
        """The SDP answer for the codec chosen (the offer's first that we take too)."""
        self.codecs = tuple(codecs)
        self.on_answer = on_answer
        self.screen = screen
        self.calls: list[IncomingCall] = []
        self.arrived = asyncio.Event()
        self.rejected = 0
        """INVITEs turned away (busy, or an offer we cannot answer)."""
        self._default = ua.on_request
        ua.on_request = self._on_request
        ua.on_ack = self._on_ack

    @property
    def call(self) -> IncomingCall | None:
        """The call we answered (the first INVITE), if any arrived."""
        return self.calls[0] if self.calls else None

    def _on_request(self, req: SipMessage) -> SipMessage | None:
        try:
            has_tag = bool(NameAddr.parse(req.get("to")).tag)
        except SipParseError:
            return response_to(req, 400, "Bad Request")
        if req.method == "INVITE" and not has_tag:
            return self._on_invite(req)
        if req.method == "CANCEL":
            return self._on_cancel(req)
        if req.method == "BYE":
            call = next((c for c in self.calls if c.dialog.matches(req)), None)
            if call is not None:
                call.bye = req
        return self._default(req)

    def _on_invite(self, req: SipMessage) -> SipMessage | None:
        again = next((c for c in self.calls if c.invite.branch == req.branch), None)
        if again is not None:
            if again.last_response is not None:
                self.ua.transport.send(again.last_response)  # a retransmitted INVITE
            return None
        refusal = self.screen(req) if self.screen is not None else None
        if refusal is not None:  # not our call: refused before it can take the answer
            self.rejected += 1
            return response_to(req, *refusal)
        if self.calls:
            self.rejected += 1
            return response_to(req, 486, "Busy Here")
        try:
            offer = parse_answer(req.body)
            contact = NameAddr.parse(req.get("contact")).uri
            from_tag = NameAddr.parse(req.get("from")).tag
        except SipParseError as exc:
            self.rejected += 1
            return response_to(req, 488 if req.body else 400, f"Not Acceptable Here ({exc})"[:80])
        # The offer's order is the caller's preference (RFC 3264 section 6.1): its first codec we take.
        codec = next((ours for theirs in offer.codecs for ours in self.codecs if ours == theirs), None)
        if codec is None:
            self.rejected += 1
            return response_to(req, 488, "Not Acceptable Here")
        tag = secrets.token_hex(6)
        dialog = Dialog(
            call_id=req.get("call-id"), local_tag=tag, remote_tag=from_tag, local=f"{req.get('to')};tag={tag}",
            remote=req.get("from"), remote_target=contact, route_set=req.get_all("record-route"),
            local_cseq=secrets.randbelow(2**16) + 1, invite_cseq=req.cseq[0], transport=self.ua.transport,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        call = IncomingCall(req, dialog, offer, loop.time(), codec)
        self.calls.append(call)
        self.ua.dialogs.append(dialog)
        self.ua.transport.send(self._response(call, 180, "Ringing"))
        if self.on_answer is not None:
            self.on_answer(call)
        ok = self._response(call, 200, "OK")
        ok.add("content-type", "application/sdp")
        ok.body = self.answer_sdp(codec)
        call.answered_at = loop.time()
        call.last_response = ok
        self.ua.transport.send(ok)
        if not self.ua.transport.reliable:
            call.retransmit = loop.call_later(T1, self._retransmit, call, T1, loop.time() + 64 * T1)
        self.arrived.set()
        return None

    def _response(self, call: IncomingCall, status: int, reason: str) -> SipMessage:
        resp = response_to(call.invite, status, reason, to_tag=call.dialog.local_tag)
        for route in call.invite.get_all("record-route"):
            resp.add("record-route", route)  # RFC 3261 12.1.1: the route set goes back in 18x and 2xx
        resp.add("contact", self.ua.contact)
        resp.add("allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        return resp

    def _retransmit(self, call: IncomingCall, interval: float, give_up: float) -> None:
        # RFC 3261 13.3.1.4: the 2xx is repeated (T1 doubling to T2) until the ACK comes, for 64*T1.
        loop = asyncio.get_running_loop()
        if call.acked.is_set() or call.dialog.ended.is_set() or loop.time() >= give_up:
            call.retransmit = None
            return
        if call.last_response is not None:
            self.ua.transport.send(call.last_response)
        interval = min(interval * 2, T2)
        call.retransmit = loop.call_later(interval, self._retransmit, call, interval, give_up)

    def _on_ack(self, req: SipMessage) -> None:
        for call in self.calls:
            if call.dialog.matches(req):
                call.acked.set()
                if call.retransmit is not None:
                    call.retransmit.cancel()
                    call.retransmit = None

    def _on_cancel(self, req: SipMessage) -> SipMessage:
        call = next((c for c in self.calls if c.invite.branch == req.branch), None)
        if call is None:
            return response_to(req, 481, "Call/Transaction Does Not Exist")
        if call.answered_at is None and not call.cancelled:
            # RFC 3261 9.2: 200 to the CANCEL, 487 to the INVITE. Once answered, the CANCEL has no effect.
            call.cancelled = True
            call.dialog.ended.set()
            self.ua.transport.send(response_to(call.invite, 487, "Request Terminated", call.dialog.local_tag))
        return response_to(req, 200, "OK", to_tag=call.dialog.local_tag)

    async def hangup(self, call: IncomingCall, reason: str = NORMAL_CLEARING) -> SipMessage | None:
        """Send BYE (with a Reason header) unless the call already ended; returns the BYE's final response."""
        self._stop(call)
        dialog = call.dialog
        if dialog.ended.is_set() or call.answered_at is None:
            return None
        dialog.ended.set()
        dialog.transport = await self.ua.transport_for(dialog.next_hop())
        bye = self.ua.send_in_dialog(dialog, "BYE")
        bye.add("reason", reason)
        return await self.ua.request(bye, transport=dialog.transport)

    def _stop(self, call: IncomingCall) -> None:
        if call.retransmit is not None:
            call.retransmit.cancel()
            call.retransmit = None

    def close(self) -> None:
        """Stop every retransmission timer (the user agent itself is closed by its owner)."""
        for call in self.calls:
            self._stop(call)
