"""The OPTIONS of a sip_options probe, rendered once: per run only the branch, From tag and Call-ID change.

`UserAgent.new_request` parses and formats every header on every run; a probe that pings one target
every few seconds sends the same request each time but for three random tokens, so the constant headers
are kept as ready (key, value) pairs. The result is an ordinary `SipMessage`, run by the user agent's
client transaction like any other request.
"""

from __future__ import annotations

from agent.sip.message import SipMessage
from agent.sip.transaction import new_branch, random_hex
from agent.sip.ua import USER_AGENT, UserAgent
from agent.sip.uri import NameAddr, SipUri

Header = tuple[str, str]


class OptionsTemplate:
    """What `new_request("OPTIONS", ...)` plus Contact and Accept would build, without re-building it."""

    def __init__(self, uri: str, to: str, from_uri: str, display: str = "") -> None:
        self.uri = uri
        # The same header values UserAgent.new_request writes (a From tag is appended per run).
        self._from = str(NameAddr(from_uri, display)) + ";tag="
        self._to: Header = ("to", str(NameAddr(to)))
        self._user = SipUri.parse(from_uri).user or "dialtone"
        self._tail: list[Header] = []
        self._local: tuple[str, int, str] | None = None
        self._via = ""

    def _render_local(self, ua: UserAgent) -> None:
        transport = ua.transport
        host, port = transport.local
        key = (host, port, transport.proto)
        if self._local != key:
            bracketed = f"[{host}]" if ":" in host else host
            self._via = f"SIP/2.0/{transport.via_proto} {bracketed}:{port};branch="
            contact = f"<sip:{self._user}@{bracketed}:{port};transport={transport.proto}>"
            self._tail = [("user-agent", USER_AGENT), ("contact", contact), ("accept", "application/sdp")]
            self._local = key

    def request(self, ua: UserAgent) -> SipMessage:
        """A new OPTIONS out of any dialog, for `ua`'s transport (Via asks for rport)."""
        self._render_local(ua)
        headers = [
            ("via", f"{self._via}{new_branch()};rport"),
            ("max-forwards", "70"),
            ("from", self._from + random_hex(6)),
            self._to,
            ("call-id", f"{random_hex(12)}@dialtone"),
            ("cseq", "1 OPTIONS"),
            *self._tail,
        ]
        return SipMessage(method="OPTIONS", uri=self.uri, headers=headers)
