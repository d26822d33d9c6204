"""Basic auth for the agent's endpoints without letting a login flood touch the event loop.

bcrypt is deliberately slow (about 60 ms a check at cost 10). Run on the event loop, a hundred clients
sending a wrong password stall every probe and fake outages. So:

- a check runs in one worker thread (bcrypt releases the GIL), never on the loop; at most `MAX_PENDING`
  checks wait for it, and a request beyond that is answered 503 at once, whoever it claims to be;
- verified and refused credentials are cached (bounded, least recently used first out) under an HMAC with a
  key drawn at start, so the cache holds no password and a repeated wrong password costs nothing;
- an unknown user is checked against a dummy hash of the same cost, and a password over bcrypt's 72 bytes
  is refused after the same work, so neither answers faster than a known user's wrong password.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum

import bcrypt
from aiohttp import web

OPEN_PATHS = frozenset({"/-/healthy", "/-/ready"})
"""Liveness and readiness stay open (they reveal nothing) so container health checks need no credentials."""

CACHE_SIZE = 1024
"""Credentials remembered, verified and refused each (32-byte HMACs), least recently used out first."""

MAX_PENDING = 8
"""bcrypt checks queued for the worker; beyond that a request gets 503 without any hashing."""

BCRYPT_MAX_BYTES = 72

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


class Verdict(Enum):
    """The outcome of one credential check."""

    OK = "ok"
    REFUSED = "refused"
    BUSY = "busy"


def _cost(hashed: bytes) -> int:
    try:
        return int(hashed.split(b"$")[2])
    except (IndexError, ValueError):
        return 10


def _check(password: bytes, hashed: bytes) -> bool:
    """bcrypt in the worker thread; an over-long password is refused after the same work."""
    hashed = hashed.replace(b"$2y$", b"$2b$", 1)
    if len(password) > BCRYPT_MAX_BYTES:
        bcrypt.checkpw(password[:BCRYPT_MAX_BYTES], hashed)
        return False
    return bcrypt.checkpw(password, hashed)


class CredentialChecker:
    """Checks `user:password` pairs against bcrypt hashes, off the event loop, with a bounded cache."""

    def __init__(
        self, users: dict[str, str], executor: ThreadPoolExecutor, counts: dict[str, int] | None = None
    ) -> None:
        self.hashes = {u: h.encode() for u, h in users.items()}
        cost = max((_cost(h) for h in self.hashes.values()), default=10)
        # The dummy costs what a real user's check costs, so "unknown user" is not a fast answer.
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(cost))
        self._key = secrets.token_bytes(32)
        # Two caches: a flood of refused pairs must never evict the verified ones (the scraper's).
        self._verified: OrderedDict[bytes, bool] = OrderedDict()
        self._refused: OrderedDict[bytes, bool] = OrderedDict()
        self._executor = executor
        self._pending = 0
        self.counts = counts if counts is not None else {}  # kept across reloads: a counter never resets

    def _remember(self, key: bytes, ok: bool) -> None:
        cache = self._verified if ok else self._refused
        cache[key] = ok
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)

    async def check(self, user: str, password: str) -> Verdict:
        """The verdict for one pair; bcrypt runs in the worker only when the cache does not know it."""
        verdict = await self._check(user, password)
        self.counts[verdict.value] = self.counts.get(verdict.value, 0) + 1
        return verdict

    async def _check(self, user: str, password: str) -> Verdict:
        raw = password.encode("utf-8", "surrogatepass")
        key = hmac.new(self._key, user.encode("utf-8", "surrogatepass") + b"\0" + raw, hashlib.sha256).digest()
        for cache in (self._verified, self._refused):
            if key in cache:
                cache.move_to_end(key)
                return Verdict.OK if cache is self._verified else Verdict.REFUSED
        if self._pending >= MAX_PENDING:
            return Verdict.BUSY
        hashed = self.hashes.get(user)
        self._pending += 1
        try:
            ok = await asyncio.get_running_loop().run_in_executor(
                self._executor, _check, raw, hashed if hashed is not None else self._dummy
            )
        finally:
            self._pending -= 1
        ok = ok and hashed is not None
        self._remember(key, ok)
        return Verdict.OK if ok else Verdict.REFUSED


def parse_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` header, or None when it is not one."""
    if not header.startswith("Basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


_UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="dialtone"', "X-Content-Type-Options": "nosniff"}


def basic_auth_middleware(current: Callable[[], CredentialChecker | None]) -> Middleware:
    """Require a user of the checker `current()` returns (None: no auth), read per request so that a
    reloaded web.yml takes effect at once."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        checker = current()
        if checker is None or request.path in OPEN_PATHS:
            return await handler(request)
        pair = parse_basic(request.headers.get("Authorization", ""))
        verdict = Verdict.REFUSED if pair is None else await checker.check(*pair)
        if verdict is Verdict.OK:
            return await handler(request)
        if verdict is Verdict.BUSY:
            return web.Response(
                status=503,
                text="too many logins being checked; retry shortly\n",
                headers={"Retry-After": "1", "X-Content-Type-Options": "nosniff"},
            )
        return web.Response(status=401, text="Unauthorized\n", headers=_UNAUTHORIZED)

    return middleware
