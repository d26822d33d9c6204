"""Machine-readable feeds beside the HTML: Statuspage v2 JSON, Atom, iCalendar and SVG status badges.

The JSON keeps Atlassian Statuspage's public API v2 field names and enums so existing readers work.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import jinja2
from icalendar import Calendar, Event

from statuspage.i18n import Locale
from statuspage.model import ComponentView, GroupView, Incident, Maintenance, StatusModel, Update

JSON_INCIDENT_LIMIT = 50
"""incidents.json and scheduled-maintenances.json list the 50 most recent, as Statuspage does."""
ATOM_LIMIT = 50

STATUS_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}

BADGE_COLOURS = {
    "operational": "#1a7f37",
    "degraded_performance": "#8a5c00",
    "partial_outage": "#b04400",
    "major_outage": "#cf222e",
    "under_maintenance": "#0969da",
}


def iso(at: datetime | None) -> str | None:
    """Statuspage's timestamp form: UTC, milliseconds, Z."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# --- Statuspage v2 JSON -----------------------------------------------------------------------------------


def _page(m: StatusModel) -> dict[str, Any]:
    return {"id": m.page_id, "name": m.name, "url": m.url, "time_zone": m.time_zone, "updated_at": iso(m.generated_at)}


def _group_id(g: GroupView) -> str:
    return f"group-{g.id}"


def _component(m: StatusModel, c: ComponentView, group: GroupView | None) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status.value,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": True,
        "start_date": c.created_at.date().isoformat(),
        "group_id": _group_id(group) if group and group.name else None,
        "page_id": m.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def components(m: StatusModel) -> list[dict[str, Any]]:
    """Components and, as Statuspage does, each named group as a component with `group: true`."""
    out: list[dict[str, Any]] = []
    for g in m.groups:
        out.extend(_component(m, c, g) for c in g.components)
        if g.name and g.components:
            first = g.components[0]
            out.append(
                {
                    **_component(m, first, None),
                    "id": _group_id(g),
                    "name": g.name,
                    "status": g.status.value,
                    "updated_at": iso(max(c.updated_at for c in g.components)),
                    "created_at": iso(min(c.created_at for c in g.components)),
                    "position": min(c.position for c in g.components),
                    "description": None,
                    "group": True,
                    "components": [c.id for c in g.components],
                }
            )
    return out


def _update(u: Update, parent: str, idx: int) -> dict[str, Any]:
    return {
        "id": f"{parent}-u{idx}",
        "status": u.status,
        "body": u.body,
        "incident_id": parent,
        "created_at": iso(u.at),
        "updated_at": iso(u.at),
        "display_at": iso(u.at),
    }


def _affected(m: StatusModel, ids: Sequence[str]) -> list[dict[str, Any]]:
    by_id = {c.id: (c, g) for g in m.groups for c in g.components}
    return [_component(m, *by_id[i]) for i in ids if i in by_id]


def incident(m: StatusModel, i: Incident) -> dict[str, Any]:
    """One incident in Statuspage's shape."""
    n = len(i.updates)
    return {
        "id": i.id,
        "name": i.name,
        "status": "resolved" if i.status == "postmortem" else i.status,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "monitoring_at": iso(i.monitoring_at),
        "resolved_at": iso(i.resolved_at),
        "impact": i.impact,
        "shortlink": f"{m.url}incidents/{i.id}.html",
        "started_at": iso(i.started_at),
        "page_id": m.page_id,
        "components": _affected(m, i.components),
        "incident_updates": [_update(u, i.id, n - k) for k, u in enumerate(i.updates)],
    }


def maintenance(m: StatusModel, mt: Maintenance) -> dict[str, Any]:
    """One scheduled maintenance in Statuspage's shape."""
    n = len(mt.updates)
    return {
        "id": mt.id,
        "name": mt.name,
        "status": mt.status,
        "created_at": iso(mt.created_at),
        "updated_at": iso(mt.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(mt.scheduled_until) if mt.status == "completed" else None,
        "impact": "maintenance",
        "shortlink": f"{m.url}maintenance.html#{mt.id}",
        "started_at": iso(mt.scheduled_for),
        "page_id": m.page_id,
        "components": _affected(m, mt.components or [c.id for c in m.components]),
        "incident_updates": [_update(u, mt.id, n - k) for k, u in enumerate(mt.updates)],
        "scheduled_for": iso(mt.scheduled_for),
        "scheduled_until": iso(mt.scheduled_until),
    }


def status(m: StatusModel) -> dict[str, str]:
    """The page's `status` object."""
    return {"indicator": m.indicator, "description": STATUS_DESCRIPTION[m.indicator]}


def json_files(m: StatusModel) -> dict[str, bytes]:
    """Every api/v2 file, by path."""
    page = _page(m)
    comps = components(m)
    unresolved = [incident(m, i) for i in m.active_incidents]
    upcoming = [maintenance(m, x) for x in m.maintenances_in("scheduled")]
    active = [maintenance(m, x) for x in m.maintenances_in("in_progress", "verifying")]
    recent_mt = sorted(m.maintenances, key=lambda x: x.scheduled_for, reverse=True)[:JSON_INCIDENT_LIMIT]
    docs: dict[str, dict[str, Any]] = {
        "summary.json": {
            "page": page,
            "components": comps,
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status(m),
        },
        "status.json": {"page": page, "status": status(m)},
        "components.json": {"page": page, "components": comps},
        "incidents.json": {"page": page, "incidents": [incident(m, i) for i in m.incidents[:JSON_INCIDENT_LIMIT]]},
        "incidents/unresolved.json": {"page": page, "incidents": unresolved},
        "scheduled-maintenances.json": {
            "page": page,
            "scheduled_maintenances": [maintenance(m, x) for x in recent_mt],
        },
        "scheduled-maintenances/upcoming.json": {"page": page, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {"page": page, "scheduled_maintenances": active},
    }
    return {
        f"api/v2/{name}": json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        for name, doc in docs.items()
    }


# --- badges, Atom, iCalendar ------------------------------------------------------------------------------


def badge(env: jinja2.Environment, loc: Locale, c: ComponentView) -> bytes:
    """A shields-style SVG badge: component name | status text (colour is never the only signal)."""
    label = loc(f"status.{c.status.value}")
    w1, w2 = 12 + 7 * len(c.name), 12 + 7 * len(label)
    svg = env.get_template("badge.svg").render(
        name=c.name, label=label, w1=w1, w2=w2, colour=BADGE_COLOURS[c.status.value]
    )
    return str(svg).encode()


_ATOM = "http://www.w3.org/2005/Atom"


def atom(env: jinja2.Environment, loc: Locale, m: StatusModel, lang_root: str) -> bytes:
    """An Atom feed of incidents and maintenance, newest update first, in `loc`'s language."""
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed", {"xml:lang": loc.code})
    _text(feed, "id", f"{lang_root or 'urn:dialtone:'}{m.page_id}/history")
    _text(feed, "title", f"{m.name} · {loc('nav.history')}")
    _text(feed, "updated", iso(m.generated_at) or "")
    ET.SubElement(feed, f"{{{_ATOM}}}link", {"rel": "alternate", "href": f"{lang_root}history.html"})
    ET.SubElement(feed, f"{{{_ATOM}}}author").append(_el("name", m.name))
    entries: list[tuple[datetime, Incident | Maintenance]] = [(i.updated_at, i) for i in m.incidents]
    entries += [(x.updated_at, x) for x in m.maintenances if x.status != "scheduled" or x.notice_at <= m.generated_at]
    entries.sort(key=lambda e: e[0], reverse=True)
    tpl = env.get_template("atom_entry.html")
    macros: Any = env.get_template("macros.html").module
    for updated, item in entries[:ATOM_LIMIT]:
        entry = ET.SubElement(feed, f"{{{_ATOM}}}entry")
        is_inc = isinstance(item, Incident)
        href = f"{lang_root}incidents/{item.id}.html" if is_inc else f"{lang_root}maintenance.html#{item.id}"
        _text(entry, "id", f"urn:dialtone:{m.page_id}:{'incident' if is_inc else 'maintenance'}:{item.id}")
        _text(entry, "title", str(macros.feed_title(item)))
        _text(entry, "updated", iso(updated) or "")
        _text(entry, "published", iso(item.created_at) or "")
        ET.SubElement(entry, f"{{{_ATOM}}}link", {"rel": "alternate", "href": href})
        content = _text(entry, "content", tpl.render(item=item, is_incident=is_inc))
        content.set("type", "html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _el(tag: str, text: str) -> ET.Element:
    e = ET.Element(f"{{{_ATOM}}}{tag}")
    e.text = text
    return e


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{_ATOM}}}{tag}")
    e.text = text
    return e


def ics(m: StatusModel) -> str:
    """A plain iCalendar feed of the model's maintenance occurrences (used when no calendar ICS is given)."""
    cal = Calendar()
    cal.add("prodid", "-//dialtone//status page//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{m.name} maintenance")
    for mt in m.maintenances:
        ev = Event()
        ev.add("uid", f"{mt.id}@{m.page_id}.dialtone")
        ev.add("summary", mt.name)
        ev.add("dtstart", mt.scheduled_for.astimezone(UTC))
        ev.add("dtend", mt.scheduled_until.astimezone(UTC))
        ev.add("dtstamp", m.generated_at.astimezone(UTC))
        ev.add("transp", "TRANSPARENT" if not mt.counted else "OPAQUE")
        cal.add_component(ev)
    return str(cal.to_ical().decode())
