"""Formatting helpers the templates call as `f.dt(...)`, bound to one language and the page's zone."""

from __future__ import annotations

import datetime as _dt
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from statuspage import feeds
from statuspage.i18n import Locale

_DT_CACHE_LIMIT = 20_000


def floor_to(value: float, digits: int) -> float:
    """`value` cut down to `digits` decimals (the tiny epsilon keeps 99.95 from becoming 99.94 in binary)."""
    scale = 10.0**digits
    return math.floor(value * scale + 1e-7) / scale


class Fmt:
    """Formatting helpers the templates call as `f.dt(...)`, bound to one language and the page's zone."""

    def __init__(self, loc: Locale, zone: ZoneInfo) -> None:
        self.loc, self.zone = loc, zone
        self._zones: dict[str, ZoneInfo] = {}
        self._dts: dict[tuple[datetime, str | None], str] = {}
        self._isos: dict[datetime, str] = {}

    def dt(self, at: datetime, zone: str | None = None) -> str:
        """A date and time in the page zone (or `zone`)."""
        # Pages show the same instants again and again (an incident's start on its page, its card, the feed).
        key = (at, zone)
        text = self._dts.get(key)
        if text is None:
            if len(self._dts) > _DT_CACHE_LIMIT:
                self._dts.clear()
            tz = self.zone if zone is None else self._zones.get(zone) or self._zones.setdefault(zone, ZoneInfo(zone))
            text = self._dts[key] = self.loc.datetime(at, tz)
        return text

    def span(self, start: datetime, end: datetime, zone: str) -> str:
        """A window in `zone`: one date when it starts and ends on the same day, else both instants in full."""
        tz = self._zones.get(zone) or self._zones.setdefault(zone, ZoneInfo(zone))
        a, b = start.astimezone(tz), end.astimezone(tz)
        if a.date() != b.date():
            return self.loc("ui.from_to", start=self.dt(start, zone), end=self.dt(end, zone))
        loc = self.loc
        return loc(
            "ui.span_day",
            date=loc.date(a.date()),
            start=loc("fmt.time", hour=a.hour, minute=a.minute),
            end=loc("fmt.time", hour=b.hour, minute=b.minute),
            zone=b.tzname(),
        )

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
        text = self._isos.get(at)
        if text is None:
            if len(self._isos) > _DT_CACHE_LIMIT:
                self._isos.clear()
            text = self._isos[at] = feeds.iso(at) or ""
        return text

    def zone_name(self, zone: str) -> str:
        """A zone as readers name it, with its id."""
        return self.loc.zone(zone)

    def zone_label(self, zone: str) -> str:
        """The zone's name as a label heading a line: capitalised ("heure des Rocheuses" mid-sentence)."""
        name = self.loc.zone(zone)
        return name[:1].upper() + name[1:]

    def minutes(self, minutes: float) -> str:
        """A duration in hours and minutes."""
        return self.loc.duration(minutes)

    def pct(self, value: float | None, digits: int = 2) -> str:
        """A percentage (value already in percent), cut, not rounded, to `digits`: 99.996 % reads 99.99 %, so a
        short outage never shows as 100 % beside the day bar that shows it, nor a miss as the target met."""
        return self.loc.percent(None if value is None else floor_to(value, digits), digits)

    def num(self, value: float) -> str:
        """A number with at most two decimals."""
        return self.loc.number(value, 0 if float(value).is_integer() else 2)
