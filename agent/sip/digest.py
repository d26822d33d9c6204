"""HTTP Digest for SIP (RFC 3261 22, RFC 7616, RFC 8760): MD5, MD5-sess, SHA-256, SHA-512-256, qop=auth."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from agent.sip.message import SipMessage, SipParseError

# Strongest first (RFC 8760 section 2.4: a UAC picks the strongest algorithm it supports).
ALGORITHMS = ("SHA-512-256-sess", "SHA-512-256", "SHA-256-sess", "SHA-256", "MD5-sess", "MD5")
_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


class AuthError(Exception):
    """Authentication cannot proceed; `code` is auth_required or auth_failed."""

    def __init__(self, code: str, message: str, response: SipMessage | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.response = response


@dataclass(frozen=True, slots=True)
class Challenge:
    """One Digest challenge from a WWW-Authenticate or Proxy-Authenticate header."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    proxy: bool = False

    @classmethod
    def parse(cls, value: str, *, proxy: bool = False) -> Challenge:
        """Parse 'Digest realm="x", nonce="y", ...'; SipParseError when it is not a usable Digest."""
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SipParseError(f"not a Digest challenge: {scheme[:20]!r}")
        params: dict[str, str] = {}
        pos = 0
        rest = rest.strip()
        while pos < len(rest):
            m = _PARAM.match(rest, pos)
            if not m or m.end() == pos:
                raise SipParseError(f"malformed Digest challenge near {rest[pos : pos + 30]!r}")
            raw = m.group(2)
            params[m.group(1).lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
            pos = m.end()
        if "realm" not in params or "nonce" not in params:
            raise SipParseError("Digest challenge without realm or nonce")
        algorithm = _canonical_algorithm(params.get("algorithm", "MD5"))
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=algorithm,
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
            proxy=proxy,
        )


def _canonical_algorithm(name: str) -> str:
    for known in ALGORITHMS:
        if name.lower() == known.lower():
            return known
    return name


def challenges(response: SipMessage) -> list[Challenge]:
    """Every usable Digest challenge of a 401 or 407, strongest algorithm first."""
    found: list[Challenge] = []
    for header, proxy in (("www-authenticate", False), ("proxy-authenticate", True)):
        for value in response.get_all(header):
            try:
                ch = Challenge.parse(value, proxy=proxy)
            except SipParseError:
                continue
            if ch.algorithm in ALGORITHMS and (not ch.qop or {"auth", "auth-int"} & set(ch.qop)):
                found.append(ch)
    return sorted(found, key=lambda c: ALGORITHMS.index(c.algorithm))


def _h(algorithm: str, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.new(_HASHES[algorithm.removesuffix("-sess")], data).hexdigest()


@dataclass(slots=True)
class DigestClient:
    """Answers challenges for one username/password; counts nc per nonce and spots a rejected password."""

    username: str
    password: str
    _nc: dict[str, int] = field(default_factory=dict)
    _answered: set[tuple[bool, str]] = field(default_factory=set)
    _current: dict[tuple[bool, str], Challenge] = field(default_factory=dict)

    def on_challenge(self, response: SipMessage) -> None:
        """Take the challenges of a 401/407; AuthError when retrying cannot help."""
        offered = challenges(response)
        if not offered:
            raise AuthError("auth_failed", f"{response.status} {response.reason}: no usable Digest challenge", response)
        chosen: dict[tuple[bool, str], Challenge] = {}
        for ch in offered:
            chosen.setdefault((ch.proxy, ch.realm), ch)  # the strongest per realm: offered is sorted
        for key, ch in chosen.items():
            if key in self._answered and not ch.stale:
                # Our answer for this realm was refused and the nonce was fine: the password is wrong.
                status = f"{response.status} {response.reason}"
                raise AuthError("auth_failed", f"{status}: credentials for realm {ch.realm!r} were refused", response)
        self._current.update(chosen)
        self._answered.clear()

    def new_request(self) -> None:
        """Start a new request: cached challenges are reused, refusals are judged afresh."""
        self._answered.clear()

    def authorize(self, request: SipMessage) -> None:
        """Add Authorization / Proxy-Authorization headers answering the current challenges."""
        request.remove("authorization")
        request.remove("proxy-authorization")
        for key, ch in self._current.items():
            header = "proxy-authorization" if ch.proxy else "authorization"
            request.add(header, self.answer(ch, request.method, request.uri, request.body))
            self._answered.add(key)

    def answer(self, ch: Challenge, method: str, uri: str, body: bytes = b"", cnonce: str = "") -> str:
        """The credentials value answering `ch` for this request (RFC 7616 section 3.4)."""
        cnonce = cnonce or secrets.token_hex(8)
        ha1 = _h(ch.algorithm, f"{self.username}:{ch.realm}:{self.password}")
        if ch.algorithm.endswith("-sess"):
            ha1 = _h(ch.algorithm, f"{ha1}:{ch.nonce}:{cnonce}")
        qop = "auth" if "auth" in ch.qop else ("auth-int" if "auth-int" in ch.qop else "")
        a2 = f"{method}:{uri}"
        if qop == "auth-int":
            a2 += ":" + _h(ch.algorithm, body)
        ha2 = _h(ch.algorithm, a2)
        parts = [f'username="{self.username}"', f'realm="{ch.realm}"', f'nonce="{ch.nonce}"', f'uri="{uri}"']
        if qop:
            nc = self._nc.get(ch.nonce, 0) + 1
            self._nc[ch.nonce] = nc
            response = _h(ch.algorithm, f"{ha1}:{ch.nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")
            parts += [f'response="{response}"', f"algorithm={ch.algorithm}", f'cnonce="{cnonce}"']
            parts += [f"qop={qop}", f"nc={nc:08x}"]
        else:
            parts += [
                f'response="{_h(ch.algorithm, f"{ha1}:{ch.nonce}:{ha2}")}"',
                f"algorithm={ch.algorithm}",
            ]
        if ch.opaque is not None:
            parts.append(f'opaque="{ch.opaque}"')
        return "Digest " + ", ".join(parts)
