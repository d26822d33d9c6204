"""E-mail subscribers in their own SQLite file (never under the public site): double opt-in, one-click out.

A confirmation token is 32 random bytes; only its SHA-256 is stored, it expires, and confirming clears it
(single use). The unsubscribe token is random too and is the only key an unsubscribe link carries. Every
method blocks on SQLite: call them from a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.notify.notice import Notice, Recipient

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    email TEXT PRIMARY KEY, lang TEXT NOT NULL, components TEXT NOT NULL, confirmed INTEGER NOT NULL,
    confirm_hash TEXT, confirm_expires REAL, unsub_token TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
    confirmed_at TEXT, pending_lang TEXT, pending_components TEXT
);
CREATE TABLE IF NOT EXISTS confirm_sends (email TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS confirm_sends_email ON confirm_sends (email, at);
"""


class SubscriberStoreError(Exception):
    """The subscriber file cannot be opened."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One confirmed or pending subscriber."""

    email: str
    lang: str
    components: tuple[str, ...]
    confirmed: bool
    unsub_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SubscriberStore:
    """The subscriber database; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_SCHEMA)
            self.path.chmod(0o600)  # addresses are personal data
        except (OSError, sqlite3.Error) as exc:
            raise SubscriberStoreError(f"cannot open subscriber store {self.path}: {exc}") from None

    def sends_since(self, email: str, since: float) -> int:
        """Confirmation mails sent to `email` since `since` (epoch seconds): the per-address rate limit."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM confirm_sends WHERE email = ? AND at >= ?", (email, since)
            ).fetchone()
        return int(row[0])

    def request(self, email: str, lang: str, components: list[str], now: datetime, ttl: float) -> str:
        """Record a (re)subscription awaiting confirmation; returns the new single-use confirmation token."""
        token = secrets.token_urlsafe(32)
        expires = now.timestamp() + ttl
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO subscribers (email, lang, components, confirmed, confirm_hash, confirm_expires, "
                "unsub_token, created, pending_lang, pending_components) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET confirm_hash = excluded.confirm_hash, "
                "confirm_expires = excluded.confirm_expires, pending_lang = excluded.pending_lang, "
                "pending_components = excluded.pending_components",
                (
                    email,
                    lang,
                    json.dumps(sorted(components)),
                    _hash(token),
                    expires,
                    secrets.token_urlsafe(24),
                    now.isoformat(),
                    lang,
                    json.dumps(sorted(components)),
                ),
            )
            # The new choices wait beside the token: a confirmed subscriber keeps the old ones until it is used.
            self._conn.execute("INSERT INTO confirm_sends VALUES (?, ?)", (email, now.timestamp()))
            self._conn.execute("DELETE FROM confirm_sends WHERE at < ?", (now.timestamp() - 86400 * 7,))
        return token

    def awaiting(self, token: str, now: datetime) -> Subscriber | None:
        """The subscription `token` would confirm, without using it (None if unknown or expired)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT email, coalesce(pending_lang, lang), coalesce(pending_components, components), confirmed, "
                "unsub_token FROM subscribers WHERE confirm_hash = ? AND confirm_expires >= ?",
                (_hash(token), now.timestamp()),
            ).fetchone()
        return None if row is None else _subscriber(row)

    def confirm(self, token: str, now: datetime) -> Subscriber | None:
        """Confirm the subscription `token` was issued for; None if unknown, used or expired."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute(
                "SELECT email, confirm_expires FROM subscribers WHERE confirm_hash = ?", (_hash(token),)
            ).fetchone()
            if row is None or float(row[1]) < now.timestamp():
                return None
            email = str(row[0])
            self._conn.execute(
                "UPDATE subscribers SET confirmed = 1, confirm_hash = NULL, confirm_expires = NULL, "
                "confirmed_at = ?, lang = coalesce(pending_lang, lang), "
                "components = coalesce(pending_components, components), pending_lang = NULL, "
                "pending_components = NULL WHERE email = ?",
                (now.isoformat(), email),
            )
        return self.get(email)

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address."""
        with self._lock:
            row = self._conn.execute(
                "SELECT email, lang, components, confirmed, unsub_token FROM subscribers WHERE email = ?", (email,)
            ).fetchone()
        return None if row is None else _subscriber(row)

    def by_unsub_token(self, token: str) -> Subscriber | None:
        """The subscriber an unsubscribe link names."""
        with self._lock:
            row = self._conn.execute(
                "SELECT email, lang, components, confirmed, unsub_token FROM subscribers WHERE unsub_token = ?",
                (token,),
            ).fetchone()
        return None if row is None else _subscriber(row)

    def unsubscribe(self, token: str) -> str | None:
        """Forget the subscriber of this unsubscribe token; the address, or None if unknown."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute("SELECT email FROM subscribers WHERE unsub_token = ?", (token,)).fetchone()
            if row is None:
                return None
            self._conn.execute("DELETE FROM subscribers WHERE email = ?", (row[0],))
        return str(row[0])

    def recipients(self, notice: Notice) -> list[Recipient]:
        """Confirmed subscribers who chose all components or one the notice concerns."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT email, lang, components, unsub_token FROM subscribers WHERE confirmed = 1"
            ).fetchall()
        return [Recipient("email", e, lang, tok) for e, lang, comps, tok in rows if notice.concerns(json.loads(comps))]

    def count(self) -> dict[str, int]:
        """Subscribers by state."""
        with self._lock:
            rows = self._conn.execute("SELECT confirmed, count(*) FROM subscribers GROUP BY confirmed").fetchall()
        return {("confirmed" if c else "pending"): int(n) for c, n in rows}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def _subscriber(row: tuple[object, ...]) -> Subscriber:
    email, lang, comps, confirmed, tok = row
    return Subscriber(str(email), str(lang), tuple(json.loads(str(comps))), bool(confirmed), str(tok))
