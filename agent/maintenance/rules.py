"""Window definitions (the `maintenance.windows[i]` config block) and their RFC 5545 rule parsing.

Kept apart from agent.maintenance.calendar so the expansion logic stays small; pure, no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from agent.core.config_base import ConfigModel, Duration, Identifier

if TYPE_CHECKING:
    from dateutil.rrule import rrule as Rule

WindowKind = Literal["standard", "planned", "emergency", "informational"]

STANDARD_RRULE = "FREQ=MONTHLY;BYDAY=3FR"
STANDARD_START = datetime(2020, 1, 17, 22, 0)  # the third Friday of January 2020, 22:00 local
CERTIFICATE_RRULE = "FREQ=WEEKLY;BYDAY=FR"
CERTIFICATE_START = datetime(2020, 1, 3, 0, 0)  # the first Friday of 2020, 00:00 local

_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_TOO_FINE = re.compile(r"FREQ=(SECONDLY|MINUTELY)", re.IGNORECASE)
CERTIFICATE_TITLE = "Weekly certificate upload (no customer impact)"
"""The built-in window's title: pages in other languages show their own words for it."""


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The named IANA zone; a clear ValueError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as America/Denver)") from None


def to_local_naive(at: datetime, tz: tzinfo) -> datetime:
    """An aware instant as naive wall time in `tz`; a naive value is taken as wall time already."""
    if at.tzinfo is None:
        return at
    return at.astimezone(tz).replace(tzinfo=None)


def _rule_text(config: WindowConfig) -> str:
    text = config.rrule or ""
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    tz = zone(config.zone)

    def local_until(m: re.Match[str]) -> str:
        # RFC 5545 writes UNTIL in UTC beside a zoned DTSTART; expansion runs in local wall time.
        instant = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + to_local_naive(instant, tz).strftime("%Y%m%dT%H%M%S")

    return _UNTIL_UTC.sub(local_until, text)


def parse_rule(config: WindowConfig) -> Rule:
    """The window's RRULE anchored at its naive local DTSTART."""
    from dateutil.rrule import rrule, rrulestr  # here: `zone` alone (deadlines) never loads dateutil

    text = _rule_text(config)
    if "DTSTART" in text.upper() or "\n" in text:
        raise ValueError("rrule: give only the RRULE value (e.g. FREQ=MONTHLY;BYDAY=3FR); start is separate")
    if _TOO_FINE.search(text):
        raise ValueError("rrule: FREQ must be HOURLY or coarser")
    try:
        rule = rrulestr(text, dtstart=config.start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"rrule: {exc}") from None
    if not isinstance(rule, rrule):
        raise ValueError("rrule: give a single RRULE")
    return rule


class WindowConfig(ConfigModel):
    """One maintenance window: a start in a named zone, an optional RRULE, a duration and a scope.

    `start` and `exdates` are local wall times in `zone` (a value with an offset is converted to it);
    `published` is when customers were told (an instant with an offset); `components` empty = all.
    """

    id: Identifier
    title: str = ""
    kind: WindowKind = "planned"
    start: datetime
    zone: str = "America/Denver"
    rrule: str | None = None
    duration: Duration
    exdates: list[datetime] = Field(default_factory=list)
    components: list[Identifier] = Field(default_factory=list)
    published: datetime | None = None
    reason: str = ""

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("duration must be greater than 0")
        return v

    @field_validator("published")
    @classmethod
    def _published(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("published needs a UTC offset, e.g. 2026-01-05T09:00:00-07:00")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> WindowConfig:
        tz = zone(self.zone)
        object.__setattr__(self, "start", to_local_naive(self.start, tz))
        if self.kind == "emergency" and not self.reason:
            raise ValueError("an emergency window needs a reason")
        if self.kind == "planned" and self.published is None:
            raise ValueError("planned work needs `published` (when customers were told) to check its notice")
        if self.rrule is None:
            if self.exdates:
                raise ValueError("exdates only apply to a window with an rrule")
            return self
        rule = parse_rule(self)
        if rule.after(self.start, inc=True) != self.start:
            raise ValueError(f"start {self.start.isoformat()} is not an occurrence of rrule {self.rrule}")
        for i, x in enumerate(self.exdates):
            local = to_local_naive(x, tz)
            if rule.after(local, inc=True) != local:
                raise ValueError(f"exdates[{i}]: {local.isoformat()} is not an occurrence of this window")
        return self


def default_windows(standard: bool, certificate_upload: bool) -> list[WindowConfig]:
    """The contract's built-in windows: the third-Friday standard window and the weekly certificate upload."""
    out: list[WindowConfig] = []
    if standard:
        out.append(
            WindowConfig(
                id="standard",
                title="Standard maintenance window",
                kind="standard",
                start=STANDARD_START,
                rrule=STANDARD_RRULE,
                duration=6 * 3600.0,
            )
        )
    if certificate_upload:
        out.append(
            WindowConfig(
                id="certificate-upload",
                title=CERTIFICATE_TITLE,
                kind="informational",
                start=CERTIFICATE_START,
                rrule=CERTIFICATE_RRULE,
                duration=1800.0,
            )
        )
    return out
