"""The OPTIONS of a sip_options probe, rendered once: per run only the branch, From tag and Call-ID change.

`UserAgent.new_request` parses and formats every header on every run; a probe that pings one target
every few seconds sends the same request each time but for three random tokens, so the constant headers
are kept as ready (key, value) pairs. The result is an ordinary `SipMessage`, run by the user agent's
client transaction like any other request.

`encode()` renders the same request straight to bytes for the probe's callback path (shared_udp.OptionsPing),
from one format string: the three tokens come from one draw of the CSPRNG pool.
"""

from __future__ import annotations

from agent.sip.message import SipMessage, canonical_name
from agent.sip.transaction import MAGIC, new_branch, random_hex
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
        self._format = ""

    def _render_local(self, host: str, port: int, proto: str) -> None:
        key = (host, port, proto)
        if self._local != key:
            bracketed = f"[{host}]" if ":" in host else host
            self._via = f"SIP/2.0/{proto.upper()} {bracketed}:{port};branch="
            contact = f"<sip:{self._user}@{bracketed}:{port};transport={proto}>"
            self._tail = [("user-agent", USER_AGENT), ("contact", contact), ("accept", "application/sdp")]
            # What SipMessage.to_bytes() writes for request(), with %s for the branch, From tag and Call-ID
            # (every '%' of the fixed text doubled, so that formatting leaves it as it is).
            lines = [
                _fixed(f"OPTIONS {self.uri} SIP/2.0"),
                _fixed(f"Via: {self._via}") + "%s;rport",
                "Max-Forwards: 70",
                _fixed(f"From: {self._from}") + "%s",
                _fixed(f"To: {self._to[1]}"),
                "Call-ID: %s@dialtone",
                "CSeq: 1 OPTIONS",
                *(_fixed(f"{canonical_name(k)}: {v}") for k, v in self._tail),
                "Content-Length: 0",
            ]
            self._format = "\r\n".join(lines) + "\r\n\r\n"
            self._local = key

    def encode(self, host: str, port: int, proto: str = "udp") -> tuple[str, bytes]:
        """(branch, wire bytes) of a new OPTIONS sent from host:port: `request()`'s bytes, built in one step."""
        self._render_local(host, port, proto)
        tokens = random_hex(26)  # 8 bytes of branch, 6 of From tag, 12 of Call-ID: as new_branch() and request()
        branch = MAGIC + tokens[:16]
        return branch, (self._format % (branch, tokens[16:28], tokens[28:])).encode()

    def request(self, ua: UserAgent) -> SipMessage:
        """A new OPTIONS out of any dialog, for `ua`'s transport (Via asks for rport)."""
        transport = ua.transport
        self._render_local(transport.local[0], transport.local[1], transport.proto)
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


def _fixed(text: str) -> str:
    return text.replace("%", "%%")
