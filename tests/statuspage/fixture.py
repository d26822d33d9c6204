"""Fixture history: a real SQLite store written by the HistoryWriter, covering every status and edge.

`NOW` is Monday 2026-03-16 18:00 UTC (12:00 in Denver). The page zone is America/Denver.
- core: operational now; a major outage that crosses local midnight 10 days ago (23:30 to 01:15).
- voice: degraded now, after a partial outage earlier today (an automatic incident in "monitoring").
- portal: partial outage now, with a human post about it (linked into one incident).
- api: major outage now (a hostile human post names it too).
- fax: under maintenance now, and a maintenance day 5 days ago.
- legacy: its last transition was 120 days ago: 90 quiet days, status carried across the gap.
- newbie: first seen 20 days ago: 70 days without data.
- a hostile component name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.contract.sla import SlaCalculator
from agent.contract.sla_config import SlaConfig
from agent.core.model import Component, Transition
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from agent.maintenance.calendar import MaintenanceCalendar
from statuspage.build import ModelBuilder
from statuspage.config import SiteConfig
from statuspage.incidents import load_incidents
from statuspage.model import StatusModel
from tests.fakeclock import FakeClock

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
DENVER = ZoneInfo("America/Denver")
HOSTILE_NAME = '<script>alert("name")</script>"onmouseover="alert(1)'
SECRET = "s3cr3t-Pa55word-never-published"

COMPONENTS = [
    Component("core", "Core call processing", "Voice", "core", 0.9999),
    Component("voice", "Voice & messaging", "Voice", "voice_messaging", 0.9995),
    Component("portal", "Customer portal", "Portals", "supporting", 0.98),
    Component("api", "Public API", "Portals", "supporting", 0.98),
    Component("fax", "Fax gateway", "", "supporting", 0.98),
    Component("legacy", "Legacy trunks", "", "supporting", 0.98),
    Component("newbie", "New region", "", "supporting", 0.98),
    Component("evil", HOSTILE_NAME, "", "supporting", 0.98, description='"onmouseover="alert(2)'),
]

HUMAN_PORTAL = """---
title: Customer portal errors
components: [portal]
status: identified
impact: major
updates:
  - at: 2026-03-16T17:20:00Z
    status: investigating
    body: We are looking into **portal** errors.
  - at: 2026-03-16T17:40:00Z
    status: identified
    body: A database failover is in progress.
---
"""

HOSTILE_POST = """---
title: '<script>alert("title")</script> "onmouseover="alert(3)'
components: [api]
status: investigating
impact: critical
updates:
  - at: 2026-03-16T16:10:00Z
    status: investigating
    body: |
      <script>alert("body")</script> "onmouseover="alert(4) <img src=x onerror=alert(5)>
      [click me](javascript:alert(6)) and [docs](https://example.com/docs)
---
Postmortem: <iframe src="javascript:alert(7)"></iframe>
"""


def _t(component: str, at: datetime, old: str, new: str) -> Transition:
    return Transition("component", component, at, old, new, f"fixture: {old} -> {new}", component)


def _local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = NOW.astimezone(DENVER).date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=DENVER).astimezone(UTC)


def transitions() -> list[Transition]:
    """The fixture's component transitions, oldest first."""
    start = NOW - timedelta(days=100)
    out = [_t(c.id, start, "operational", "operational") for c in COMPONENTS if c.id not in ("legacy", "newbie")]
    out += [
        _t("legacy", NOW - timedelta(days=120), "operational", "operational"),
        _t("newbie", NOW - timedelta(days=20), "operational", "operational"),
        _t("core", _local(10, 23, 30), "operational", "major_outage"),
        _t("core", _local(9, 1, 15), "major_outage", "operational"),
        _t("voice", NOW - timedelta(hours=5), "operational", "partial_outage"),
        _t("voice", NOW - timedelta(hours=2), "partial_outage", "degraded_performance"),
        _t("portal", NOW - timedelta(minutes=50), "operational", "partial_outage"),
        _t("api", NOW - timedelta(hours=2), "operational", "major_outage"),
        _t("fax", _local(5, 1), "operational", "under_maintenance"),
        _t("fax", _local(5, 4), "under_maintenance", "operational"),
        _t("fax", NOW - timedelta(minutes=30), "operational", "under_maintenance"),
        _t("evil", _local(3, 9), "operational", "degraded_performance"),
        _t("evil", _local(3, 10), "degraded_performance", "operational"),
    ]
    return sorted(out, key=lambda t: t.at)


def write_history(path: Path) -> Path:
    """Write the fixture through the real HistoryWriter; returns the store's path."""
    writer = HistoryWriter(path, clock=FakeClock(NOW))
    for t in transitions():
        writer.on_transition(t)
    assert writer.flush_sync(), "the history writer failed"
    return path


def write_incidents(folder: Path) -> Path:
    """The human posts, as Markdown files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal-errors.md").write_text(HUMAN_PORTAL, encoding="utf-8")
    (folder / "hostile.md").write_text(HOSTILE_POST, encoding="utf-8")
    return folder


def site_config(out: Path, incidents: Path, **extra: object) -> SiteConfig:
    """A site config for the fixture."""
    data: dict[str, object] = {
        "out": str(out),
        "incidents": str(incidents),
        "base_url": "https://status.example.com/",
        "branding": {"name": "Example Voice", "support_url": "https://example.com/support"},
    }
    data.update(extra)
    return SiteConfig.model_validate(data)


def build_model(tmp: Path, now: datetime = NOW) -> tuple[SiteConfig, StatusModel, MaintenanceCalendar]:
    """History, incidents and calendar written under `tmp`, built into a model as of `now`."""
    db = write_history(tmp / "history.sqlite")
    site = site_config(tmp / "site", write_incidents(tmp / "incidents"))
    calendar = MaintenanceCalendar()
    with HistoryReader(db) as reader:
        builder = ModelBuilder(
            site,
            COMPONENTS,
            reader,
            calendar=calendar,
            sla=SlaCalculator(SlaConfig(), calendar),
            human=load_incidents(site.incidents),
        )
        return site, builder.build(now), calendar
