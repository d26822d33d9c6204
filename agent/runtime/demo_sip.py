"""Demo only: a small voice platform on one loopback UDP port, so the embedded default shows SIP and calls.

It is built on the project's own SIP and RTP code and stands in for a PBX a newcomer does not have yet:

- OPTIONS: 200 (a keep-alive target);
- REGISTER: a registrar with digest auth (401, MD5, qop=auth) for the users in USERS;
- INVITE to `echo`: digest-authenticated (407), answered by the echo extension (agent/runtime/demo_echo.py);
- INVITE to a DID in DIDS (from the "carrier", unauthenticated): proxied, Record-Routed, to the contact the
  DID's extension registered: the agent's own answering leg in a `pstn_call` loop.

`faults()` says which scheduled fault is on (agent/runtime/demo.py): `calls_unavailable` answers every INVITE with
503 and a Retry-After; `one_way_audio` makes the echo extension lose the caller's audio.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from agent.runtime.demo_auth import DigestServer
from agent.runtime.demo_echo import EchoExtension, callee_tag
from agent.sip.message import SipMessage, SipParseError, parse, split_commas, via_param
from agent.sip.ua import response_to
from agent.sip.uri import NameAddr, SipUri

log = logging.getLogger(__name__)

Addr = tuple[str, int]
REALM = "demo.dialtone"
USERS = {"1000": "demo-1000", "1001": "demo-1001", "1002": "demo-1002"}
"""Demo extensions and their passwords (the shipped config uses them)."""
DIDS = {"+18015550100": "1001"}
"""Demo DIDs and the extension each rings."""
ECHO_USER = "echo"
RETRY_AFTER = 120
MAX_EXPIRES = 3600
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"


@dataclass(frozen=True, slots=True)
class Faults:
    """The demo faults switched on right now."""

    calls_unavailable: bool = False
    one_way_audio: bool = False


@dataclass(slots=True)
class Binding:
    """A registered contact of an extension and the address its REGISTER came from."""

    contact: str
    addr: Addr
    expires_at: float


class DemoSipPlatform(asyncio.DatagramProtocol):
    """The demo platform's UDP endpoint: registrar, OPTIONS, echo extension and DID proxy."""

    def __init__(self, host: str, port: int, faults: Callable[[], Faults]) -> None:
        self.host, self.port = host, port
        self.faults = faults
        self.me = f"{host}:{port}"
        self.auth = DigestServer(REALM, USERS)
        self.bindings: dict[str, Binding] = {}
        self.echo = EchoExtension(host, f"<sip:{ECHO_USER}@{self.me}>", self.send, lambda: faults().one_way_audio)
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = int(transport.get_extra_info("sockname")[1])
        self.me = f"{self.host}:{self.port}"
        self.echo.contact = f"<sip:{ECHO_USER}@{self.me}>"

    def send(self, msg: SipMessage, addr: Addr) -> None:
        """Send one message from the platform's port."""
        if self.transport is not None:
            self.transport.sendto(msg.to_bytes(), addr)

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        try:
            msg = parse(data)
            if msg.is_request:
                self._request(msg, addr)
            else:
                self._response(msg)
        except (ValueError, IndexError) as exc:  # SipParseError is a ValueError; a junk Via can be an IndexError
            log.debug("demo platform: dropped a malformed message from %s:%s: %s", *addr, exc)

    # --- requests -------------------------------------------------------------------------------------------

    def _request(self, req: SipMessage, addr: Addr) -> None:
        _stamp_via(req, addr)
        routes = req.get_all("route")
        if routes and self._is_me(NameAddr.parse(routes[0]).uri):
            req.remove("route")
            for route in routes[1:]:
                req.add("route", route)
            self._forward(req, _target(req.uri))  # loose routing: an in-dialog request of a proxied call
            return
        if req.method == "CANCEL":
            self._cancel(req, addr)
        elif callee_tag(req):
            if not self.echo.in_dialog(req, addr) and req.method != "ACK":
                self.send(response_to(req, 481, "Call/Transaction Does Not Exist"), addr)
        elif req.method == "OPTIONS":
            resp = response_to(req, 200, "OK")
            resp.add("allow", ALLOW)
            self.send(resp, addr)
        elif req.method == "REGISTER":
            self._register(req, addr)
        elif req.method == "INVITE":
            self._invite(req, addr)
        elif req.method != "ACK":
            self.send(response_to(req, 405, "Method Not Allowed"), addr)

    def _register(self, req: SipMessage, addr: Addr) -> None:
        state, user = self.auth.check(req, "authorization")
        if state != "ok":
            # A wrong password or unknown user is challenged again, as Asterisk does: the client gives up.
            resp = response_to(req, 401, "Unauthorized")
            resp.add("www-authenticate", self.auth.challenge(stale=state == "stale"))
            self.send(resp, addr)
            return
        aor_user = SipUri.parse(NameAddr.parse(req.get("to")).uri).user
        if aor_user != user:
            self.send(response_to(req, 403, "Forbidden"), addr)
            return
        contact = req.get("contact")
        expires = _expires(req, contact)
        resp = response_to(req, 200, "OK")
        if expires == 0:
            self.bindings.pop(user, None)
        elif contact and contact != "*":
            loop = asyncio.get_running_loop()
            self.bindings[user] = Binding(NameAddr.parse(contact).uri, addr, loop.time() + expires)
            resp.add("contact", f"<{NameAddr.parse(contact).uri}>;expires={expires}")
        self.send(resp, addr)

    def _invite(self, req: SipMessage, addr: Addr) -> None:
        user = SipUri.parse(req.uri).user
        if user != ECHO_USER and user not in DIDS:
            self.send(response_to(req, 404, "Not Found"), addr)
            return
        if self.faults().calls_unavailable:
            resp = response_to(req, 503, "Service Unavailable")
            resp.add("retry-after", str(RETRY_AFTER))
            self.send(resp, addr)
            return
        if user == ECHO_USER:
            state, _ = self.auth.check(req, "proxy-authorization")
            if state != "ok":
                resp = response_to(req, 407, "Proxy Authentication Required")
                resp.add("proxy-authenticate", self.auth.challenge(stale=state == "stale"))
                self.send(resp, addr)
            else:
                task = asyncio.get_running_loop().create_task(self.echo.invite(req, addr))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return
        binding = self._binding(DIDS[user])
        if binding is None:
            self.send(response_to(req, 480, "Temporarily Unavailable"), addr)
            return
        log.debug("demo platform: DID %s rings extension %s", user, DIDS[user])
        self.send(response_to(req, 100, "Trying"), addr)
        req.uri = binding.contact
        # Ours is the top Record-Route (RFC 3261 16.6 step 4): in-dialog requests come back through us.
        at = next((i for i, (k, _) in enumerate(req.headers) if k == "record-route"), len(req.headers))
        req.headers.insert(at, ("record-route", f"<sip:{self.me};lr>"))
        self._forward(req, binding.addr)

    def _binding(self, extension: str) -> Binding | None:
        binding = self.bindings.get(extension)
        if binding is not None and binding.expires_at < asyncio.get_running_loop().time():
            del self.bindings[extension]
            return None
        return binding

    def _cancel(self, req: SipMessage, addr: Addr) -> None:
        if self.echo.in_dialog(req, addr):
            return
        user = SipUri.parse(req.uri).user
        binding = self._binding(DIDS.get(user, ""))
        self.send(response_to(req, 200 if binding else 481, "OK" if binding else "Call/Transaction Does Not Exist"),
                  addr)  # fmt: skip
        if binding is not None:
            req.uri = binding.contact
            self._forward(req, binding.addr)

    def _forward(self, req: SipMessage, to: Addr | None) -> None:
        """Stateless forwarding (RFC 3261 16.11): our Via on top, its branch derived from the incoming one."""
        if to is None:
            if req.method != "ACK":
                self.send(response_to(req, 404, "Not Found"), _reply_addr(req.get("via")))
            return
        hops = int(req.get("max-forwards", "70") or 70)
        if hops <= 0:
            self.send(response_to(req, 483, "Too Many Hops"), _reply_addr(req.get("via")))
            return
        req.set("max-forwards", str(hops - 1))
        # CANCEL and a non-2xx ACK carry the INVITE's branch, so they get the same derived branch as it did.
        key = req.branch + ("INVITE" if req.method in ("CANCEL", "ACK") else req.method)
        branch = "z9hG4bK" + hashlib.sha256(key.encode()).hexdigest()[:20]
        req.headers.insert(0, ("via", f"SIP/2.0/UDP {self.me};branch={branch}"))
        self.send(req, to)

    # --- responses ------------------------------------------------------------------------------------------

    def _response(self, resp: SipMessage) -> None:
        vias = resp.get_all("via")
        if len(vias) < 2 or not self._is_my_via(vias[0]):
            return
        rest = [(k, v) for k, v in resp.headers if k != "via"]
        resp.headers = [("via", v) for v in vias[1:]] + rest
        self.send(resp, _reply_addr(vias[1]))

    def _is_my_via(self, via: str) -> bool:
        sent_by = via.split(";")[0].split()[-1] if via.split() else ""
        return sent_by == self.me

    def _is_me(self, uri: str) -> bool:
        try:
            parsed = SipUri.parse(uri)
        except SipParseError:
            return False
        return parsed.host == self.host and (parsed.port or 5060) == self.port

    def close(self) -> None:
        """Stop: end echo calls and close the socket."""
        self.echo.close()
        for task in self._tasks:
            task.cancel()
        if self.transport is not None:
            self.transport.close()


def _stamp_via(req: SipMessage, addr: Addr) -> None:
    """RFC 3261 18.2.1 and RFC 3581: record where the request came from in its top Via."""
    for i, (key, value) in enumerate(req.headers):
        if key == "via":
            parts = split_commas(value)
            top = parts[0]
            if via_param(top, "received") == "":
                top += f";received={addr[0]}"
            if ";rport" in top and not via_param(top, "rport"):
                top = top.replace(";rport", f";rport={addr[1]}", 1)
            req.headers[i] = ("via", ", ".join([top, *parts[1:]]))
            return


def _reply_addr(via: str) -> Addr:
    """Where a response to this Via goes: received/rport when present, else the sent-by."""
    sent_by = via.split(";")[0].split()[-1]
    host, _, port = sent_by.rpartition(":") if sent_by.count(":") == 1 else (sent_by, "", "5060")
    rport = via_param(via, "rport")
    return via_param(via, "received") or host, int(rport or port or 5060)


def _target(uri: str) -> Addr | None:
    try:
        parsed = SipUri.parse(uri)
    except SipParseError:
        return None
    return (parsed.host, parsed.port or 5060) if parsed.is_ip else None


def _expires(req: SipMessage, contact: str) -> int:
    if contact == "*":
        return 0
    value = ""
    if contact:
        value = NameAddr.parse(contact).params.get("expires", "")
    value = value or req.get("expires", "3600")
    try:
        return max(0, min(int(value), MAX_EXPIRES))
    except ValueError:
        return 3600
