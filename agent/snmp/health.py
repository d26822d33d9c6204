"""The monthly system health check of managed equipment, computed from history (no I/O of its own).

Per device: availability (from the target's confirmed up/down transitions, with poll success beside it),
reboots (poll-detected and coldStart/warmStart traps, one per incident), interface flaps, threshold
breaches with their longest durations, and the worst hours of the month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from agent.core.model import Transition
from agent.snmp.events import LINK_DOWN, REBOOT, THRESHOLD, TRAP

SAME_INCIDENT = timedelta(minutes=10)
"""A trap and the next poll report the same reboot or link flap when they are this close."""
LOOKBACK = timedelta(days=62)
"""How far before the month the device's state at its start is searched for."""
WORST_HOURS = 5


class EventLike(Protocol):
    """An event row as HistoryReader.events returns it."""

    @property
    def kind(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


class RollupLike(Protocol):
    """A daily rollup as HistoryReader.daily_rollups returns it."""

    @property
    def ok(self) -> int: ...

    @property
    def failed(self) -> int: ...


class HistorySource(Protocol):
    """The part of agent.history.reader.HistoryReader the report reads."""

    def transitions(
        self, start: datetime, end: datetime, *, subject: str | None = None, id: str | None = None
    ) -> list[Transition]: ...

    def events(
        self,
        kind: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        subject: str | None = None,
    ) -> Sequence[EventLike]: ...

    def daily_rollups(self, target: str, first_day: date, last_day: date) -> Sequence[RollupLike]: ...


@dataclass(frozen=True)
class Breach:
    """One stretch of a check above its warn or crit threshold."""

    check: str
    start: datetime
    end: datetime
    level: str
    peak: float

    @property
    def seconds(self) -> float:
        """Its length."""
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class HourScore:
    """One clock hour of the month and what went wrong in it."""

    start: datetime
    down_seconds: float
    breach_seconds: float
    events: int


@dataclass
class DeviceHealth:
    """The month of one device."""

    target: str
    name: str
    observed_seconds: float = 0.0
    down_seconds: float = 0.0
    polls_ok: int = 0
    polls_failed: int = 0
    reboots: list[datetime] = field(default_factory=list)
    flaps: dict[str, int] = field(default_factory=dict)
    breaches: list[Breach] = field(default_factory=list)
    worst_hours: list[HourScore] = field(default_factory=list)

    @property
    def availability(self) -> float | None:
        """Percent of observed time the device was not confirmed down (None when never observed)."""
        if self.observed_seconds <= 0:
            return None
        return 100.0 * (1 - self.down_seconds / self.observed_seconds)

    @property
    def poll_success(self) -> float | None:
        """Percent of polls (outside maintenance) that succeeded."""
        total = self.polls_ok + self.polls_failed
        return None if total == 0 else 100.0 * self.polls_ok / total


@dataclass
class MonthlyHealth:
    """The whole report."""

    month: str
    start: datetime
    end: datetime
    devices: list[DeviceHealth]


def build_report(
    source: HistorySource, devices: Mapping[str, str], month: str, start: datetime, end: datetime
) -> MonthlyHealth:
    """The report for `devices` (target id -> display name) over [start, end)."""
    return MonthlyHealth(month, start, end, [device_health(source, t, n, start, end) for t, n in devices.items()])


def device_health(source: HistorySource, target: str, name: str, start: datetime, end: datetime) -> DeviceHealth:
    """One device's month."""
    h = DeviceHealth(target, name)
    down = _down_spans(source.transitions(start - LOOKBACK, end, subject="target", id=target), start, end, h)
    last_day = (end - timedelta(microseconds=1)).date()
    for r in source.daily_rollups(target, start.date(), last_day):
        h.polls_ok += r.ok
        h.polls_failed += r.failed
    events = list(source.events(start=start, end=end, subject=target))
    h.reboots = _incidents([e.at for e in events if _is_reboot(e)])
    h.flaps = _flaps(events)
    h.breaches = _breaches([e for e in events if e.kind == THRESHOLD], end)
    h.worst_hours = _worst_hours(down, h.breaches, events)
    return h


def _down_spans(
    transitions: list[Transition], start: datetime, end: datetime, h: DeviceHealth
) -> list[tuple[datetime, datetime]]:
    state: str | None = None
    since = start
    spans: list[tuple[datetime, datetime]] = []
    for t in transitions:
        at = max(t.at, start)
        if at > since and state is not None:
            _account(state, since, at, h, spans)
        state, since = t.new, at
    if state is not None and end > since:
        _account(state, since, end, h, spans)
    return spans


def _account(state: str, a: datetime, b: datetime, h: DeviceHealth, spans: list[tuple[datetime, datetime]]) -> None:
    if state == "unknown":
        return
    h.observed_seconds += (b - a).total_seconds()
    if state == "down":
        h.down_seconds += (b - a).total_seconds()
        spans.append((a, b))


def _is_reboot(e: EventLike) -> bool:
    return e.kind == REBOOT or (e.kind == TRAP and e.data.get("trap") in ("cold_start", "warm_start"))


def _incidents(times: list[datetime]) -> list[datetime]:
    """Signals close together (a coldStart trap, then the poll that sees uptime reset) are one incident."""
    out: list[datetime] = []
    for at in sorted(times):
        if not out or at - out[-1] > SAME_INCIDENT:
            out.append(at)
    return out


def _flaps(events: list[EventLike]) -> dict[str, int]:
    downs: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        if e.kind == LINK_DOWN or (e.kind == TRAP and e.data.get("trap") == "link_down"):
            iface = str(e.data.get("interface") or f"ifIndex {e.data.get('if_index', '?')}")
            downs[iface].append(e.at)
    return {iface: len(_incidents(times)) for iface, times in sorted(downs.items())}


def _breaches(events: list[EventLike], end: datetime) -> list[Breach]:
    open_: dict[str, tuple[datetime, str, float]] = {}
    out: list[Breach] = []
    for e in sorted(events, key=lambda e: e.at):
        check, level = str(e.data.get("check", "?")), str(e.data.get("level", "ok"))
        value = float(e.data.get("value", 0.0))
        current = open_.get(check)
        if current is not None and level == "ok":
            out.append(Breach(check, current[0], e.at, current[1], current[2]))
            del open_[check]
        elif current is not None:
            worst = "crit" if "crit" in (level, current[1]) else "warn"
            open_[check] = (current[0], worst, max(current[2], value))
        elif level != "ok":
            open_[check] = (e.at, level, value)
    out += [Breach(c, s, end, lvl, peak) for c, (s, lvl, peak) in open_.items()]
    return sorted(out, key=lambda b: (-b.seconds, b.check))


def _worst_hours(
    down: list[tuple[datetime, datetime]], breaches: list[Breach], events: list[EventLike]
) -> list[HourScore]:
    down_s: dict[datetime, float] = defaultdict(float)
    breach_s: dict[datetime, float] = defaultdict(float)
    count: dict[datetime, int] = defaultdict(int)
    for a, b in down:
        _spread(a, b, down_s)
    for br in breaches:
        _spread(br.start, br.end, breach_s)
    for e in events:
        count[_hour(e.at)] += 1
    hours = set(down_s) | set(breach_s) | set(count)
    scores = [HourScore(h, down_s[h], breach_s[h], count[h]) for h in hours]
    scores.sort(key=lambda s: (-s.down_seconds, -s.breach_seconds, -s.events, s.start))
    return scores[:WORST_HOURS]


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _spread(a: datetime, b: datetime, into: dict[datetime, float]) -> None:
    """Add the seconds of [a, b) to each UTC hour it covers."""
    cursor = a
    while cursor < b:
        nxt = min(_hour(cursor) + timedelta(hours=1), b)
        into[_hour(cursor)] += (nxt - cursor).total_seconds()
        cursor = nxt
