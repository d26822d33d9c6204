"""Demo only: the server side of SIP digest (RFC 3261 22.4, RFC 7616) for the demo platform's registrar.

MD5 with qop=auth; nonces carry their issue time and an HMAC, so no nonce table is kept, and one older
than NONCE_LIFETIME is answered with a fresh challenge marked stale=true (the client retries at once).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping

from agent.sip.message import SipMessage

NONCE_LIFETIME = 60.0
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_credentials(value: str) -> dict[str, str]:
    """The parameters of a 'Digest username="..", ...' header value ({} when it is not Digest)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        raw = m.group(2)
        params[m.group(1).lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
    return params


class DigestServer:
    """Issues challenges for `realm` and checks answers against `users` (user name to password)."""

    def __init__(self, realm: str, users: Mapping[str, str], clock: Callable[[], float] = time.time) -> None:
        self.realm = realm
        self.users = dict(users)
        self._key = secrets.token_bytes(16)
        self._clock = clock

    def _nonce(self) -> str:
        issued = f"{int(self._clock()):x}"
        mac = hmac.new(self._key, issued.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{issued}.{mac}"

    def _nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' (ours but too old) or 'bad' (not ours)."""
        issued, _, mac = nonce.partition(".")
        good = hmac.new(self._key, issued.encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(mac, good):
            return "bad"
        try:
            age = self._clock() - int(issued, 16)
        except ValueError:
            return "bad"
        return "ok" if 0 <= age <= NONCE_LIFETIME else "stale"

    def challenge(self, stale: bool = False) -> str:
        """A WWW-Authenticate / Proxy-Authenticate value."""
        extra = ", stale=true" if stale else ""
        return f'Digest realm="{self.realm}", nonce="{self._nonce()}", algorithm=MD5, qop="auth"{extra}'

    def check(self, req: SipMessage, header: str) -> tuple[str, str]:
        """('ok', user), ('stale', user), ('missing', '') or ('refused', user) for the request's credentials."""
        for value in req.get_all(header):
            p = parse_credentials(value)
            if p.get("realm") != self.realm:
                continue
            user = p.get("username", "")
            password = self.users.get(user)
            state = self._nonce_state(p.get("nonce", ""))
            if password is None or state == "bad":
                return "refused", user
            ha1 = _md5(f"{user}:{self.realm}:{password}")
            ha2 = _md5(f"{req.method}:{p.get('uri', '')}")
            qop_auth = p.get("qop") == "auth"
            tail = f"{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}" if qop_auth else ha2
            expected = _md5(f"{ha1}:{p['nonce']}:{tail}")
            if not hmac.compare_digest(expected, p.get("response", "")):
                return "refused", user
            return ("ok" if state == "ok" else "stale"), user
        return "missing", ""
