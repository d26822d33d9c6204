"""The SQLite (WAL) history sink: results, transitions, daily rollups and events, written in batches.

`on_result`, `on_transition` and `record_event` only append to an in-memory queue. A background thread
converts and writes everything queued in one transaction every `batch_interval`. A failing disk never raises
into the caller: it counts `write_errors`, logs (rate-limited), keeps what it could not write (bounded,
counting `dropped`) and retries on the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.core.clock import Clock, SystemClock
from agent.core.model import ProbeResult, Transition
from agent.history.batch import Batch, SeriesKey, commit, prune
from agent.history.reader import HistoryReader
from agent.history.schema import HistoryError, connect_writer

__all__ = ["HistoryWriter", "KeptReader"]

log = logging.getLogger("dialtone.history")

_ERROR_LOG_EVERY = 60.0
# What a malformed item (e.g. a naive datetime: a bug upstream) raises while being converted.
_UNSTORABLE = (TypeError, ValueError, AttributeError, OverflowError)


class HistoryWriter:
    """The history Sink. Callbacks never block; a background thread writes batches to SQLite."""

    def __init__(
        self,
        path: str | Path,
        *,
        results_retention: float = 14 * 86400.0,
        transitions_retention: float = 800 * 86400.0,
        rollups_retention: float = 800 * 86400.0,
        batch_interval: float = 1.0,
        clock: Clock | None = None,
        max_queue: int = 100_000,
        prune_interval: float = 300.0,
        message_limit: int = 200,
    ) -> None:
        if batch_interval <= 0 or max_queue < 1 or message_limit < 0 or prune_interval < 0:
            raise ValueError("batch_interval must be > 0, max_queue >= 1, message_limit and prune_interval >= 0")
        self.path = Path(path)
        self._retention = (results_retention, transitions_retention, rollups_retention)
        self._batch_interval = batch_interval
        self._clock: Clock = clock or SystemClock()
        self._max_queue = max_queue
        self._prune_interval = prune_interval
        self._message_limit = message_limit
        self._results: deque[ProbeResult] = deque()
        self._transitions: deque[Transition] = deque()
        self._events: deque[tuple[str, str, datetime, Mapping[str, Any]]] = deque()
        self._pending = Batch(message_limit)
        self._series: dict[SeriesKey, int] = {}
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune: datetime | None = None
        self._last_error_log = float("-inf")
        self._errors_unlogged = 0
        self._dropped_caller = 0
        self._dropped_writer = 0
        self.write_errors = 0
        """Failed batch writes or prunes since start (disk full, I/O error, file deleted...)."""
        self.last_flush_seconds = 0.0
        """Wall time the last successful batch took."""
        self.last_success: datetime | None = None
        """When the last batch was committed (aware UTC), None before the first."""
        self.rows_written = 0
        """Result, transition and event rows committed since start."""

    # --- Sink: called on the event loop, never blocks ---------------------------------------------------

    def on_result(self, result: ProbeResult) -> None:
        """Queue a result; counts `dropped` instead when the queue is full."""
        if len(self._results) >= self._max_queue:
            self._dropped_caller += 1
            return
        self._results.append(result)

    def on_transition(self, transition: Transition) -> None:
        """Queue a transition."""
        if len(self._transitions) >= self._max_queue:
            self._dropped_caller += 1
            return
        self._transitions.append(transition)

    def record_event(self, kind: str, subject: str, at: datetime, data: Mapping[str, Any]) -> None:
        """Queue an event (SNMP trap, reboot, config reload...); `data` is stored as JSON."""
        if len(self._events) >= self._max_queue:
            self._dropped_caller += 1
            return
        self._events.append((kind, subject, at, data))

    @property
    def dropped(self) -> int:
        """Items thrown away: queue full, or unconvertible (a bug upstream, logged)."""
        return self._dropped_caller + self._dropped_writer

    @property
    def queue_depth(self) -> int:
        """Items waiting to be written, including a batch held back by a failing disk."""
        return len(self._results) + len(self._transitions) + len(self._events) + len(self._pending)

    async def start(self) -> None:
        """Start the background writer thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dialtone-history", daemon=True)
            self._thread.start()

    async def aclose(self) -> None:
        """Stop the thread, write everything still queued, and close the store."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)
        await asyncio.to_thread(self._close_sync)

    async def flush(self) -> bool:
        """Write everything queued now (off the event loop); True when it was committed."""
        return await asyncio.to_thread(self.flush_sync)

    # --- writer side --------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._batch_interval):
            self.flush_sync()

    def _close_sync(self) -> None:
        if not self.flush_sync():
            log.error("history %s: closing with %d items not written", self.path, self.queue_depth)
        with self._lock:
            self._disconnect()

    def flush_sync(self) -> bool:
        """Commit everything queued, then prune if due. Never raises; False when the disk failed."""
        with self._lock:
            try:
                self._take_queued()
                started = time.perf_counter()
                conn = self._connection()
                if self._pending:
                    commit(conn, self._pending, self._series)
                    self.rows_written += len(self._pending)
                    self._pending = Batch(self._message_limit)
                self._maybe_prune(conn)
            except (sqlite3.Error, OSError, HistoryError) as exc:
                self._failed(exc)
                return False
            except Exception as exc:  # a bug must not stop the writer thread for good; keep the batch
                log.exception("history %s: unexpected error while writing", self.path)
                self._failed(exc)
                return False
            self.last_flush_seconds = time.perf_counter() - started
            self.last_success = self._clock.now()
            return True

    def _connection(self) -> sqlite3.Connection:
        # In WAL mode SQLite keeps writing into a deleted file without complaint: check it is still ours.
        if self._conn is not None and _identity(self.path) != self._file_id:
            raise HistoryError(f"history {self.path}: the file was deleted or replaced; creating a new one")
        if self._conn is None:
            self._series.clear()
            if not self.path.exists():
                _remove_orphans(self.path)
            self._conn = connect_writer(self.path)
            self._file_id = _identity(self.path)
        return self._conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self._series.clear()
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _failed(self, exc: BaseException) -> None:
        self.write_errors += 1
        # Reconnect next time: the file may have been deleted or replaced, and a new one must be created.
        self._disconnect()
        now = self._clock.monotonic()
        if now - self._last_error_log < _ERROR_LOG_EVERY:
            self._errors_unlogged += 1
            return
        more = f" ({self._errors_unlogged} more failures since)" if self._errors_unlogged else ""
        what = str(exc) if isinstance(exc, HistoryError) else f"history {self.path}: write failed: {exc}"
        log.error("%s; %d items kept for retry%s", what, self.queue_depth, more)
        self._last_error_log, self._errors_unlogged = now, 0

    def _take_queued(self) -> None:
        batch = self._pending
        for _ in range(len(self._results)):
            r = self._results.popleft()
            try:
                batch.add_result(r)
            except _UNSTORABLE as exc:
                self._bad_item("result", exc)
        for _ in range(len(self._transitions)):
            t = self._transitions.popleft()
            try:
                batch.add_transition(t)
            except _UNSTORABLE as exc:
                self._bad_item("transition", exc)
        for _ in range(len(self._events)):
            e = self._events.popleft()
            try:
                batch.add_event(*e)
            except _UNSTORABLE as exc:
                self._bad_item("event", exc)
        # While the disk fails the held batch grows: keep the newest rows (rollup counts are kept regardless).
        self._dropped_writer += batch.trim(self._max_queue)

    def _bad_item(self, what: str, exc: Exception) -> None:
        self._dropped_writer += 1
        log.error("history %s: dropped a %s that cannot be stored: %s", self.path, what, exc)

    def _maybe_prune(self, conn: sqlite3.Connection) -> None:
        now = self._clock.now()
        if self._last_prune is not None and (now - self._last_prune).total_seconds() < self._prune_interval:
            return
        prune(conn, now, self._retention)
        self._last_prune = now


def _remove_orphans(path: Path) -> None:
    """Delete a -wal/-shm left by a deleted store: SQLite would replay the old WAL into the new file."""
    for suffix in ("-wal", "-shm"):
        try:
            path.with_name(path.name + suffix).unlink()
        except FileNotFoundError:
            pass


class KeptReader:
    """One HistoryReader kept open across periodic reads (the agent's month-to-date SLA refresh, in a worker
    thread) and opened again when the store file is replaced (deleted, restored from a backup).

    Why not a new reader each time: besides the cost of opening, SQLite's unix VFS does not close a connection's
    file descriptor while another connection of the same process holds a lock on that file (POSIX locks belong
    to the process, so closing would drop the writer's); it parks the descriptor until the locks are gone. A
    reader opened and closed every minute beside a busy writer therefore shows a descriptor that comes and
    goes. One reader for the agent's lifetime keeps the count constant.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._reader: HistoryReader | None = None
        self._file_id: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def reading(self) -> Iterator[HistoryReader]:
        """The reader, for one use at a time; HistoryError when the store is missing, unreadable or closed."""
        with self._lock:
            if self._closed:
                raise HistoryError(f"history {self.path}: the reader is closed")
            file_id = _identity(self.path)
            if self._reader is not None and file_id != self._file_id:
                self._drop()  # replaced or deleted: read the file that is there now
            if self._reader is None:
                self._reader = HistoryReader(self.path)
                self._file_id = file_id
            try:
                yield self._reader
            finally:
                if self._closed:
                    self._drop()

    def close(self) -> None:
        """Close the reader now, or when the use in progress ends (waits at most 0.2 s, never blocks stop)."""
        self._closed = True
        if self._lock.acquire(timeout=0.2):
            try:
                self._drop()
            finally:
                self._lock.release()

    def _drop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the store file, None when it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
