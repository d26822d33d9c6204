"""Which notices are due at `now`: pure functions of the page's model, the maintenance calendar and time.

Incident notices come from the model's incidents (automatic and human, linked into one). Their ids hash the
update itself (time, status, text), not the incident id, so when a human post later absorbs an automatic
incident its earlier updates are not announced again. Maintenance notices come straight from the calendar,
each at the instant the contract sets: the occurrence's `notice_at` (7 days before the standard window,
24 h or the publication time for planned work, at once for emergency work), an optional reminder, the start
and the end.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from agent.maintenance.calendar import MaintenanceCalendar, Occurrence
from agent.notify.notice import Notice
from statuspage import feeds
from statuspage.build import occurrence_view
from statuspage.model import Incident, StatusModel, Update


def incident_notices(m: StatusModel, since: datetime) -> list[Notice]:
    """A notice per incident update published at or after `since`, and one per postmortem."""
    out: list[Notice] = []
    for i in m.incidents:
        updates = sorted(i.updates, key=lambda u: u.at)
        obj = feeds.incident(m, i)
        for n, u in enumerate(updates):
            if u.at < since:
                continue
            kind = (
                "incident.opened"
                if n == 0
                else ("incident.resolved" if u.status in ("resolved", "postmortem") else "incident.updated")
            )
            out.append(Notice(f"inc-{_digest(u)}", kind, i.id, u.at, i.components, _incident_data(m, i, u, obj)))
        if i.postmortem_html and (i.resolved_at or i.updated_at) >= since:
            digest = hashlib.sha256(f"postmortem|{i.id}".encode()).hexdigest()[:20]
            last = updates[-1] if updates else Update(i.updated_at, i.status, "")
            data = _incident_data(m, i, last, obj) | {"postmortem_html": i.postmortem_html}
            out.append(Notice(f"pm-{digest}", "incident.postmortem", i.id, i.updated_at, i.components, data))
    return out


def _digest(u: Update) -> str:
    return hashlib.sha256(f"{u.at.isoformat()}|{u.status}|{u.key or u.body}|{u.subject}".encode()).hexdigest()[:20]


def _incident_data(m: StatusModel, i: Incident, u: Update, obj: dict[str, Any]) -> dict[str, Any]:
    names = {c.id: c.name for g in m.groups for c in g.components}
    return {
        "title": i.name,
        "subject": i.subject or u.subject,
        "status": u.status,
        "impact": i.impact,
        "body": u.body,
        "key": u.key,
        "at": u.at.isoformat(),
        "zone": m.time_zone,
        "component_names": [names.get(c, c) for c in i.components],
        "url": f"{m.url}incidents/{i.id}.html",
        "page": _page(m),
        "incident": obj,
    }


def _page(m: StatusModel) -> dict[str, Any]:
    return {"id": m.page_id, "name": m.name, "url": m.url, "status_indicator": m.indicator}


STEPS = ("scheduled", "reminder", "started", "completed")


def occurrence_steps(o: Occurrence, reminder: timedelta) -> list[tuple[str, datetime]]:
    """(step, due instant) of every notice an occurrence calls for."""
    steps = [("scheduled", o.notice_at)]
    if reminder > timedelta(0) and o.start - reminder > o.notice_at:
        steps.append(("reminder", o.start - reminder))
    return [*steps, ("started", o.start), ("completed", o.end)]


def maintenance_notices(
    m: StatusModel | None,
    calendar: MaintenanceCalendar,
    now: datetime,
    since: datetime,
    *,
    reminder: timedelta,
    horizon: timedelta,
    future: bool = False,
) -> list[Notice]:
    """Maintenance notices due in [since, now] (or, with `future`, due after `now`: what will be sent)."""
    out: list[Notice] = []
    for o in calendar.occurrences(now - timedelta(days=2), now + horizon, informational=False):
        for step, due in occurrence_steps(o, reminder):
            if future:
                if due <= now:
                    continue
            elif due > now or (due < since if step != "scheduled" else o.start <= since):
                # A scheduled notice missed while the agent was down or before it existed still goes out
                # late if the work has not started: late notice beats none.
                continue
            mid = f"{o.window}-{o.start:%Y%m%dT%H%MZ}"
            out.append(
                Notice(
                    f"mnt-{mid}-{step}",
                    f"maintenance.{step}",
                    mid,
                    due,
                    tuple(sorted(o.components)),
                    _maintenance_data(m, o, now, step),
                )
            )
    return out


def _maintenance_data(m: StatusModel | None, o: Occurrence, now: datetime, step: str) -> dict[str, Any]:
    view = occurrence_view(o, now)
    data: dict[str, Any] = {
        "title": o.title,
        "step": step,
        "window": o.window,
        "kind": o.kind,
        "start": o.start.isoformat(),
        "end": o.end.isoformat(),
        "zone": o.zone,
        "emergency": o.emergency,
        "reason": o.reason,
        "notice_at": o.notice_at.isoformat(),
    }
    if m is not None:
        names = {c.id: c.name for g in m.groups for c in g.components}
        data |= {
            "component_names": [names.get(c, c) for c in sorted(o.components)] or [],
            "url": f"{m.url}maintenance.html#{view.id}",
            "page": _page(m),
            "scheduled_maintenance": feeds.maintenance(m, view),
        }
    return data
