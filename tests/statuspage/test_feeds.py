"""Statuspage v2 JSON against the field list, Atom through feedparser, iCalendar through icalendar, badges."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import feedparser
import icalendar
import pytest

from tests.statuspage.conftest import Rendered

PAGE = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
COMPONENT_STATUS = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "components",
    "incident_updates",
}
INCIDENT_STATUS = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
IMPACT = {"none", "minor", "major", "critical"}
MAINT = INCIDENT | {"scheduled_for", "scheduled_until"}
MAINT_STATUS = {"scheduled", "in_progress", "verifying", "completed"}
UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"}


def _api(r: Rendered, name: str) -> dict[str, Any]:
    doc = json.loads(r.files[f"api/v2/{name}"])
    assert isinstance(doc, dict)
    assert set(doc["page"]) == PAGE
    assert doc["page"]["time_zone"] == "America/Denver"
    return doc


def _instant(text: str | None) -> None:
    if text is not None:
        assert text.endswith("Z")
        assert datetime.fromisoformat(text).tzinfo is not None


def _check_component(c: dict[str, Any]) -> None:
    extra = {"components"} if c["group"] else set()
    assert set(c) == COMPONENT | extra, c["id"]
    assert c["status"] in COMPONENT_STATUS
    _instant(c["created_at"])
    _instant(c["updated_at"])


def _check_incident(i: dict[str, Any], fields: set[str], statuses: set[str], impacts: set[str]) -> None:
    assert set(i) == fields
    assert i["status"] in statuses and i["impact"] in impacts
    for key in ("created_at", "updated_at", "monitoring_at", "resolved_at", "started_at"):
        _instant(i[key])
    for c in i["components"]:
        _check_component(c)
    for u in i["incident_updates"]:
        assert set(u) == UPDATE and u["incident_id"] == i["id"]


def test_every_api_file_has_the_statuspage_fields(rendered: Rendered) -> None:
    summary = _api(rendered, "summary.json")
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    for c in summary["components"]:
        _check_component(c)
    assert summary["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    assert set(_api(rendered, "status.json")) == {"page", "status"}
    comps = _api(rendered, "components.json")["components"]
    groups = [c for c in comps if c["group"]]
    assert {g["name"] for g in groups} == {"Voice", "Portals"}
    members = {c["id"] for c in comps if c["group_id"] == groups[0]["id"]}
    assert members == set(groups[0]["components"])
    for name in ("incidents.json", "incidents/unresolved.json"):
        for i in _api(rendered, name)["incidents"]:
            _check_incident(i, INCIDENT, INCIDENT_STATUS, IMPACT)
    unresolved = _api(rendered, "incidents/unresolved.json")["incidents"]
    assert {i["id"] for i in unresolved} == {"post-portal-errors", "post-hostile", "auto-voice-20260316T130000Z"}
    assert all(i["resolved_at"] is None for i in unresolved)


def test_scheduled_maintenance_files(rendered: Rendered) -> None:
    for name in (
        "scheduled-maintenances.json",
        "scheduled-maintenances/upcoming.json",
        "scheduled-maintenances/active.json",
    ):
        for m in _api(rendered, name)["scheduled_maintenances"]:
            _check_incident(m, MAINT, MAINT_STATUS, {"maintenance", "none"})
    upcoming = _api(rendered, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    standard = next(m for m in upcoming if m["id"].startswith("standard-"))
    assert standard["scheduled_for"] == "2026-03-21T04:00:00.000Z"
    assert standard["scheduled_until"] == "2026-03-21T10:00:00.000Z"
    assert all(m["status"] == "scheduled" for m in upcoming)


def test_atom_parses_in_both_languages(rendered: Rendered) -> None:
    for path, lang in (("history.atom", "en"), ("fr/history.atom", "fr-CA")):
        feed = feedparser.parse(rendered.files[path])
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.feed.get("language", lang) == lang
        ids = [e.id for e in feed.entries]
        assert len(ids) == len(set(ids)) > 0
        titles = " | ".join(e.title for e in feed.entries)
        assert "Customer portal errors" in titles
        assert ("Panne partielle" in titles) == lang.startswith("fr")
        for e in feed.entries:
            assert e.updated_parsed is not None and e.link
    # Hostile text is escaped inside the XML, never raw markup.
    root = ET.fromstring(rendered.files["history.atom"])
    assert root.tag.endswith("feed")


def test_ics_parses_and_holds_the_standard_window(rendered: Rendered) -> None:
    cal = icalendar.Calendar.from_ical(rendered.files["maintenance.ics"])
    events = [c for c in cal.walk("VEVENT")]
    assert events
    standard = next(
        e for e in events if isinstance(rule := e.get("RRULE"), icalendar.vRecur) and "3FR" in rule.to_ical().decode()
    )
    start = standard.decoded("DTSTART")
    assert (start.hour, start.minute, str(start.tzinfo)) == (22, 0, "America/Denver")


@pytest.mark.parametrize("cid,word", [("api", "Major outage"), ("core", "Operational"), ("fax", "Under maintenance")])
def test_badges_say_the_status_in_words(rendered: Rendered, cid: str, word: str) -> None:
    svg = ET.fromstring(rendered.files[f"badge/{cid}.svg"])
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[-1] == word
    assert word in svg.get("aria-label", "")


def test_generated_at_is_utc(rendered: Rendered) -> None:
    assert rendered.model.generated_at == datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
