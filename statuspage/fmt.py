"""Formatting helpers the templates call as `f.dt(...)`, bound to one language and the page's zone."""

from __future__ import annotations

import datetime as _dt
from datetime import datetime
from zoneinfo import ZoneInfo

from statuspage import feeds
from statuspage.i18n import Locale


class Fmt:
    """Formatting helpers the templates call as `f.dt(...)`, bound to one language and the page's zone."""

    def __init__(self, loc: Locale, zone: ZoneInfo) -> None:
        self.loc, self.zone = loc, zone
        self._zones: dict[str, ZoneInfo] = {}

    def dt(self, at: datetime, zone: str | None = None) -> str:
        """A date and time in the page zone (or `zone`)."""
        if zone is None:
            return self.loc.datetime(at, self.zone)
        tz = self._zones.get(zone) or self._zones.setdefault(zone, ZoneInfo(zone))
        return self.loc.datetime(at, tz)

    def date(self, d: _dt.date | datetime) -> str:
        """A date (an instant is shown as its date in the page zone)."""
        return self.loc.date(d.astimezone(self.zone).date() if isinstance(d, datetime) else d)

    def day(self, d: _dt.date) -> str:
        """A day heading with its weekday."""
        return self.loc.day(d)

    def month(self, d: _dt.date) -> str:
        """A month and year."""
        return self.loc.month(d)

    def iso(self, at: datetime) -> str:
        """Machine-readable UTC instant."""
        return feeds.iso(at) or ""

    def minutes(self, minutes: float) -> str:
        """A duration in hours and minutes."""
        return self.loc.duration(minutes)

    def pct(self, value: float | None, digits: int = 2) -> str:
        """A percentage (value already in percent)."""
        return self.loc.percent(value, digits)

    def num(self, value: float) -> str:
        """A number with at most two decimals."""
        return self.loc.number(value, 0 if float(value).is_integer() else 2)
