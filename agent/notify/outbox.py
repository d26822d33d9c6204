"""The durable notice outbox: a notice and one delivery row per recipient are committed before anything is
sent, and a delivery is marked sent only after its peer accepted it (the MQTT outbox's design).

Exactly once, except one window: a peer accepted a message and the process died before the commit that
records it. That delivery is sent again after the restart, with the same Message-ID (mail), the same
`X-Dialtone-Notice` / `notice.id` (webhooks), so a receiver can drop the copy. Notice ids are derived from
what they announce, so deriving the same notice again (after a restart) inserts nothing: no second copy,
and nothing skipped. Every method blocks on SQLite: call them from a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.notify.notice import Notice, Recipient

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, due TEXT NOT NULL,
    queued TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notice TEXT NOT NULL REFERENCES notices(id),
    channel TEXT NOT NULL, target TEXT NOT NULL, lang TEXT NOT NULL, token TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL, sent_at TEXT, error TEXT NOT NULL DEFAULT '',
    UNIQUE (notice, channel, target)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class NoticeOutboxError(Exception):
    """The outbox file cannot be opened or is not a notice outbox."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one recipient, waiting or done."""

    id: int
    notice: Notice
    recipient: Recipient
    attempts: int


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A notice as `dialtone notices list` shows it: counts of its deliveries by state."""

    id: str
    kind: str
    due: datetime
    queued: datetime
    pending: int
    sent: int
    failed: int


class NoticeOutbox:
    """SQLite store of notices and their deliveries; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path, now: datetime) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'since'").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO meta VALUES ('since', ?)", (now.astimezone(UTC).isoformat(),))
                row = (now.astimezone(UTC).isoformat(),)
            self.since = datetime.fromisoformat(row[0])
            """When this outbox was created: events before it are history, not news, and are never sent."""
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise NoticeOutboxError(f"cannot open notice outbox {self.path}: {exc}") from None

    def known(self, ids: list[str]) -> set[str]:
        """Which of these notice ids are already in the outbox (queued, sent or failed)."""
        found: set[str] = set()
        with self._lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in self._conn.execute(f"SELECT id FROM notices WHERE id IN ({marks})", chunk))
        return found

    def add(self, notice: Notice, recipients: list[Recipient], now: datetime) -> bool:
        """Commit a notice and its deliveries in one transaction; False (nothing written) if already known."""
        ts = now.timestamp()
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO notices VALUES (?, ?, ?, ?, ?, ?)",
                (notice.id, notice.kind, notice.ref, notice.due.isoformat(), now.isoformat(), notice.to_json()),
            )
            if cur.rowcount == 0:
                return False
            self._conn.executemany(
                "INSERT OR IGNORE INTO deliveries (notice, channel, target, lang, token, next_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(notice.id, r.channel, r.target, r.lang, r.token, ts) for r in recipients],
            )
        return True

    def due(self, now: datetime, limit: int, channel: str | None = None) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest notice first."""
        sql = (
            "SELECT d.id, n.body, d.channel, d.target, d.lang, d.token, d.attempts FROM deliveries d "
            "JOIN notices n ON n.id = d.notice WHERE d.state = 'pending' AND d.next_at <= ?"
        )
        args: list[object] = [now.timestamp()]
        if channel is not None:
            sql += " AND d.channel = ?"
            args.append(channel)
        sql += " ORDER BY d.id LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        notices: dict[str, Notice] = {}
        out = []
        for did, body, ch, target, lang, token, attempts in rows:
            n = notices.get(body) or notices.setdefault(body, Notice.from_json(body))
            out.append(Delivery(int(did), n, Recipient(ch, target, lang, token), int(attempts)))
        return out

    def next_due(self) -> float | None:
        """Epoch seconds of the earliest pending delivery, or None."""
        with self._lock:
            row = self._conn.execute("SELECT min(next_at) FROM deliveries WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def sent(self, delivery_id: int, now: datetime) -> None:
        """Record one accepted delivery (a commit of its own: this is what closes the at-least-once window)."""
        with self._lock:
            self._conn.execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, attempts = attempts + 1, error = '' WHERE id = ?",
                (now.isoformat(), delivery_id),
            )

    def retry(self, delivery_id: int, error: str, next_at: datetime, give_up: bool) -> None:
        """Record a failed attempt: try again at `next_at`, or mark it failed for good."""
        with self._lock:
            self._conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, error = ?, next_at = ?, state = ? WHERE id = ?",
                (error[:500], next_at.timestamp(), "failed" if give_up else "pending", delivery_id),
            )

    def drop_target(self, channel: str, target: str) -> int:
        """Cancel pending deliveries to a recipient who left (an unsubscribed address)."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE deliveries SET state = 'cancelled' WHERE state = 'pending' AND channel = ? AND target = ?",
                (channel, target),
            )
        return int(cur.rowcount)

    def prune(self, before: datetime) -> int:
        """Forget finished deliveries of notices queued before `before`; notices stay (they are the dedup)."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM deliveries WHERE state != 'pending' AND notice IN "
                "(SELECT id FROM notices WHERE queued < ?)",
                (before.astimezone(UTC).isoformat(),),
            )
        return int(cur.rowcount)

    def counts(self) -> dict[str, int]:
        """Deliveries by state (for the metrics)."""
        with self._lock:
            rows = self._conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        return {str(s): int(n) for s, n in rows}

    def rows(self, limit: int = 200) -> list[NoticeRow]:
        """The newest notices with their delivery counts."""
        with self._lock:
            return _rows(self._conn, limit)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def read_rows(path: Path, limit: int = 200) -> tuple[datetime | None, list[NoticeRow]]:
    """(since, newest notices) of an outbox, opened read-only (the agent may be running); empty if none."""
    if not path.is_file():
        return None, []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NoticeOutboxError(f"cannot read notice outbox {path}: {exc}") from None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'since'").fetchone()
        return (datetime.fromisoformat(row[0]) if row else None), _rows(conn, limit)
    except sqlite3.Error as exc:
        raise NoticeOutboxError(f"cannot read notice outbox {path}: {exc}") from None
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, limit: int) -> list[NoticeRow]:
    rows = conn.execute(
        "SELECT n.id, n.kind, n.due, n.queued, "
        "sum(d.state = 'pending'), sum(d.state = 'sent'), sum(d.state = 'failed') "
        "FROM notices n LEFT JOIN deliveries d ON d.notice = n.id "
        "GROUP BY n.id ORDER BY n.due DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        NoticeRow(i, k, datetime.fromisoformat(d), datetime.fromisoformat(q), int(p or 0), int(s or 0), int(f or 0))
        for i, k, d, q, p, s, f in rows
    ]
