"""REGISTER a binding and remove it again (RFC 3261 section 10), so a probe leaves nothing behind."""

from __future__ import annotations

from agent.sip.message import SipMessage
from agent.sip.ua import UserAgent
from agent.sip.uri import SipUri


def registrar_uri(uri: SipUri) -> str:
    """The REGISTER Request-URI: the domain of the address of record, without user (RFC 3261 10.2)."""
    out = f"{uri.scheme}:{uri.host}"
    if uri.port is not None:
        out += f":{uri.port}"
    transport = uri.param("transport")
    return out + (f";transport={transport}" if transport else "")


def aor_of(uri: SipUri, username: str) -> str:
    """The address of record: the URI's user (or the username) at its host."""
    return f"{uri.scheme}:{uri.user or username or 'dialtone'}@{uri.host}"


async def register(ua: UserAgent, request_uri: str, aor: str, expires: int, call_id: str, cseq: int) -> SipMessage:
    """One REGISTER (expires=0 removes the binding); returns the final response after any digest round."""
    req = ua.new_request("REGISTER", request_uri, aor, call_id=call_id, cseq=cseq)
    req.add("contact", f"{ua.contact};expires={expires}")
    req.add("expires", str(expires))
    if ua.digest is not None:
        # Answer at once with the cached challenge, if any: it saves a round trip on the un-REGISTER.
        ua.digest.authorize(req)
    return await ua.request(req)
