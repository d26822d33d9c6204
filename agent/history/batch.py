"""Rows on their way into the history store: conversion to compact rows, one-transaction commit, pruning."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.core.model import ProbeResult, Transition
from agent.history.schema import DAY_MS, FLAG_DEGRADED, FLAG_MAINTENANCE, to_ms

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_RESULT_SQL = "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_ROLLUP_SQL = (
    "INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, day) DO UPDATE SET "
    "ok = ok + excluded.ok, failed = failed + excluded.failed, "
    "maintenance = maintenance + excluded.maintenance, duration_sum = duration_sum + excluded.duration_sum"
)
_TRANSITION_SQL = (
    "INSERT INTO transitions (subject, name, component, at_ms, old, new, cause, since_ms, quality)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_SQL = "INSERT INTO events (kind, subject, at_ms, data) VALUES (?, ?, ?, ?)"

SeriesKey = tuple[str, str, str]
"""(target, kind, vantage): interned to an integer id in the `series` table."""
ResultRow = tuple[SeriesKey, int, int, int, int, str | None, str | None, str | None]


@dataclass
class Batch:
    """Rows converted but not yet committed; kept across failed commits so nothing is converted twice."""

    message_limit: int = 200
    results: list[ResultRow] = field(default_factory=list)
    # (target, day) -> [ok, failed, maintenance, duration_sum]: tiny, so kept even when rows are trimmed.
    rollups: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    transitions: list[tuple[str, str, str, int, str, str, str, int | None, int]] = field(default_factory=list)
    events: list[tuple[str, str, int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.results) + len(self.transitions) + len(self.events)

    def add_result(self, r: ProbeResult) -> None:
        """Convert one result and count it in its day's rollup; raises for an unstorable result."""
        ms = to_ms(r.started_at)
        phases, values = r.phases, r.values
        data: str | None = None
        if phases or values:
            doc: dict[str, Any] = {}
            if phases:
                doc["p"] = phases if type(phases) is dict else dict(phases)
            if values:
                doc["v"] = values if type(values) is dict else dict(values)
            data = _ENCODER.encode(doc)
        flags = (FLAG_MAINTENANCE if r.maintenance else 0) | (FLAG_DEGRADED if r.degraded else 0)
        self.results.append(
            (
                (r.target, r.kind, r.vantage),
                ms,
                round(r.duration * 1_000_000),
                1 if r.ok else 0,
                flags,
                r.error or None,
                r.message[: self.message_limit] or None,
                data,
            )
        )
        key = (r.target, ms // DAY_MS)
        agg = self.rollups.get(key)
        if agg is None:
            agg = self.rollups[key] = [0, 0, 0, 0.0]
        # Maintenance results are counted apart: they are neither availability nor unavailability.
        agg[2 if r.maintenance else 0 if r.ok else 1] += 1
        agg[3] += r.duration

    def add_transition(self, t: Transition) -> None:
        """Convert one transition; raises for an unstorable one."""
        self.transitions.append(
            (
                t.subject,
                t.id,
                t.component,
                to_ms(t.at),
                str(t.old),
                str(t.new),
                t.cause[: self.message_limit],
                None if t.since is None else to_ms(t.since),
                int(t.quality),
            )
        )

    def add_event(self, kind: str, subject: str, at: datetime, data: Mapping[str, Any]) -> None:
        """Convert one event; its data becomes compact JSON (non-JSON values as their text)."""
        self.events.append((kind, subject, to_ms(at), _ENCODER.encode(dict(data))))

    def trim(self, limit: int) -> int:
        """Keep the newest `limit` rows of each kind; returns how many were thrown away."""
        dropped = 0
        for rows in (self.results, self.transitions, self.events):
            excess = len(rows) - limit
            if excess > 0:
                del rows[:excess]
                dropped += excess
        return dropped


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (a failed ROLLBACK is left to the reconnect)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def commit(conn: sqlite3.Connection, batch: Batch, series: dict[SeriesKey, int]) -> None:
    """Write the whole batch in one transaction; `series` caches interned ids and is cleared on failure."""
    try:
        with transaction(conn):
            rows = [(series.get(row[0]) or _intern(conn, row[0], series), *row[1:]) for row in batch.results]
            conn.executemany(_RESULT_SQL, rows)
            conn.executemany(_ROLLUP_SQL, [(t, d, *agg) for (t, d), agg in batch.rollups.items()])
            conn.executemany(_TRANSITION_SQL, batch.transitions)
            conn.executemany(_EVENT_SQL, batch.events)
    except BaseException:
        # Ids interned inside the rolled-back transaction vanish with it.
        series.clear()
        raise


def _intern(conn: sqlite3.Connection, key: SeriesKey, series: dict[SeriesKey, int]) -> int:
    conn.execute("INSERT OR IGNORE INTO series (target, kind, vantage) VALUES (?, ?, ?)", key)
    row = conn.execute("SELECT id FROM series WHERE target = ? AND kind = ? AND vantage = ?", key).fetchone()
    series[key] = int(row[0])
    return series[key]


def prune(conn: sqlite3.Connection, now: datetime, retention: tuple[float, float, float]) -> None:
    """Delete results, transitions+events and rollups older than their retention (seconds; 0 = forever)."""
    now_ms = to_ms(now)
    results, transitions, rollups = (int(r * 1000) for r in retention)
    with transaction(conn):
        # Per series and per target so each DELETE walks an index instead of the whole table.
        if results > 0:
            for (sid,) in conn.execute("SELECT id FROM series").fetchall():
                conn.execute("DELETE FROM results WHERE series = ? AND started_ms < ?", (sid, now_ms - results))
        if rollups > 0:
            first_day = (now_ms - rollups) // DAY_MS
            for (target,) in conn.execute("SELECT DISTINCT target FROM series").fetchall():
                conn.execute("DELETE FROM rollups WHERE target = ? AND day < ?", (target, first_day))
        if transitions > 0:
            conn.execute("DELETE FROM transitions WHERE at_ms < ?", (now_ms - transitions,))
            conn.execute("DELETE FROM events WHERE at_ms < ?", (now_ms - transitions,))
