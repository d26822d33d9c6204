"""Maintenance windows as RFC 5545 recurrences (DTSTART in a named zone, RRULE, duration, EXDATE).

Pure: no I/O, and every query takes the `now` it answers for. Occurrences are expanded in local wall time and
then converted to UTC, so windows that cross midnight, DST changes and year ends are exact. A local start
time that does not exist (the spring-forward gap) or exists twice (the fall-back hour) is resolved as
RFC 5545 section 3.3.5 says: a gap time takes the UTC offset in force before the gap (02:30 becomes 03:30
daylight time); an ambiguous time is the first of the two (daylight time). zoneinfo's fold=0 does exactly
this. A window's duration is elapsed time (RFC 5545 counts hours as exact durations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import model_validator

from agent.core.config_base import ConfigModel
from agent.maintenance.rules import (
    WindowConfig,
    WindowKind,
    default_windows,
    parse_rule,
    to_local_naive,
    zone,
)

if TYPE_CHECKING:
    from dateutil.rrule import rrule as Rule

__all__ = [
    "MaintenanceCalendar",
    "MaintenanceConfig",
    "NoticeError",
    "Occurrence",
    "WindowConfig",
    "WindowKind",
]

NOTICE: dict[str, timedelta] = {
    "standard": timedelta(days=7),
    "planned": timedelta(hours=24),
    "emergency": timedelta(0),
    "informational": timedelta(0),
}
"""Required notice per window kind (the contract: one week for the standard window, 24 h for other work)."""

_HORIZONS = (timedelta(days=45), timedelta(days=400), timedelta(days=4000))


class NoticeError(ValueError):
    """A planned window was published with less notice than its kind requires."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One expanded window: UTC start and end, its scope (empty = every component) and its notice."""

    window: str
    title: str
    kind: str
    start: datetime
    end: datetime
    zone: str
    components: frozenset[str]
    notice_at: datetime
    emergency: bool = False
    reason: str = ""

    @property
    def counted(self) -> bool:
        """True when the window masks status and SLA (informational windows are only shown)."""
        return self.kind != "informational"

    def applies_to(self, component: str) -> bool:
        """True when the window covers `component`."""
        return not self.components or component in self.components

    def local(self, at: datetime) -> datetime:
        """`at` in the window's own zone."""
        return at.astimezone(ZoneInfo(self.zone))

    def to_json(self) -> dict[str, object]:
        """A stable JSON shape for the CLI and the status page."""
        return {
            "window": self.window,
            "title": self.title,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "zone": self.zone,
            "local_start": self.local(self.start).isoformat(),
            "local_end": self.local(self.end).isoformat(),
            "components": sorted(self.components),
            "notice_at": self.notice_at.isoformat(),
            "emergency": self.emergency,
            "reason": self.reason,
        }


class Series:
    """One configured window, expandable over any UTC range."""

    def __init__(self, config: WindowConfig, short_notice: Literal["refuse", "emergency"]) -> None:
        self.config = config
        self._tz = zone(config.zone)
        self._rule: Rule | None = parse_rule(config) if config.rrule else None
        self._duration = timedelta(seconds=config.duration)
        self._exdates = {to_local_naive(x, self._tz) for x in config.exdates}
        self._notice = NOTICE[config.kind]
        self._published = config.published.astimezone(UTC) if config.published else None
        self._policy = short_notice
        self._components = frozenset(config.components)

    @property
    def duration(self) -> timedelta:
        """The elapsed length of each occurrence."""
        return self._duration

    def local_starts(self, lo: datetime, hi: datetime) -> list[datetime]:
        """Naive local starts with lo <= start <= hi, EXDATEs removed."""
        if self._rule is None:
            starts = [self.config.start] if lo <= self.config.start <= hi else []
        else:
            starts = self._rule.between(lo, hi, inc=True)
        return [s for s in starts if s not in self._exdates]

    def occurrences(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences overlapping [start, end) (aware datetimes), oldest first."""
        # Local bounds padded by a day: no zone's offset moves by more than that.
        lo = to_local_naive(start - self._duration, self._tz) - timedelta(days=1)
        hi = to_local_naive(end, self._tz) + timedelta(days=1)
        out = []
        for local in self.local_starts(lo, hi):
            s = local.replace(tzinfo=self._tz).astimezone(UTC)
            if s < end and s + self._duration > start:
                out.append(self._occurrence(s))
        return out

    def short_notice(self) -> list[tuple[datetime, timedelta]]:
        """(start, notice given) of each occurrence published with less than the required notice."""
        if self._published is None or not self._notice:
            return []
        cutoff = self._published + self._notice
        first = self.config.start.replace(tzinfo=self._tz).astimezone(UTC)
        found = self.occurrences(first, cutoff)
        return [(o.start, o.start - self._published) for o in found if o.start < cutoff]

    def _occurrence(self, start: datetime) -> Occurrence:
        c = self.config
        notice_at = self._published or (start - self._notice)
        emergency, reason = c.kind == "emergency", c.reason
        if not emergency and self._published is not None and start - self._published < self._notice:
            # Only reachable with short_notice: emergency; "refuse" rejects the config at load time.
            emergency = True
            reason = reason or _short_reason(start - self._published, self._notice)
        return Occurrence(
            window=c.id,
            title=c.title or c.id,
            kind=c.kind,
            start=start,
            end=start + self._duration,
            zone=c.zone,
            components=self._components,
            notice_at=notice_at,
            emergency=emergency,
            reason=reason,
        )


def _hours(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:g} h"


def _short_reason(given: timedelta, required: timedelta) -> str:
    return f"short notice: {_hours(max(given, timedelta(0)))} given, {_hours(required)} required"


class MaintenanceConfig(ConfigModel):
    """The `maintenance:` block: the contract's windows plus any configured ones."""

    standard: bool = True
    certificate_upload: bool = True
    short_notice: Literal["refuse", "emergency"] = "refuse"
    zone: str = "America/Denver"
    windows: list[WindowConfig] = []

    def all_windows(self) -> list[WindowConfig]:
        """Configured windows plus the enabled built-in ones."""
        return [*default_windows(self.standard, self.certificate_upload), *self.windows]

    @model_validator(mode="after")
    def _check(self) -> MaintenanceConfig:
        zone(self.zone)
        seen: set[str] = set()
        for w in self.all_windows():
            if w.id in seen:
                raise ValueError(f"windows: duplicate window id {w.id!r}")
            seen.add(w.id)
            if self.short_notice == "refuse":
                check_notice(w)
        return self


def check_notice(window: WindowConfig) -> None:
    """Raise NoticeError when any occurrence of `window` was published with too little notice."""
    short = Series(window, "refuse").short_notice()
    if short:
        start, given = short[0]
        raise NoticeError(
            f"window {window.id}: {window.kind} work starting {start.isoformat()} has "
            f"{_short_reason(given, NOTICE[window.kind])}; publish earlier, move it, mark it "
            "kind: emergency with a reason, or set maintenance.short_notice: emergency"
        )


@dataclass(slots=True)
class _State:
    valid_from: datetime
    valid_until: datetime
    current: Occurrence | None
    upcoming: Occurrence | None


class MaintenanceCalendar:
    """Answers "is this component in maintenance at `now`?" and lists windows; pure apart from a cache."""

    def __init__(self, config: MaintenanceConfig | None = None) -> None:
        self.config = config or MaintenanceConfig()
        self.series = [Series(w, self.config.short_notice) for w in self.config.all_windows()]
        counted = [s.duration for s in self.series if s.config.kind != "informational"]
        self._longest = max(counted, default=timedelta(0))
        self._cache: dict[str, _State] = {}

    def occurrences(
        self, start: datetime, end: datetime, component: str | None = None, *, informational: bool = True
    ) -> list[Occurrence]:
        """Occurrences overlapping [start, end), by start; only those covering `component` if given."""
        out: list[Occurrence] = []
        for s in self.series:
            if not informational and s.config.kind == "informational":
                continue
            out.extend(o for o in s.occurrences(start, end) if component is None or o.applies_to(component))
        out.sort(key=lambda o: (o.start, o.window))
        return out

    def maintenance_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Counted (non-informational) windows covering `component` that overlap [start, end)."""
        return [(o.start, o.end) for o in self.occurrences(start, end, component, informational=False)]

    def current(self, component: str, now: datetime) -> Occurrence | None:
        """The counted window `component` is inside at `now` (the one ending last), if any."""
        return self._state(component, now).current

    def active(self, component: str, now: datetime) -> bool:
        """True while `component` is inside a counted maintenance window (cheap: cached per component)."""
        return self._state(component, now).current is not None

    def next_occurrence(self, component: str, now: datetime) -> Occurrence | None:
        """The first counted window covering `component` that starts after `now`."""
        return self._state(component, now).upcoming

    def next_start(self, component: str, now: datetime) -> datetime | None:
        """Start (UTC) of the next counted window after `now`, or None if none within ~11 years."""
        upcoming = self._state(component, now).upcoming
        return upcoming.start if upcoming else None

    def notice_published(self, component: str, now: datetime) -> bool:
        """True once the notice of the component's next window has gone out to customers."""
        upcoming = self._state(component, now).upcoming
        return upcoming is not None and upcoming.notice_at <= now

    def _state(self, component: str, now: datetime) -> _State:
        cached = self._cache.get(component)
        if cached is not None and cached.valid_from <= now < cached.valid_until:
            return cached
        state = self._compute(component, now)
        self._cache[component] = state
        return state

    def _compute(self, component: str, now: datetime) -> _State:
        for horizon in _HORIZONS:
            found = self.occurrences(now - self._longest, now + horizon, component, informational=False)
            current = _ending_last(o for o in found if o.start <= now < o.end)
            upcoming = next((o for o in found if o.start > now), None)
            if upcoming is not None or horizon == _HORIZONS[-1]:
                break
        # The answer holds until a window opens or closes or the next notice goes out.
        until = [now + horizon]
        if current is not None:
            until.append(current.end)
        if upcoming is not None:
            until.append(upcoming.start)
            if upcoming.notice_at > now:
                until.append(upcoming.notice_at)
        return _State(now, min(until), current, upcoming)


def _ending_last(found: Iterable[Occurrence]) -> Occurrence | None:
    return max(found, key=lambda o: o.end, default=None)


def window_configs(calendar: MaintenanceCalendar) -> Sequence[WindowConfig]:
    """The window definitions behind `calendar` (for the iCalendar feed)."""
    return [s.config for s in calendar.series]


def build_ics(
    calendar: MaintenanceCalendar,
    *,
    now: datetime,
    name: str = "Maintenance",
    uid_domain: str = "dialtone",
    names: Mapping[str, str] | None = None,
    url: str = "",
) -> bytes:
    """The iCalendar feed (RRULE, EXDATE, VTIMEZONE) of every window of `calendar`, stamped `now`; UIDs at
    `uid_domain` (the provider's), component `names` and a `url` for customers."""
    from agent.maintenance.ics import build_ics as build

    return build(window_configs(calendar), now=now, name=name, uid_domain=uid_domain, names=names, url=url)
