"""INVITE dialogs (RFC 3261 section 12): state from the 2xx, in-dialog requests along the route set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agent.sip.message import SipMessage, SipParseError
from agent.sip.transport import Transport
from agent.sip.uri import NameAddr, SipUri


@dataclass(slots=True)
class Dialog:
    """A confirmed dialog on the caller's side."""

    call_id: str
    local_tag: str
    remote_tag: str
    local: str  # the From header value we send
    remote: str  # the To header value we send (with the far end's tag)
    remote_target: str
    route_set: list[str]
    local_cseq: int
    invite_cseq: int
    ack: SipMessage | None = None
    answer: SipMessage | None = None  # the 2xx that confirmed the dialog (its body is the SDP answer)
    transport: Transport | None = None  # where in-dialog requests go (the next hop of the route set)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by_remote: bool = False

    @classmethod
    def from_response(cls, invite: SipMessage, response: SipMessage) -> Dialog:
        """Build the dialog from the INVITE and its 2xx (RFC 3261 12.1.2); SipParseError when unusable."""
        to = NameAddr.parse(response.get("to"))
        if not to.tag:
            raise SipParseError("2xx to INVITE without a To tag")
        contacts = response.get_all("contact")
        if not contacts:
            raise SipParseError("2xx to INVITE without a Contact")
        target = NameAddr.parse(contacts[0]).uri
        SipUri.parse(target)  # the remote target must be a SIP URI we can route to
        local = NameAddr.parse(invite.get("from"))
        # A UAC reverses Record-Route to get its route set (RFC 3261 12.1.2).
        routes = list(reversed(response.get_all("record-route")))
        number = invite.cseq[0]
        return cls(
            call_id=invite.get("call-id"),
            local_tag=local.tag,
            remote_tag=to.tag,
            local=invite.get("from"),
            remote=response.get("to"),
            remote_target=target,
            route_set=routes,
            local_cseq=number,
            invite_cseq=number,
            answer=response,
        )

    def next_hop(self) -> SipUri:
        """Where in-dialog requests are sent: the first route (loose routing) or the remote target."""
        if self.route_set:
            return SipUri.parse(NameAddr.parse(self.route_set[0]).uri)
        return SipUri.parse(self.remote_target)

    def request(self, method: str) -> SipMessage:
        """An in-dialog request without Via (the user agent adds it); ACK reuses the INVITE's CSeq number."""
        if method == "ACK":
            number = self.invite_cseq
        else:
            self.local_cseq += 1
            number = self.local_cseq
        uri, routes = self.remote_target, list(self.route_set)
        if routes and SipUri.parse(NameAddr.parse(routes[0]).uri).param("lr") is None:
            # Strict router (RFC 3261 12.2.1.1): it becomes the Request-URI and the target goes last.
            uri = NameAddr.parse(routes[0]).uri
            routes = [*routes[1:], f"<{self.remote_target}>"]
        msg = SipMessage(method=method, uri=uri)
        for route in routes:
            msg.add("route", route)
        msg.add("max-forwards", "70")
        msg.add("from", self.local)
        msg.add("to", self.remote)
        msg.add("call-id", self.call_id)
        msg.add("cseq", f"{number} {method}")
        return msg

    def matches(self, request: SipMessage) -> bool:
        """True when a request from the far end belongs to this dialog (Call-ID and both tags)."""
        try:
            to_tag = NameAddr.parse(request.get("to")).tag
            from_tag = NameAddr.parse(request.get("from")).tag
        except SipParseError:
            return False
        return request.get("call-id") == self.call_id and to_tag == self.local_tag and from_tag == self.remote_tag
