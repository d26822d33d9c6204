"""Issue 17: the banner weighs tiers and incidents as Statuspage does; no internal priority reaches the public;
timelines let human updates lead and never repeat or mislabel automatic entries.

History goes through the real HistoryWriter into SQLite; the site is built and rendered from it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.core.model import Component, Transition
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from statuspage.build import ModelBuilder
from statuspage.incidents import parse_incident
from statuspage.model import Incident, StatusModel
from statuspage.render import Renderer
from tests.fakeclock import FakeClock
from tests.statuspage.fixture import site_config

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
COMPONENTS = [
    Component("core", "Core call processing", "Voice", "core", 0.9999),
    Component("voice", "Voice and messaging", "Voice", "voice_messaging", 0.9995),
    Component("portal", "Customer portal", "Portals", "supporting", 0.98),
    Component("api", "Public API", "Portals", "supporting", 0.98),
]


def _t(cid: str, minutes_ago: float, old: str, new: str) -> Transition:
    return Transition("component", cid, NOW - timedelta(minutes=minutes_ago), old, new, "test", cid)


def _site(
    tmp: Path, rows: list[Transition], human: list[Incident] | None = None, components: list[Component] = COMPONENTS
) -> tuple[StatusModel, dict[str, bytes]]:
    writer = HistoryWriter(tmp / "history.sqlite", clock=FakeClock(NOW))
    for c in components:
        writer.on_transition(_t(c.id, 600, "unknown", "operational"))
    for row in rows:
        writer.on_transition(row)
    assert writer.flush_sync()
    site = site_config(tmp / "site", tmp / "incidents", time_zone="UTC")
    with HistoryReader(tmp / "history.sqlite") as reader:
        model = ModelBuilder(site, components, reader, human=human or []).build(NOW)
    return model, Renderer(site).files(model)


def _banner(files: dict[str, bytes], page: str = "index.html") -> str:
    found = re.search(r'<h1 id="h-banner">(.*?)</h1>', files[page].decode())
    assert found
    return found.group(1)


def _indicator(files: dict[str, bytes]) -> str:
    return str(json.loads(files["api/v2/status.json"])["status"]["indicator"])


def test_one_supporting_api_down_is_not_a_major_system_outage(tmp_path: Path) -> None:
    model, files = _site(tmp_path, [_t("api", 30, "operational", "major_outage")])
    assert model.indicator == "major"
    assert _banner(files) == "Partial system outage" and _indicator(files) == "major"
    assert model.active_incidents[0].impact == "major"


def test_a_supporting_partial_outage_is_minor(tmp_path: Path) -> None:
    model, files = _site(tmp_path, [_t("portal", 30, "operational", "partial_outage")])
    assert model.indicator == "minor" and _indicator(files) == "minor"


def test_core_down_is_critical(tmp_path: Path) -> None:
    model, files = _site(tmp_path, [_t("core", 30, "operational", "major_outage")])
    assert model.indicator == "critical" and _banner(files) == "Major system outage"


def test_every_component_down_is_critical_whatever_the_tier(tmp_path: Path) -> None:
    comps = COMPONENTS[2:]
    model, _ = _site(tmp_path, [_t(c.id, 30, "operational", "major_outage") for c in comps], components=comps)
    assert model.indicator == "critical"


def test_an_incident_impact_weighs_on_the_banner(tmp_path: Path) -> None:
    post = parse_incident(
        "---\ntitle: Calls to Quebec fail\ncomponents: [voice]\nstatus: identified\nimpact: critical\n"
        "updates:\n  - at: 2026-03-16T17:30:00Z\n    status: identified\n    body: A carrier route fails.\n---\n",
        "quebec.md",
    )
    model, files = _site(tmp_path, [], [post])
    assert model.indicator == "critical" and _indicator(files) == "critical"


def test_no_internal_priority_reaches_the_public(tmp_path: Path) -> None:
    _, files = _site(
        tmp_path, [_t("core", 30, "operational", "major_outage"), _t("api", 20, "operational", "partial_outage")]
    )
    for path, body in files.items():
        text = body.decode("utf-8", "replace")
        assert not re.search(r"Priorit[yé]|\bP[123]\b|\"priority\"", text), path


def test_automatic_timeline_never_says_identified_nor_repeats(tmp_path: Path) -> None:
    model, files = _site(
        tmp_path,
        [
            _t("voice", 50, "operational", "partial_outage"),
            _t("voice", 40, "partial_outage", "major_outage"),
            _t("voice", 30, "major_outage", "partial_outage"),
            _t("voice", 20, "partial_outage", "degraded_performance"),
            _t("voice", 10, "degraded_performance", "operational"),
        ],
    )
    inc = model.incidents[0]
    labels = [u.label or u.status for u in reversed(inc.updates)]
    assert labels == ["investigating", "update", "update", "monitoring", "resolved"]
    assert inc.impact == "critical" and inc.status == "resolved"
    page = next(
        v.decode()
        for k, v in files.items()
        if k.startswith("incidents/") and inc.id in k and k.endswith(".html") and "/fr/" not in k
    )
    shown = re.findall(r'<strong class="i-[a-z]+">([^<]+)</strong>', page)
    assert shown == ["Resolved", "Monitoring", "Update", "Update", "Investigating"]
    assert json.loads(files["api/v2/incidents.json"])["incidents"][0]["incident_updates"][1]["status"] == "monitoring"


def test_human_updates_lead_and_no_status_is_said_twice(tmp_path: Path) -> None:
    post = parse_incident(
        "---\ntitle: Portal errors\ncomponents: [portal]\nstatus: resolved\nimpact: minor\nupdates:\n"
        "  - at: 2026-03-16T17:15:00Z\n    status: investigating\n    body: We are looking into portal errors.\n"
        "  - at: 2026-03-16T17:25:00Z\n    status: identified\n    body: A database failover is in progress.\n"
        "  - at: 2026-03-16T17:45:00Z\n    status: resolved\n    body: The failover is complete.\n---\n",
        "portal.md",
    )
    model, _ = _site(
        tmp_path,
        [
            _t("portal", 50, "operational", "partial_outage"),  # 17:10, before the first human update
            _t("portal", 40, "partial_outage", "major_outage"),  # 17:20, between human updates: humans lead
            _t("portal", 20, "major_outage", "operational"),  # 17:40: humans resolved it themselves
        ],
        [post],
    )
    inc = model.incidents[0]
    assert inc.linked and len(model.incidents) == 1
    timeline = [(u.at.strftime("%H:%M"), u.label or u.status, bool(u.key)) for u in reversed(inc.updates)]
    assert timeline == [("17:15", "investigating", False), ("17:25", "identified", False), ("17:45", "resolved", False)]


def test_the_machine_still_reports_a_recovery_humans_have_not(tmp_path: Path) -> None:
    post = parse_incident(
        "---\ntitle: Portal errors\ncomponents: [portal]\nstatus: identified\nimpact: minor\nupdates:\n"
        "  - at: 2026-03-16T17:15:00Z\n    status: identified\n    body: A database failover is in progress.\n---\n",
        "portal.md",
    )
    model, _ = _site(
        tmp_path,
        [_t("portal", 50, "operational", "partial_outage"), _t("portal", 20, "partial_outage", "operational")],
        [post],
    )
    timeline = [(u.label or u.status, bool(u.key)) for u in reversed(model.incidents[0].updates)]
    assert timeline == [("investigating", True), ("identified", False), ("resolved", True)]


def test_a_restart_during_an_outage_neither_resolves_nor_reopens_it(tmp_path: Path) -> None:
    model, _ = _site(
        tmp_path,
        [
            _t("voice", 50, "operational", "partial_outage"),
            _t("voice", 40, "partial_outage", "unknown"),  # the agent stopped
            _t("voice", 30, "unknown", "partial_outage"),  # and started again, restoring the outage
            _t("voice", 10, "partial_outage", "operational"),
        ],
    )
    (inc,) = model.incidents
    assert [(u.at, u.status) for u in reversed(inc.updates)] == [
        (NOW - timedelta(minutes=50), "investigating"),
        (NOW - timedelta(minutes=10), "resolved"),
    ]
    assert all(u.key in ("auto.partial_outage", "auto.operational") for u in inc.updates)
