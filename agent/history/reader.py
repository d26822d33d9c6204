"""Read-only access to the history store, for the status page, the SLA and reports (safe beside a writer)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Literal, cast

from agent.core.clock import utc
from agent.core.model import ProbeResult, Status, Transition
from agent.history.downtime import merge, target_down_spans
from agent.history.schema import (
    FLAG_DEGRADED,
    FLAG_MAINTENANCE,
    SCHEMA_VERSION,
    HistoryError,
    day_from_number,
    day_number,
    from_ms,
    to_ms,
)

_STATUSES = {s.value: s for s in Status}

# Skip-scan the (subject, name, at_ms) index for each component's name, then take its newest row (ties in
# the same ms go to the later insert): a few index seeks per component instead of reading every transition.
_LAST_ROW_SQL = """
WITH RECURSIVE names(n) AS (
  SELECT MIN(name) FROM transitions WHERE subject = :s
  UNION ALL
  SELECT (SELECT MIN(name) FROM transitions WHERE subject = :s AND name > n) FROM names
  WHERE n IS NOT NULL)
SELECT t.name, t.old, t.new, t.at_ms, t.component FROM names JOIN transitions t ON t.id = (
  SELECT id FROM transitions WHERE subject = :s AND name = names.n
  ORDER BY at_ms DESC, id DESC LIMIT 1)
"""
# The newest result of any series: one index seek per series, not a scan of every result.
_LAST_RESULT_SQL = "SELECT MAX((SELECT MAX(started_ms) FROM results WHERE series = s.id)) FROM series s"


@dataclass(frozen=True, slots=True)
class StatusInterval:
    """A stretch of time [start, end) during which a component had one status."""

    start: datetime
    end: datetime
    status: Status


@dataclass(frozen=True, slots=True)
class DailyRollup:
    """One target's results over one UTC day; maintenance results are counted apart from ok and failed."""

    target: str
    day: date
    ok: int
    failed: int
    maintenance: int
    duration_sum: float

    @property
    def total(self) -> int:
        """Every result of the day."""
        return self.ok + self.failed + self.maintenance


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened besides a probe result: an SNMP trap, a reboot, a config reload."""

    kind: str
    subject: str
    at: datetime
    data: Mapping[str, Any]


class HistoryReader:
    """A read-only connection to the store; opens nothing for writing, so it runs beside the writer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            if self.path.is_absolute():
                raise HistoryError(f"history {self.path}: no such file (has the agent run yet?)")
            # A relative history.path follows the working directory, not the config file: say where it looked.
            raise HistoryError(
                f"history {self.path}: no such file: {self.path.absolute()} (history.path is "
                "relative to the working directory; has the agent run from there yet?)"
            )
        try:
            self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise HistoryError(f"history {self.path}: cannot open for reading: {exc}") from None
        if version != SCHEMA_VERSION:
            self._conn.close()
            raise HistoryError(f"history {self.path}: schema version {version}, this dialtone reads {SCHEMA_VERSION}")
        # One connection shared by threads (status page renders in a worker thread): serialise its use.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"history {self.path}: read failed: {exc}") from None

    def transitions(
        self, start: datetime, end: datetime, *, subject: str | None = None, id: str | None = None
    ) -> list[Transition]:
        """Transitions with start <= at < end, oldest first, optionally of one subject kind and/or id."""
        sql = (
            "SELECT subject, name, at_ms, old, new, cause, component, since_ms, quality FROM transitions"
            " WHERE at_ms >= ? AND at_ms < ?"
        )
        params: list[Any] = [_ms(start), _ms(end)]
        if subject is not None:
            sql += " AND subject = ?"
            params.append(subject)
        if id is not None:
            sql += " AND name = ?"
            params.append(id)
        rows = self._query(sql + " ORDER BY at_ms, id", tuple(params))
        return [
            Transition(
                cast(Literal["target", "component"], s),
                n,
                from_ms(at),
                old,
                new,
                cause,
                component,
                None if since is None else from_ms(since),
                bool(quality),
            )
            for s, n, at, old, new, cause, component, since, quality in rows
        ]

    def status_intervals(self, component: str, start: datetime, end: datetime) -> list[StatusInterval]:
        """The component's status timeline clipped to [start, end).

        Time before the component's first recorded transition is unknown and left out; the last status
        extends to `end` (pass end=now for the current period).
        """
        edge = _Edges(start, end)
        return [StatusInterval(edge(a), edge(b), s) for a, b, s in self._spans(component, start, end)]

    def down_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The contract's downtime: where a target of the component was confirmed down, not answering
        (maintenance masks the status, not the targets), merged and backdated (agent.history.downtime)."""
        # Works on integer ms and builds datetimes only for the outages: the SLA report calls this a lot.
        contract, quality = target_down_spans(self._query, component, _ms(start), _ms(end))
        if not contract and not quality:  # no target history (an aggregated store): the statuses say it
            contract = [(a, b) for a, b, s in self._spans(component, start, end, backdated=True) if s.is_outage]
        edge = _Edges(start, end)
        return [(edge(a), edge(b)) for a, b in merge(contract)]

    def quality_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Where a target of the component was down only because answered calls had no usable audio."""
        _, quality = target_down_spans(self._query, component, _ms(start), _ms(end))
        edge = _Edges(start, end)
        return [(edge(a), edge(b)) for a, b in quality]

    def _spans(
        self, component: str, start: datetime, end: datetime, *, backdated: bool = False
    ) -> list[tuple[int, int, Status]]:
        lo, hi = _ms(start), _ms(end)
        if hi <= lo:
            return []
        at = "COALESCE(since_ms, at_ms)" if backdated else "at_ms"  # the state machine keeps since in order
        before = self._query(
            f"SELECT new FROM transitions WHERE subject = 'component' AND name = ? AND {at} <= ? "
            f"ORDER BY {at} DESC, id DESC LIMIT 1",
            (component, lo),
        )
        inside = self._query(
            f"SELECT {at}, new FROM transitions WHERE subject = 'component' AND name = ? "
            f"AND {at} > ? AND {at} < ? ORDER BY {at}, id",
            (component, lo, hi),
        )
        points: list[tuple[int, Status | None]] = []
        if before:
            points.append((lo, _STATUSES.get(before[0][0])))
        points.extend((at, _STATUSES.get(new)) for at, new in inside)
        return _merge(points, hi)

    def daily_rollups(self, target: str, first_day: date, last_day: date) -> list[DailyRollup]:
        """Per UTC day from first_day to last_day inclusive; days without any result are absent."""
        rows = self._query(
            "SELECT day, ok, failed, maintenance, duration_sum FROM rollups "
            "WHERE target = ? AND day >= ? AND day <= ? ORDER BY day",
            (target, day_number(first_day), day_number(last_day)),
        )
        return [DailyRollup(target, day_from_number(d), ok, f, m, s) for d, ok, f, m, s in rows]

    def results(self, target: str, start: datetime, end: datetime, limit: int = 1000) -> list[ProbeResult]:
        """The newest `limit` results of a target with start <= started_at < end, oldest first."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        rows = self._query(
            "SELECT s.kind, s.vantage, r.started_ms, r.duration_us, r.ok, r.flags, r.error, r.message, "
            "r.data "
            "FROM series s JOIN results r ON r.series = s.id "
            "WHERE s.target = ? AND r.started_ms >= ? AND r.started_ms < ? "
            "ORDER BY r.started_ms DESC, r.rowid DESC LIMIT ?",
            (target, _ms(start), _ms(end), limit),
        )
        return [_result(target, row) for row in reversed(rows)]

    def events(
        self,
        kind: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        subject: str | None = None,
    ) -> list[Event]:
        """Events, oldest first, filtered by kind, subject and start <= at < end."""
        sql, params = "SELECT kind, subject, at_ms, data FROM events WHERE 1", []
        for clause, value in (
            (" AND kind = ?", kind),
            (" AND at_ms >= ?", None if start is None else _ms(start)),
            (" AND at_ms < ?", None if end is None else _ms(end)),
            (" AND subject = ?", subject),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        rows = self._query(sql + " ORDER BY at_ms, id", tuple(params))
        return [Event(k, s, from_ms(at), MappingProxyType(json.loads(d) if d else {})) for k, s, at, d in rows]

    def last_component_status(self) -> dict[str, tuple[Status, datetime]]:
        """Each component's latest recorded status and when it began (none while its latest is "unknown")."""
        rows = self.last_transitions("component")
        return {name: (_STATUSES[t.new], t.at) for name, t in rows.items() if t.new in _STATUSES}

    def last_transitions(self, subject: Literal["target", "component"]) -> dict[str, Transition]:
        """The newest transition of each target or component."""
        rows = self._query(_LAST_ROW_SQL, {"s": subject})
        return {
            name: Transition(subject, name, from_ms(at), old, new, "", component)
            for name, old, new, at, component in rows
        }

    def first_transition_at(self) -> datetime | None:
        """When the oldest kept transition happened: how far back history (and so the SLA record) goes."""
        rows = self._query("SELECT MIN(at_ms) FROM transitions")
        return from_ms(rows[0][0]) if rows and rows[0][0] is not None else None

    def last_result_at(self) -> datetime | None:
        """When the newest recorded result started: the agent's last sign of life before a restart."""
        rows = self._query(_LAST_RESULT_SQL)
        return from_ms(rows[0][0]) if rows and rows[0][0] is not None else None


def _ms(at: datetime) -> int:
    return to_ms(utc(at))


def _merge(points: list[tuple[int, Status | None]], hi: int) -> list[tuple[int, int, Status]]:
    """Change points (ms, status; None = not a status) to merged, non-empty spans [a, b) ending by `hi`."""
    out: list[tuple[int, int, Status]] = []
    open_at, current = 0, None
    for at, status in [*points, (hi, None)]:
        if status == current and at != hi:
            continue
        if current is not None and at > open_at:
            if out and out[-1][2] == current and out[-1][1] == open_at:
                out[-1] = (out[-1][0], at, current)
            else:
                out.append((open_at, at, current))
        open_at, current = at, status
    return out


def _result(target: str, row: tuple[Any, ...]) -> ProbeResult:
    kind, vantage, ms, dur_us, ok, flags, error, message, data = row
    doc = json.loads(data) if data else {}
    return ProbeResult(
        target=target,
        kind=kind,
        started_at=from_ms(ms),
        duration=dur_us / 1_000_000,
        ok=bool(ok),
        error=error or "",
        message=message or "",
        phases=doc.get("p", {}),
        values=doc.get("v", {}),
        vantage=vantage,
        maintenance=bool(flags & FLAG_MAINTENANCE),
        degraded=bool(flags & FLAG_DEGRADED),
    )


class _Edges:
    """Maps span bounds back to datetimes, giving the caller's own start and end exactly where a span is clipped
    (history keeps milliseconds; `end=now` must come back as `now`, not a microsecond earlier)."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.lo, self.hi = _ms(start), _ms(end)

    def __call__(self, ms: int) -> datetime:
        if ms == self.hi:
            return self.end
        if ms == self.lo:
            return self.start
        return from_ms(ms)
