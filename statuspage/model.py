"""The status page as pure data: what every page and feed shows, built once per render, no I/O.

Templates and feeds read only these frozen dataclasses, so the renderer can be tested and benchmarked
without a history store, and a re-render can reuse fragments whose inputs compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, NamedTuple

from agent.core.model import Status

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical", "maintenance"]
Indicator = Literal["none", "minor", "major", "critical"]

INCIDENT_STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUSES: tuple[str, ...] = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS: tuple[str, ...] = ("none", "minor", "major", "critical", "maintenance")

_INDICATORS: tuple[Indicator, ...] = ("none", "minor", "major", "critical")
_INDICATOR_RANK: dict[str, int] = {"none": 0, "maintenance": 0, "minor": 1, "major": 2, "critical": 3}
ESSENTIAL_TIERS = frozenset({"core", "voice_messaging"})
"""Tiers whose outage is the customers' outage (no dial tone, no call, no message); others support them."""


def component_impact(status: Status, tier: str) -> Indicator:
    """What one component's status weighs on the page, after Statuspage's scale (degraded: minor; partial
    outage: major; major outage: critical), one step lighter for a supporting (or custom) tier: one portal
    or API down is a partial system outage, not a major one."""
    rank = {Status.DEGRADED_PERFORMANCE: 1, Status.PARTIAL_OUTAGE: 2, Status.MAJOR_OUTAGE: 3}.get(status, 0)
    if rank > 1 and tier not in ESSENTIAL_TIERS:
        rank -= 1
    return _INDICATORS[rank]


class DayCell(NamedTuple):
    """One day of a component's 90-day bar (days are calendar days in the page's time zone).

    A named tuple rather than a dataclass: a page holds 45,000 of them, and every render compares each
    component's cells with last render's to reuse its row, which a tuple does in C.
    """

    day: date
    status: Status | None
    """Worst status seen that day; None when no data covers the day at all."""
    up_minutes: int = 0
    down_minutes: int = 0
    degraded_minutes: int = 0
    maintenance_minutes: int = 0
    nodata_minutes: int = 0
    incidents: tuple[tuple[str, str], ...] = ()
    """(incident id, title) of incidents touching this component that day."""
    measured_us: int = 0
    """Exact monitored time outside maintenance (up, degraded or down), in microseconds: uptime's denominator."""
    down_us: int = 0
    """Exact time in partial or major outage, in microseconds."""


@dataclass(frozen=True, slots=True)
class ComponentView:
    """A component as shown: current status, its 90 days and its uptime."""

    id: str
    name: str
    group: str
    status: Status
    updated_at: datetime
    created_at: datetime
    position: int
    days: tuple[DayCell, ...]
    uptime_30: float | None
    uptime_90: float | None
    sla_target: float
    """SLA target in percent (e.g. 99.95)."""
    description: str = ""
    tier: str = ""
    """The contract tier (core, voice_messaging, supporting; empty for a custom target)."""
    known: bool = True
    """False while nothing is known of its current status (never probed, or not monitored now)."""


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group of components; its status is the worst of its members."""

    id: str
    name: str
    components: tuple[ComponentView, ...]

    @property
    def status(self) -> Status:
        """Worst member status."""
        return worst((c.status for c in self.components), Status.OPERATIONAL)


@dataclass(frozen=True, slots=True)
class Update:
    """One timestamped update of an incident or a maintenance (newest first in their tuples)."""

    at: datetime
    status: str
    body: str
    """Plain text or Markdown source, as published in the JSON."""
    html: str = ""
    """The body as sanitised HTML (built by statuspage.safe_markdown.markdown_html)."""
    key: str = ""
    """A message key (e.g. auto.major_outage) the page translates instead of `body`."""
    subject: str = ""
    """The component name the translated message talks about."""
    subject_key: str = ""
    """A message key naming the subject instead (a built-in window, in the page's language)."""
    label: str = ""
    """"update" for news that changes no status (Statuspage's "Update"); empty: the label is the status."""


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident: automatic (from transitions), human (Markdown) or both linked into one."""

    id: str
    name: str
    status: IncidentStatus
    impact: Impact
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    components: tuple[str, ...]
    updates: tuple[Update, ...]
    monitoring_at: datetime | None = None
    resolved_at: datetime | None = None
    automatic: bool = False
    linked: tuple[str, ...] = ()
    """Ids of automatic incidents merged into this one."""
    postmortem_html: str = ""
    subject: str = ""
    """For an automatic incident: the component name its translated title talks about."""
    outage: str = ""
    """For an automatic incident: the worst status the component reached (partial_outage or major_outage),
    which its title names; the impact is weighed by tier, so it cannot tell a supporting major outage."""

    @property
    def resolved(self) -> bool:
        """True once resolved (or with a postmortem)."""
        return self.status in ("resolved", "postmortem")


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A maintenance window occurrence, standard (third Friday) or one-off."""

    id: str
    name: str
    status: MaintenanceStatus
    scheduled_for: datetime
    scheduled_until: datetime
    components: tuple[str, ...]
    notice_at: datetime
    """When its notice was published (one week before for the standard window)."""
    created_at: datetime
    updated_at: datetime
    updates: tuple[Update, ...] = ()
    standard: bool = False
    name_key: str = ""
    """A message key for a built-in window's name (the standard window, the certificate upload); empty for
    the provider's own windows, shown as written."""
    emergency: bool = False
    zone: str = "America/Denver"
    """The zone the window is defined in, shown beside UTC."""
    counted: bool = True
    """False for no-impact windows (the weekly certificate upload): shown but never counted."""


@dataclass(frozen=True, slots=True)
class SlaRow:
    """One component's month: availability against target and the credit owed."""

    component: str
    name: str
    target: float
    availability: float | None
    """Percent, None when the month has no measured time."""
    unavailable_minutes: float
    excluded_minutes: float
    allowed_minutes: float
    met: bool
    credit_days: float = 0
    experienced: float | None = None
    """Percent, also counting answered calls without usable audio (the contract figure is `availability`)."""


@dataclass(frozen=True, slots=True)
class SlaMonth:
    """A calendar month's SLA table; `complete` is False for the month in progress."""

    month: date
    rows: tuple[SlaRow, ...]
    complete: bool = True


@dataclass(frozen=True, slots=True)
class StatusModel:
    """Everything the site shows, as of `generated_at`."""

    page_id: str
    name: str
    url: str
    time_zone: str
    generated_at: datetime
    days: tuple[date, ...]
    groups: tuple[GroupView, ...]
    incidents: tuple[Incident, ...] = ()
    """Newest first, within the history window plus every unresolved one."""
    maintenances: tuple[Maintenance, ...] = ()
    """Soonest first: in progress, upcoming and recent completed."""
    sla_months: tuple[SlaMonth, ...] = ()
    """Newest first."""
    support_url: str = ""
    sla_url: str = ""
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def components(self) -> tuple[ComponentView, ...]:
        """All components in display order."""
        return tuple(c for g in self.groups for c in g.components)

    @property
    def status(self) -> Status:
        """Worst component status."""
        return worst((g.status for g in self.groups), Status.OPERATIONAL)

    @property
    def active_incidents(self) -> tuple[Incident, ...]:
        """Unresolved incidents, newest first."""
        return tuple(i for i in self.incidents if not i.resolved)

    @property
    def indicator(self) -> Indicator:
        """Statuspage's page indicator: the worst of the components' weighed statuses (component_impact) and
        the unresolved incidents' impacts; every component in major outage is critical whatever its tier."""
        comps = self.components
        ranks = [_INDICATOR_RANK[component_impact(c.status, c.tier)] for c in comps]
        ranks += [_INDICATOR_RANK[i.impact] for i in self.active_incidents]
        if comps and all(c.status is Status.MAJOR_OUTAGE for c in comps):
            ranks.append(3)
        return _INDICATORS[max(ranks, default=0)]

    def maintenances_in(self, *statuses: str) -> tuple[Maintenance, ...]:
        """Maintenances whose status is one of `statuses`."""
        return tuple(m for m in self.maintenances if m.status in statuses)


def worst(statuses: Iterable[Status], default: Status) -> Status:
    """The most severe status of an iterable (maintenance ranks below outages it masks)."""
    best = default
    for s in statuses:
        if s.severity > best.severity:
            best = s
    return best
