"""The history store's schema, migrations, start-up check and time encoding (shared by writer and reader).

Instants are stored as integer milliseconds since the Unix epoch (UTC); days as integer days since the epoch.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

log = logging.getLogger("dialtone.history")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
DAY_MS = 86_400_000
_EPOCH_DAY = date(1970, 1, 1)


class HistoryError(Exception):
    """The history store cannot be used: names the path and the reason."""


def to_ms(at: datetime) -> int:
    """Aware datetime -> integer ms since the epoch (floored; exact, no float rounding)."""
    return (at - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """Integer ms since the epoch -> aware UTC datetime."""
    return EPOCH + timedelta(milliseconds=ms)


def day_of_ms(ms: int) -> date:
    """The UTC calendar day holding this instant."""
    return _EPOCH_DAY + timedelta(days=ms // DAY_MS)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the rollups' key)."""
    return (day - _EPOCH_DAY).days


def day_from_number(n: int) -> date:
    """Inverse of day_number."""
    return _EPOCH_DAY + timedelta(days=n)


# --- schema -----------------------------------------------------------------------------------------------

_V1 = """
CREATE TABLE series (
  id INTEGER PRIMARY KEY, target TEXT NOT NULL, kind TEXT NOT NULL, vantage TEXT NOT NULL,
  UNIQUE (target, kind, vantage));
CREATE TABLE results (
  series INTEGER NOT NULL, started_ms INTEGER NOT NULL, duration_us INTEGER NOT NULL,
  ok INTEGER NOT NULL, flags INTEGER NOT NULL, error TEXT, message TEXT, data TEXT);
CREATE INDEX results_series_time ON results (series, started_ms);
CREATE TABLE transitions (
  id INTEGER PRIMARY KEY, subject TEXT NOT NULL, name TEXT NOT NULL, component TEXT NOT NULL,
  at_ms INTEGER NOT NULL, old TEXT NOT NULL, new TEXT NOT NULL, cause TEXT NOT NULL);
CREATE INDEX transitions_name_time ON transitions (subject, name, at_ms);
CREATE INDEX transitions_time ON transitions (at_ms);
CREATE TABLE rollups (
  target TEXT NOT NULL, day INTEGER NOT NULL, ok INTEGER NOT NULL, failed INTEGER NOT NULL,
  maintenance INTEGER NOT NULL, duration_sum REAL NOT NULL, PRIMARY KEY (target, day)) WITHOUT ROWID;
CREATE TABLE events (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, at_ms INTEGER NOT NULL, data TEXT);
CREATE INDEX events_time ON events (at_ms);
CREATE INDEX events_kind_time ON events (kind, at_ms);
"""


def _create_v1(conn: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would COMMIT the migration's transaction half-way.
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _add_transition_since(conn: sqlite3.Connection) -> None:
    # The start of the run of results that confirmed a transition (NULL: same as at_ms), and whether a target
    # went down on answered calls without audio only (experienced, not contract, availability), for the SLA.
    conn.execute("ALTER TABLE transitions ADD COLUMN since_ms INTEGER")
    conn.execute("ALTER TABLE transitions ADD COLUMN quality INTEGER NOT NULL DEFAULT 0")


# MIGRATIONS[i] takes a store at user_version i to i + 1; append, never edit, to change the schema.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1, _add_transition_since)
SCHEMA_VERSION = len(MIGRATIONS)

FLAG_MAINTENANCE = 1
FLAG_DEGRADED = 2


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the store to SCHEMA_VERSION, one migration per transaction."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history {path}: schema version {version} is newer than this dialtone knows ({SCHEMA_VERSION})"
        )
    for step in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def connect_writer(path: Path) -> sqlite3.Connection:
    """A writable connection in WAL mode with the schema migrated (autocommit; callers BEGIN themselves)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is safe in WAL mode: a power cut may lose the last batch, never corrupt the store.
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_history(path: str | Path, *, now: datetime | None = None) -> Path:
    """Start-up check: make the store usable or raise HistoryError naming the path and the reason.

    A file that is not a valid SQLite store is moved aside to `<name>.corrupt-<UTC timestamp>` and a new
    store is created in its place.
    """
    p = Path(path)
    _check_directory(p)
    try:
        conn = _open_checked(p)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
            raise HistoryError(f"history {p}: cannot open: {exc}") from None
        aside = _move_aside(p, now or datetime.now(UTC), exc)
        log.error("history %s is corrupt (%s); moved it to %s and started a new store", p, exc, aside)
        try:
            conn = _open_checked(p)
        except sqlite3.Error as again:
            raise HistoryError(f"history {p}: cannot create a new store: {again}") from None
    conn.close()
    return p


def _check_directory(p: Path) -> None:
    if p.is_dir():
        raise HistoryError(f"history {p}: is a directory, not a file")
    blocker = next((d for d in (p.parent, *p.parent.parents) if d.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise HistoryError(f"history {p}: {blocker} is not a directory")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"history {p}: cannot create directory {p.parent}: {exc.strerror}") from None
    # SQLite's WAL needs to create <name>-wal and <name>-shm beside the store: the directory must be writable.
    try:
        with tempfile.NamedTemporaryFile(dir=p.parent, prefix=f".{p.name}.probe-"):
            pass
    except OSError as exc:
        raise HistoryError(f"history {p}: directory {p.parent} is not writable: {exc.strerror}") from None
    if p.exists() and not os.access(p, os.R_OK | os.W_OK):
        raise HistoryError(f"history {p}: file is not readable and writable by this user")


def _open_checked(p: Path) -> sqlite3.Connection:
    conn = connect_writer(p)
    try:
        # Touch every table so a damaged schema or page shows up now, not in the first batch.
        for table in ("series", "results", "transitions", "rollups", "events"):
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def _looks_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "no such table" in text


def _move_aside(p: Path, now: datetime, exc: Exception) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = p.with_name(f"{p.name}.corrupt-{stamp}")
    try:
        os.replace(p, aside)
        for suffix in ("-wal", "-shm"):
            side = p.with_name(p.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
    except OSError as err:
        raise HistoryError(f"history {p}: corrupt ({exc}), cannot move it aside: {err.strerror}") from None
    return aside
