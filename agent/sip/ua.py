"""The user agent: builds requests, runs client transactions with digest retries, answers the far end.

One `UserAgent` lives for one probe run and talks to one next hop. Incoming requests go to `on_request`
(a UAS can replace it later); the default answers in-dialog BYE and OPTIONS.
"""

from __future__ import annotations

import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.sip.dialog import Dialog
from agent.sip.digest import AuthError, DigestClient
from agent.sip.errors import refused_credentials
from agent.sip.message import MAX_MESSAGE, SipMessage, SipParseError
from agent.sip.resolve import Hop, resolve
from agent.sip.transaction import ClientTransaction, new_branch
from agent.sip.transport import Transport, TransportError, open_transport
from agent.sip.uri import NameAddr, SipUri

if TYPE_CHECKING:
    from agent.sip.pool import SipTransportPool

log = logging.getLogger(__name__)

USER_AGENT = "dialtone"
MAX_AUTH_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the user agent is: its From URI and optional digest credentials."""

    from_uri: str
    username: str = ""
    password: str = ""
    display: str = ""


class UserAgent:
    """A SIP UA bound to one transport for the life of a probe."""

    def __init__(self, transport: Transport, identity: Identity, hop: Hop) -> None:
        self.transport = transport
        self.identity = identity
        self.hop = hop
        self.digest = DigestClient(identity.username, identity.password) if identity.username else None
        self.dialogs: list[Dialog] = []
        self.on_request: Callable[[SipMessage], SipMessage | None] = self._default_uas
        self.on_ack: Callable[[SipMessage], None] | None = None
        """A UAS (agent/sip/uas.py) sets this to see the ACK of the 2xx it sent."""
        self._tx: dict[tuple[str, str], ClientTransaction] = {}
        self._extra: list[Transport] = []
        transport.on_message = self._on_message
        transport.on_error = self._on_error

    @classmethod
    async def connect(
        cls,
        hop: Hop,
        identity: Identity,
        *,
        bind_host: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        pool: SipTransportPool | None = None,
    ) -> UserAgent:
        """Open the transport to `hop` (TLS checks the certificate names hop.server_name); TransportError.

        With a `pool` a UDP hop uses the pool's socket shared by every probe to this hop (a view on it:
        agent/sip/shared_udp.py). Only for user agents that expect no new requests from the far end (a UAS
        needs a socket of its own). TCP and TLS always get a connection of their own.
        """
        if pool is not None and hop.proto == "udp":
            view = await pool.acquire((hop.ip, hop.port), _ignore, bind_host=bind_host, max_size=MAX_MESSAGE)
            return cls(view, identity, hop)
        transport = await open_transport(
            hop.proto,
            (hop.ip, hop.port),
            _ignore,
            bind_host=bind_host,
            ssl_context=ssl_context,
            server_name=hop.server_name,
        )
        return cls(transport, identity, hop)

    def close(self) -> None:
        """Close every transport."""
        self.transport.close()
        for extra in self._extra:
            extra.close()

    # --- building -------------------------------------------------------------------------------------------

    @property
    def contact(self) -> str:
        """Our Contact header value."""
        host, port = self.transport.local
        host = f"[{host}]" if ":" in host else host
        user = SipUri.parse(self.identity.from_uri).user or "dialtone"
        return f"<sip:{user}@{host}:{port};transport={self.transport.proto}>"

    def via(self, branch: str | None = None) -> str:
        """A Via header value for a new transaction, asking for rport (RFC 3581)."""
        host, port = self.transport.local
        host = f"[{host}]" if ":" in host else host
        return f"SIP/2.0/{self.transport.via_proto} {host}:{port};branch={branch or new_branch()};rport"

    def new_request(self, method: str, uri: str, to: str, *, call_id: str | None = None, cseq: int = 1) -> SipMessage:
        """A request out of any dialog, with a fresh From tag and Call-ID."""
        req = SipMessage(method=method, uri=uri)
        req.add("via", self.via())
        req.add("max-forwards", "70")
        from_addr = NameAddr(self.identity.from_uri, self.identity.display, {"tag": secrets.token_hex(6)})
        req.add("from", str(from_addr))
        req.add("to", str(NameAddr(to)))
        req.add("call-id", call_id or f"{secrets.token_hex(12)}@dialtone")
        req.add("cseq", f"{cseq} {method}")
        req.add("user-agent", USER_AGENT)
        return req

    def reissue(self, req: SipMessage) -> SipMessage:
        """The same request with a new branch and the next CSeq (for an authenticated retry)."""
        out = SipMessage(method=req.method, uri=req.uri, headers=list(req.headers), body=req.body)
        out.set("via", self.via())
        out.set("cseq", f"{req.cseq[0] + 1} {req.method}")
        return out

    # --- client transactions --------------------------------------------------------------------------------

    def start(
        self,
        req: SipMessage,
        on_provisional: Callable[[SipMessage], None] | None = None,
        transport: Transport | None = None,
    ) -> ClientTransaction:
        """Create and register a client transaction (call `run()` on it)."""
        transport = transport or self.transport
        tx = ClientTransaction(transport, req, on_provisional=on_provisional)
        self._tx[tx.key] = tx
        if transport.error is not None:
            tx.fail(transport.error)
        return tx

    async def transport_for(self, uri: SipUri) -> Transport:
        """The transport to reach `uri`: ours when it is our next hop, else a new one on the same protocol."""
        hop = (await resolve(uri, self.transport.proto))[0]
        if (hop.ip, hop.port) == self.transport.remote:
            return self.transport
        for extra in self._extra:
            if (hop.ip, hop.port) == extra.remote and not extra.closed:
                return extra
        extra = await open_transport(hop.proto, (hop.ip, hop.port), self._on_message, server_name=hop.server_name)
        extra.on_error = self._on_error
        self._extra.append(extra)
        return extra

    async def request(
        self,
        req: SipMessage,
        on_provisional: Callable[[SipMessage], None] | None = None,
        on_transaction: Callable[[ClientTransaction], None] | None = None,
        transport: Transport | None = None,
    ) -> SipMessage:
        """Run `req` to its final response, answering 401/407 when we have credentials; AuthError on refusal."""
        if self.digest is not None:
            self.digest.new_request()
        for _ in range(MAX_AUTH_ROUNDS + 1):
            tx = self.start(req, on_provisional, transport)
            if on_transaction is not None:
                on_transaction(tx)
            try:
                final = await tx.run()
            finally:
                if req.method != "INVITE":
                    self._tx.pop(tx.key, None)
            if refused_credentials(req, final):
                raise AuthError("auth_failed", f"{final.status} {final.reason}: our credentials were refused", final)
            if final.status not in (401, 407) or self.digest is None:
                return final  # without credentials the caller decides (auth_required, or an expected code)
            self.digest.on_challenge(final)
            req = self.reissue(req)
            self.digest.authorize(req)
        status = f"{final.status} {final.reason}"
        raise AuthError("auth_failed", f"{status}: still challenged after {MAX_AUTH_ROUNDS} answers", final)

    def send_in_dialog(self, dialog: Dialog, method: str) -> SipMessage:
        """Build an in-dialog request with a new Via; the caller sends or runs it."""
        req = dialog.request(method)
        req.headers.insert(0, ("via", self.via()))
        req.add("user-agent", USER_AGENT)
        if method != "ACK":
            req.add("contact", self.contact)
        return req

    def cancel(self, invite: SipMessage) -> SipMessage:
        """The CANCEL of a pending INVITE (RFC 3261 9.1): same branch, same From/To/Call-ID."""
        msg = SipMessage(method="CANCEL", uri=invite.uri)
        msg.add("via", invite.get("via"))
        for route in invite.get_all("route"):
            msg.add("route", route)
        msg.add("max-forwards", "70")
        for name in ("from", "to", "call-id"):
            msg.add(name, invite.get(name))
        msg.add("cseq", f"{invite.cseq[0]} CANCEL")
        return msg

    # --- incoming -------------------------------------------------------------------------------------------

    def _on_error(self, err: TransportError) -> None:
        for tx in list(self._tx.values()):
            tx.fail(err)

    def _on_message(self, msg: SipMessage, transport: Transport) -> None:
        try:
            if msg.is_request:
                self._on_incoming_request(msg, transport)
                return
            key = (msg.branch, msg.cseq[1])
            tx = self._tx.get(key)
            if tx is not None:
                tx.receive(msg)
            elif msg.cseq[1] == "INVITE" and 200 <= msg.status < 300:
                self._reack(msg)
            else:
                log.debug("stray response %s %s", msg.status, msg.reason)
        except SipParseError as exc:
            transport.parse_errors.append(str(exc))

    def _reack(self, response: SipMessage) -> None:
        # A retransmitted 2xx means our ACK was lost: send it again (RFC 3261 13.2.2.4).
        for dialog in self.dialogs:
            if dialog.call_id == response.get("call-id") and dialog.ack is not None:
                (dialog.transport or self.transport).send(dialog.ack)

    def _on_incoming_request(self, req: SipMessage, transport: Transport) -> None:
        if req.method == "ACK":
            if self.on_ack is not None:
                self.on_ack(req)
            return
        response = self.on_request(req)
        if response is not None:
            transport.send(response)

    def _default_uas(self, req: SipMessage) -> SipMessage | None:
        dialog = next((d for d in self.dialogs if d.matches(req)), None)
        if req.method == "BYE" and dialog is not None:
            dialog.ended_by_remote = True
            dialog.ended.set()
            return response_to(req, 200, "OK")
        if req.method == "OPTIONS":
            resp = response_to(req, 200, "OK")
            resp.add("allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
            return resp
        if dialog is None and req.method in ("BYE", "INFO", "UPDATE", "NOTIFY"):
            return response_to(req, 481, "Call/Transaction Does Not Exist")
        return response_to(req, 501, "Not Implemented")


def response_to(req: SipMessage, status: int, reason: str, to_tag: str | None = None) -> SipMessage:
    """A response copying Via, From, To (tagged), Call-ID and CSeq from the request (RFC 3261 8.2.6.2)."""
    resp = SipMessage(status=status, reason=reason)
    for via in req.get_all("via"):
        resp.add("via", via)
    resp.add("from", req.get("from"))
    to = req.get("to")
    if ";tag=" not in to.replace(" ", "").lower():
        to += f";tag={to_tag or secrets.token_hex(6)}"
    resp.add("to", to)
    resp.add("call-id", req.get("call-id"))
    resp.add("cseq", req.get("cseq"))
    resp.add("user-agent", USER_AGENT)
    return resp


def _ignore(msg: SipMessage, transport: Transport) -> None:
    """Placeholder handler until the UserAgent takes the transport over."""
