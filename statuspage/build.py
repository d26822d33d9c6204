"""Fill a StatusModel from the history reader, the maintenance calendar, the SLA calculator and incidents.

Days are calendar days in the page's time zone. Past complete months' SLA rows are cached, so the builder
that runs after every transition only recomputes the month in progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from agent.calendar import MaintenanceCalendar, Occurrence
from agent.model import Component, Status, Transition
from agent.sinks.history_reader import StatusInterval
from agent.sla import SlaCalculator, month_bounds, month_of
from statuspage.config import SiteConfig
from statuspage.days import IncidentSpan, component_days, uptime
from statuspage.incidents import automatic_incidents, link_incidents
from statuspage.model import ComponentView, GroupView, Incident, Maintenance, SlaMonth, SlaRow, StatusModel

HISTORY_DAYS = 90
INCIDENT_LOOKBACK = timedelta(days=30)
"""Transitions read before the window, so an outage that began earlier still opens its incident."""
MAINTENANCE_PAST = timedelta(days=14)
MAINTENANCE_AHEAD = timedelta(days=62)


class History(Protocol):
    """What the builder reads from history (agent.sinks.history_reader.HistoryReader provides it)."""

    def transitions(
        self, start: datetime, end: datetime, *, subject: str | None = None, id: str | None = None
    ) -> list[Transition]: ...

    def status_intervals(self, component: str, start: datetime, end: datetime) -> list[StatusInterval]: ...

    def down_intervals(self, component: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...

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
        auto = automatic_incidents([t for t in transitions if t.id in names], names)
        posts = self.human() if callable(self.human) else self.human
        human = [h for h in posts if h.started_at <= now]
        linked = link_incidents(auto, human, now)
        return [i for i in linked if not i.resolved or (i.resolved_at or i.updated_at) >= start]

    def _component(
        self, c: Component, position: int, days: tuple[date, ...], now: datetime, spans: list[IncidentSpan]
    ) -> ComponentView:
        start = _midnight(days[0], self.site.zone)
        intervals = self.history.status_intervals(c.id, start, now) if self.history is not None else []
        cells = component_days(intervals, days, self.site.zone, now, spans)
        status = intervals[-1].status if intervals and intervals[-1].end >= now else Status.OPERATIONAL
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
        )

    def _maintenances(self, now: datetime, names: dict[str, str]) -> list[Maintenance]:
        if self.calendar is None:
            return []
        found = self.calendar.occurrences(now - MAINTENANCE_PAST, now + MAINTENANCE_AHEAD)
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
        first = month_of(start, tz)
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
        emergency=o.emergency,
        zone=o.zone,
        counted=o.counted,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "group"


def _groups(views: Sequence[ComponentView]) -> tuple[GroupView, ...]:
    order: dict[str, list[ComponentView]] = {}
    for v in views:
        order.setdefault(v.group, []).append(v)
    return tuple(GroupView(id=_slug(name), name=name, components=tuple(vs)) for name, vs in order.items())
