"""The durable MQTT outbox: events are committed to SQLite before anything else and deleted only once the
broker has acknowledged them, so a broker outage or an agent restart loses nothing.

One process owns one outbox file. It is used from the event loop thread only: an insert in WAL mode with
synchronous=NORMAL is a write to the page cache (tens of microseconds), which survives the process being
killed; only a power cut can lose the last commits.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("dialtone.mqtt.outbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Sequence numbers are reserved in blocks so a restart never reuses one without a write per event.
_SEQ_BLOCK = 1000


class OutboxError(Exception):
    """The outbox file cannot be opened or is not an outbox."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message waiting for its PUBACK. `id` < 0 marks an item held in memory after a failed write."""

    id: int
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """SQLite-backed FIFO of messages, plus the vantage's persistent sequence counter and stream id."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=2000")
            self._conn.executescript(_SCHEMA)
            self.stream = self._meta("stream") or self._set_meta("stream", uuid.uuid4().hex)
            self._reserved = int(self._meta("seq_reserved") or 0)
            self._depth = int(self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise OutboxError(f"cannot open MQTT outbox {self.path}: {exc}") from None
        # Everything issued before a restart is below the last reserved mark, so start above it.
        self._next_seq = self._reserved + 1
        self._memory: deque[OutboxItem] = deque()
        self._memory_ids = 0
        self.write_errors = 0
        """Inserts or deletes that failed (disk full, file removed); such items are kept in memory."""

    # --- sequence numbers ---------------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The next sequence number of this vantage: strictly increasing, also across restarts."""
        seq = self._next_seq
        if seq > self._reserved:
            try:
                self._set_meta("seq_reserved", str(self._reserved + _SEQ_BLOCK))
            except sqlite3.Error as exc:
                self._failed("reserve sequence numbers", exc)
            # Advance even on failure: uniqueness within this run matters more than a gap after a restart.
            self._reserved += _SEQ_BLOCK
        self._next_seq += 1
        return seq

    # --- queue --------------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages waiting for an acknowledgement."""
        return self._depth + len(self._memory)

    def put(self, topic: str, payload: bytes, retain: bool) -> None:
        """Commit one message; on a disk error keep it in memory instead (logged, counted), never raise."""
        try:
            self._conn.execute(
                "INSERT INTO outbox (topic, payload, retain) VALUES (?, ?, ?)", (topic, payload, int(retain))
            )
            self._depth += 1
        except sqlite3.Error as exc:
            self._failed("store an event", exc)
            self._memory_ids -= 1
            self._memory.append(OutboxItem(self._memory_ids, topic, payload, retain))

    def peek(self, limit: int) -> list[OutboxItem]:
        """The oldest `limit` messages, oldest first (stored ones, then any held in memory)."""
        items: list[OutboxItem] = []
        if self._depth:
            try:
                rows = self._conn.execute(
                    "SELECT id, topic, payload, retain FROM outbox ORDER BY id LIMIT ?", (limit,)
                ).fetchall()
            except sqlite3.Error as exc:
                self._failed("read events", exc)
                rows = []
            items = [OutboxItem(int(i), str(t), bytes(p), bool(r)) for i, t, p, r in rows]
        for item in self._memory:
            if len(items) >= limit:
                break
            items.append(item)
        return items

    def ack(self, items: list[OutboxItem]) -> None:
        """Forget messages the broker acknowledged."""
        stored = [(i.id,) for i in items if i.id > 0]
        held = {i.id for i in items if i.id < 0}
        if held:
            self._memory = deque(i for i in self._memory if i.id not in held)
        if not stored:
            return
        try:
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany("DELETE FROM outbox WHERE id = ?", stored)
            self._depth = max(0, self._depth - len(stored))
        except sqlite3.Error as exc:
            # The rows stay and are sent again: a duplicate the consumer drops by its sequence number.
            self._failed("delete acknowledged events", exc)

    def close(self) -> None:
        """Close the database."""
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    # --- internals ----------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> str:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return value

    def _failed(self, what: str, exc: sqlite3.Error) -> None:
        self.write_errors += 1
        log.error("MQTT outbox %s: cannot %s: %s", self.path, what, exc)
