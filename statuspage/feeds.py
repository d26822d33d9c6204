"""Machine-readable feeds beside the HTML: Statuspage v2 JSON, Atom, iCalendar and SVG status badges.

The JSON keeps Atlassian Statuspage's public API v2 field names and enums so existing readers work.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import jinja2
from icalendar import Calendar, Event

from statuspage.i18n import Locale
from statuspage.model import ComponentView, GroupView, Incident, Maintenance, StatusModel, Update

JSON_INCIDENT_LIMIT = 50
"""incidents.json and scheduled-maintenances.json list the 50 most recent, as Statuspage does."""
ATOM_LIMIT = 50

Memo = Callable[[Hashable, object, Callable[[], Any]], Any]
"""`memo(name, inputs, make)`: the value made last time under `name` if `inputs` are unchanged, else make()."""


def _no_memo(name: Hashable, inputs: object, make: Callable[[], Any]) -> Any:
    return make()


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


def uid_domain(m: StatusModel) -> str:
    """The provider's own domain for calendar UIDs (its page's host), so feeds of two providers never collide."""
    host = urlsplit(m.url).hostname if m.url else None
    return host or f"{m.page_id}.status.invalid"


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
            out.append(_group_entry(m, g))
    return out


def _group_entry(m: StatusModel, g: GroupView) -> dict[str, Any]:
    first = g.components[0]
    return {
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
    return _incident(m, i, _affected(m, i.components))


def _incident(m: StatusModel, i: Incident, comps: list[dict[str, Any]] | None) -> dict[str, Any]:
    n = len(i.updates)
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status,  # "postmortem" is one of Statuspage's incident statuses
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "monitoring_at": iso(i.monitoring_at),
        "resolved_at": iso(i.resolved_at),
        "impact": i.impact,
        "shortlink": f"{m.url}incidents/{i.id}.html",
        "started_at": iso(i.started_at),
        "page_id": m.page_id,
        "components": comps,
        "incident_updates": [_update(u, i.id, n - k) for k, u in enumerate(i.updates)],
    }


def maintenance(m: StatusModel, mt: Maintenance) -> dict[str, Any]:
    """One scheduled maintenance in Statuspage's shape."""
    return _maintenance(m, mt, _affected(m, maintenance_components(m, mt)))


def maintenance_components(m: StatusModel, mt: Maintenance) -> list[str]:
    """The components a window names; one naming none covers every component, unless it is informational
    (no impact: the weekly certificate upload touches no component a customer uses)."""
    if mt.components or not mt.counted:
        return list(mt.components)
    return [c.id for c in m.components]


def _maintenance(m: StatusModel, mt: Maintenance, comps: list[dict[str, Any]] | None) -> dict[str, Any]:
    n = len(mt.updates)
    return {
        "id": mt.id,
        "name": mt.name,
        "status": mt.status,
        "created_at": iso(mt.created_at),
        "updated_at": iso(mt.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(mt.scheduled_until) if mt.status == "completed" else None,
        "impact": "maintenance" if mt.counted else "none",
        "shortlink": f"{m.url}maintenance.html#{mt.id}",
        "started_at": iso(mt.scheduled_for),
        "page_id": m.page_id,
        "components": comps,
        "incident_updates": [_update(u, mt.id, n - k) for k, u in enumerate(mt.updates)],
        "scheduled_for": iso(mt.scheduled_for),
        "scheduled_until": iso(mt.scheduled_until),
    }


def status(m: StatusModel) -> dict[str, str]:
    """The page's `status` object."""
    indicator = m.indicator
    return {"indicator": indicator, "description": STATUS_DESCRIPTION[indicator]}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _obj(fields: Iterable[tuple[str, str]]) -> str:
    """A JSON object from values serialised already: the same text json.dumps gives for the whole dict."""
    return "{" + ",".join(f"{_dumps(k)}:{v}" for k, v in fields) + "}"


def _arr(items: Iterable[str]) -> str:
    return "[" + ",".join(items) + "]"


def _spliced(doc: dict[str, Any], components: str) -> str:
    """`doc` serialised with its `components` list replaced by `components` (JSON text)."""
    return _obj((k, components if k == "components" else _dumps(v)) for k, v in doc.items())


def _component_json(m: StatusModel, c: ComponentView, g: GroupView) -> str:
    return _dumps(_component(m, c, g))


def _group_json(m: StatusModel, g: GroupView) -> str:
    return _dumps(_group_entry(m, g))


class _Json:
    """The API's objects as JSON text, each kept (through `memo`) while what it is made from is unchanged."""

    def __init__(self, m: StatusModel, memo: Memo) -> None:
        self.m, self.memo = m, memo
        self.by_id: dict[str, str] = {}
        listed: list[str] = []
        for g in m.groups:
            gid = _group_id(g) if g.name else None
            members = [
                memo(("json-component", c.id), (c, gid, m.page_id), partial(_component_json, m, c, g))
                for c in g.components
            ]
            self.by_id.update(zip((c.id for c in g.components), members, strict=True))
            listed += members
            if g.name and g.components:
                listed.append(memo(("json-group", g.id), (g.name, tuple(members)), partial(_group_json, m, g)))
        self.components = _arr(listed)

    def affected(self, ids: Sequence[str]) -> tuple[str, ...]:
        """The JSON of the components `ids` (unknown ones left out)."""
        return tuple(self.by_id[i] for i in ids if i in self.by_id)

    def incident(self, i: Incident) -> str:
        """One incident, with its components as they are now."""
        comps = self.affected(i.components)
        text: str = self.memo(
            ("json-incident", i.id),
            (i, comps, self.m.url, self.m.page_id),
            lambda: _spliced(_incident(self.m, i, None), _arr(comps)),
        )
        return text

    def maintenance(self, mt: Maintenance) -> str:
        """One scheduled maintenance (with no components named, every component)."""
        comps = self.affected(maintenance_components(self.m, mt))
        text: str = self.memo(
            ("json-maintenance", mt.id),
            (mt, comps, self.m.url, self.m.page_id),
            lambda: _spliced(_maintenance(self.m, mt, None), _arr(comps)),
        )
        return text


def json_files(m: StatusModel, memo: Memo | None = None) -> dict[str, bytes]:
    """Every api/v2 file, by path; with `memo`, unchanged components and incidents are not serialised again."""
    js = _Json(m, memo or _no_memo)
    page, stat, comps = _dumps(_page(m)), _dumps(status(m)), js.components
    unresolved = _arr(js.incident(i) for i in m.active_incidents)
    upcoming = [js.maintenance(x) for x in m.maintenances_in("scheduled")]
    active = [js.maintenance(x) for x in m.maintenances_in("in_progress", "verifying")]
    recent_mt = sorted(m.maintenances, key=lambda x: x.scheduled_for, reverse=True)[:JSON_INCIDENT_LIMIT]
    docs: dict[str, list[tuple[str, str]]] = {
        "summary.json": [
            ("page", page),
            ("components", comps),
            ("incidents", unresolved),
            ("scheduled_maintenances", _arr(active + upcoming)),
            ("status", stat),
        ],
        "status.json": [("page", page), ("status", stat)],
        "components.json": [("page", page), ("components", comps)],
        "incidents.json": [
            ("page", page),
            ("incidents", _arr(js.incident(i) for i in m.incidents[:JSON_INCIDENT_LIMIT])),
        ],
        "incidents/unresolved.json": [("page", page), ("incidents", unresolved)],
        "scheduled-maintenances.json": [
            ("page", page),
            ("scheduled_maintenances", _arr(js.maintenance(x) for x in recent_mt)),
        ],
        "scheduled-maintenances/upcoming.json": [("page", page), ("scheduled_maintenances", _arr(upcoming))],
        "scheduled-maintenances/active.json": [("page", page), ("scheduled_maintenances", _arr(active))],
    }
    return {f"api/v2/{name}": _obj(fields).encode() for name, fields in docs.items()}


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


def atom(env: jinja2.Environment, loc: Locale, m: StatusModel, lang_root: str, memo: Memo | None = None) -> bytes:
    """An Atom feed of incidents and maintenance, newest update first, in `loc`'s language.

    With `memo`, an entry's title and content are rendered again only when its item or its components' names
    changed."""
    remember = memo or _no_memo
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed", {"xml:lang": loc.tag})
    _text(feed, "id", f"{lang_root or 'urn:dialtone:'}{m.page_id}/history")
    _text(feed, "title", f"{m.name} · {loc('nav.history')}")
    _text(feed, "updated", iso(m.generated_at) or "")
    ET.SubElement(feed, f"{{{_ATOM}}}link", {"rel": "alternate", "href": f"{lang_root}history.html"})
    ET.SubElement(
        feed, f"{{{_ATOM}}}link", {"rel": "self", "href": f"{lang_root}history.atom", "type": "application/atom+xml"}
    )
    ET.SubElement(feed, f"{{{_ATOM}}}author").append(_el("name", m.name))
    entries: list[tuple[datetime, Incident | Maintenance]] = [(i.updated_at, i) for i in m.incidents]
    entries += [(x.updated_at, x) for x in m.maintenances if x.status != "scheduled" or x.notice_at <= m.generated_at]
    entries.sort(key=lambda e: e[0], reverse=True)
    names: dict[str, str] = env.globals["names"]  # type: ignore[assignment]

    def render(item: Incident | Maintenance, is_inc: bool) -> tuple[str, str]:
        macros: Any = env.get_template("macros.html").module
        content = env.get_template("atom_entry.html").render(item=item, is_incident=is_inc)
        return str(macros.feed_title(item)), content

    for updated, item in entries[:ATOM_LIMIT]:
        entry = ET.SubElement(feed, f"{{{_ATOM}}}entry")
        is_inc = isinstance(item, Incident)
        kind = "incident" if is_inc else "maintenance"
        inputs = (item, tuple(names.get(c, c) for c in item.components))
        title, content = remember(("atom", loc.code, kind, item.id), inputs, partial(render, item, is_inc))
        href = f"{lang_root}incidents/{item.id}.html" if is_inc else f"{lang_root}maintenance.html#{item.id}"
        _text(entry, "id", f"urn:dialtone:{m.page_id}:{kind}:{item.id}")
        _text(entry, "title", title)
        _text(entry, "updated", iso(updated) or "")
        _text(entry, "published", iso(item.created_at) or "")
        ET.SubElement(entry, f"{{{_ATOM}}}link", {"rel": "alternate", "href": href})
        _text(entry, "content", content).set("type", "html")
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
        ev.add("uid", f"{mt.id}@{uid_domain(m)}")
        ev.add("summary", mt.name)
        if m.url:
            ev.add("url", f"{m.url}maintenance.html#{mt.id}")
        ev.add("dtstart", mt.scheduled_for.astimezone(UTC))
        ev.add("dtend", mt.scheduled_until.astimezone(UTC))
        ev.add("dtstamp", m.generated_at.astimezone(UTC))
        ev.add("transp", "TRANSPARENT" if not mt.counted else "OPAQUE")
        cal.add_component(ev)
    return str(cal.to_ical().decode())
