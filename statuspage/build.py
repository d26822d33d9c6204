"""Fill a StatusModel from the history reader, the maintenance calendar, the SLA calculator and incidents.

Days are calendar days in the page's time zone. Past complete months' SLA rows are cached, so the builder
that runs after every transition only recomputes the month in progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.contract.sla import SlaCalculator, month_bounds, month_of
from agent.core.model import Component, Status, Transition
from agent.history.reader import StatusInterval
from agent.maintenance.calendar import MaintenanceCalendar, Occurrence
from agent.maintenance.rules import CERTIFICATE_TITLE
from statuspage.config import SiteConfig
from statuspage.days import IncidentSpan, component_days, uptime
from statuspage.incidents import automatic_incidents, link_incidents
from statuspage.model import (
    ComponentView,
    GroupView,
    Incident,
    Maintenance,
    SlaMonth,
    SlaRow,
    StatusModel,
    Update,
)

HISTORY_DAYS = 90
INCIDENT_LOOKBACK = timedelta(days=30)
"""Transitions read before the window at every build, so an outage that began earlier still opens its incident."""
ARCHIVE_START = datetime(1970, 1, 1, tzinfo=UTC)
"""Older incidents are read from the start of the store, once a day: a permalink lives as long as history keeps
its record."""
MAINTENANCE_PAST = timedelta(days=14)
"""Completed windows shown on the maintenance page; the history keeps them for as long as its incidents."""
MAINTENANCE_AHEAD = timedelta(days=62)


class History(Protocol):
    """What the builder reads from history (agent.history.reader.HistoryReader provides it)."""

    def transitions(
        self, start: datetime, end: datetime, *, subject: str | None = None, id: str | None = None
    ) -> list[Transition]: ...

    def status_intervals(self, component: str, start: datetime, end: datetime) -> list[StatusInterval]: ...

    def down_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...

    def first_transition_at(self) -> datetime | None: ...
    def quality_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...


class ModelBuilder:
    """Builds the StatusModel as of a given `now`; keeps caches between builds."""

    def __init__(
        self,
        site: SiteConfig,
        components: Sequence[Component],
        history: History | None,
        *,
        calendar: MaintenanceCalendar | None = None,
        sla: SlaCalculator | None = None,
        human: Sequence[Incident] | Callable[[], Sequence[Incident]] = (),
    ) -> None:
        self.site = site
        self.components = list(components)
        self.history = history
        self.calendar = calendar
        self.sla = sla
        self._archive_start = datetime.max.replace(tzinfo=UTC)
        """The first recorded transition (set by each build)."""
        self._archive: tuple[Hashable, list[Incident]] = ((), [])
        self._first = datetime.max.replace(tzinfo=UTC)
        """Automatic incidents resolved before the lookback, and what they were read for (cut, names)."""
        self.human = human
        self._sla_cache: dict[tuple[str, int, int], SlaRow] = {}

    def build(self, now: datetime) -> StatusModel:
        """The model as of `now` (aware)."""
        zone = self.site.zone
        today = now.astimezone(zone).date()
        days = tuple(today - timedelta(days=HISTORY_DAYS - 1 - i) for i in range(HISTORY_DAYS))
        start = _midnight(days[0], zone)
        incidents = self._incidents(start, now)
        names = {c.id: c.name for c in self.components}
        spans: dict[str, list[IncidentSpan]] = {}
        for inc in incidents:
            if (inc.resolved_at or now) < start:
                continue  # archived: on its own page and in the history, not on the 90-day bars
            for cid in dict.fromkeys(inc.components):
                spans.setdefault(cid, []).append((inc.started_at, inc.resolved_at or now, inc.id, inc.name))
        views = [self._component(c, i, days, now, spans.get(c.id, [])) for i, c in enumerate(self.components)]
        return StatusModel(
            page_id=self.site.page_id,
            name=self.site.branding.name,
            url=self.site.base_url,
            time_zone=self.site.time_zone,
            generated_at=now,
            days=days,
            groups=_groups(views),
            incidents=tuple(incidents),
            maintenances=tuple(self._maintenances(now, names)),
            # Months as far back as history holds records (complete ones are computed once and cached).
            sla_months=tuple(self._sla_months(start, now)),
            support_url=self.site.branding.support_url,
            sla_url=self.site.branding.sla_url,
        )

    def _incidents(self, start: datetime, now: datetime) -> list[Incident]:
        transitions: list[Transition] = []
        if self.history is not None:
            transitions = self.history.transitions(start - INCIDENT_LOOKBACK, now, subject="component")
        names = {c.id: c.name for c in self.components}
        # A component removed from the config keeps its history, but no longer appears on the page.
        tiers = {c.id: c.tier for c in self.components}
        recent = automatic_incidents([t for t in transitions if t.id in names], names, tiers)
        self._archive_start = min((t.at for t in transitions), default=start)
        auto = self._archived(start - INCIDENT_LOOKBACK, names, tiers) + recent
        posts = self.human() if callable(self.human) else self.human
        human = [h for h in posts if h.started_at <= now]
        return link_incidents(auto, human, now)

    def _archived(self, cut: datetime, names: dict[str, str], tiers: dict[str, str]) -> list[Incident]:
        """Automatic incidents resolved before `cut`: read from the whole store when `cut` moves (once a day, as
        the window does), not at every build."""
        key = (cut, tuple(names.items()), tuple(tiers.items()))
        if self.history is None:
            return []
        if self._archive[0] != key:
            old = self.history.transitions(ARCHIVE_START, cut, subject="component")
            found = automatic_incidents([t for t in old if t.id in names], names, tiers)
            self._archive = (key, [i for i in found if i.resolved])
            self._first = min((t.at for t in old), default=cut)
        self._archive_start = min(self._archive_start, self._first)
        return self._archive[1]

    def _component(
        self, c: Component, position: int, days: tuple[date, ...], now: datetime, spans: list[IncidentSpan]
    ) -> ComponentView:
        start = _midnight(days[0], self.site.zone)
        intervals = self.history.status_intervals(c.id, start, now) if self.history is not None else []
        cells = component_days(intervals, days, self.site.zone, now, spans)
        known = bool(intervals) and intervals[-1].end >= now  # else never probed, or not monitored now
        status = intervals[-1].status if known else Status.OPERATIONAL
        if self.calendar is not None and self.calendar.active(c.id, now) and not status.is_outage:
            status = Status.UNDER_MAINTENANCE
        return ComponentView(
            id=c.id,
            name=c.name,
            group=c.group,
            status=status,
            updated_at=intervals[-1].start if intervals else now,
            created_at=intervals[0].start if intervals else now,
            position=position + 1,
            days=cells,
            uptime_30=uptime(cells[-30:]),
            uptime_90=uptime(cells),
            sla_target=c.sla_target * 100,
            description=c.description,
            tier=c.tier if c.tier != "custom" else "",
            known=known or status is Status.UNDER_MAINTENANCE,
        )

    def _maintenances(self, now: datetime, names: dict[str, str]) -> list[Maintenance]:
        if self.calendar is None:
            return []
        # Past windows back to the first record: the history pages keep maintenance beside incidents.
        found = self.calendar.occurrences(min(self._archive_start, now - MAINTENANCE_PAST), now + MAINTENANCE_AHEAD)
        out: list[Maintenance] = []
        seen_standard = seen_info = False
        for o in found:
            view = occurrence_view(o, now)
            if view.status == "scheduled":
                if o.kind == "standard" and not seen_standard:
                    seen_standard = True  # the next standard window is always shown, notice out or not
                elif o.kind == "informational":
                    if seen_info:
                        continue
                    seen_info = True
                elif o.notice_at > now:
                    continue  # not announced yet: the page must not announce it early
            elif o.kind == "informational" and view.status == "completed":
                continue
            out.append(view)
        return out

    def _sla_months(self, start: datetime, now: datetime) -> list[SlaMonth]:
        if self.sla is None or self.history is None:
            return []
        tz = self.sla.config.zone
        months: list[SlaMonth] = []
        year, month = month_of(now, tz)
        # Every month history still keeps, not only the bars' 90 days: the SLA record is permanent.
        oldest = self.history.first_transition_at()
        first = month_of(min(start, oldest) if oldest is not None else start, tz)
        while (year, month) >= first:
            m_start, m_end = month_bounds(year, month, tz)
            complete = m_end <= now
            rows = tuple(self._sla_row(c, year, month, m_start, m_end, now, complete) for c in self.components)
            months.append(SlaMonth(month=date(year, month, 1), rows=rows, complete=complete))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return months

    def _sla_row(
        self, c: Component, year: int, month: int, m_start: datetime, m_end: datetime, now: datetime, complete: bool
    ) -> SlaRow:
        key = (c.id, year, month)
        if complete and key in self._sla_cache:
            return self._sla_cache[key]
        assert self.sla is not None and self.history is not None
        down = self.history.down_intervals(c.id, m_start, min(m_end, now))
        quality = self.history.quality_intervals(c.id, m_start, min(m_end, now))
        r = self.sla.report(c.id, round(c.sla_target * 100, 10), year, month, down, now=now, quality=quality)
        row = SlaRow(
            component=c.id,
            name=c.name,
            target=r.target * 100,
            availability=r.availability * 100 if r.total_minutes > 0 else None,
            unavailable_minutes=r.unavailable_minutes,
            excluded_minutes=sum(r.excluded_minutes.values()),
            allowed_minutes=r.allowed_minutes,
            met=r.met,
            credit_days=r.credit_days,
            experienced=r.experienced_availability * 100 if r.total_minutes > 0 else None,
        )
        if complete:
            self._sla_cache[key] = row
        return row


def occurrence_view(o: Occurrence, now: datetime) -> Maintenance:
    """A calendar occurrence as the page shows it, with its status at `now`."""
    if o.end <= now:
        status, updated = "completed", o.end
    elif o.start <= now:
        status, updated = "in_progress", o.start
    else:
        status, updated = "scheduled", min(o.notice_at, now)
    return Maintenance(
        id=f"{o.window}-{o.start:%Y%m%dT%H%MZ}",
        name=o.title,
        status=status,  # type: ignore[arg-type]
        scheduled_for=o.start,
        scheduled_until=o.end,
        components=tuple(sorted(o.components)),
        notice_at=o.notice_at,
        created_at=min(o.notice_at, o.start),
        updated_at=updated,
        standard=o.kind == "standard",
        name_key=builtin_name_key(o),
        emergency=o.emergency,
        zone=o.zone,
        counted=o.counted,
        updates=maintenance_updates(o, now),
    )


_MAINT_TEXT = {
    "scheduled": "{name} is scheduled from {start} to {end} UTC.",
    "in_progress": "{name} is in progress.",
    "completed": "{name} is complete.",
}


def builtin_name_key(o: Occurrence) -> str:
    """The catalog key naming a built-in window, so French pages say it in French; empty for others."""
    if o.kind == "standard":
        return "ui.standard"
    if o.window == "certificate-upload" and o.title == CERTIFICATE_TITLE:
        return "ui.certificate_upload"
    return ""


def maintenance_updates(o: Occurrence, now: datetime) -> tuple[Update, ...]:
    """The window's timeline as it stands at `now`, newest first: announced (once its notice is out),
    started, completed. The JSON gets the English text, the page translates `key`."""
    steps = [("scheduled", min(o.notice_at, o.start)), ("in_progress", o.start), ("completed", o.end)]
    if o.notice_at > now:
        steps = steps[1:]
    out = []
    for status, at in steps:
        if at > now:
            break
        start, end = f"{o.start.astimezone(UTC):%Y-%m-%d %H:%M}", f"{o.end.astimezone(UTC):%Y-%m-%d %H:%M}"
        body = _MAINT_TEXT[status].format(name=o.title, start=start, end=end)
        out.append(
            Update(
                at=at, status=status, body=body, key=f"maint.{status}", subject=o.title, subject_key=builtin_name_key(o)
            )
        )
    return tuple(reversed(out))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "group"


def _groups(views: Sequence[ComponentView]) -> tuple[GroupView, ...]:
    order: dict[str, list[ComponentView]] = {}
    for v in views:
        order.setdefault(v.group, []).append(v)
    return tuple(GroupView(id=_slug(name), name=name, components=tuple(vs)) for name, vs in order.items())
