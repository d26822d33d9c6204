"""An automatic incident's title names the status the component reached, in Chromium, in both languages.

Its impact is weighed by tier (a supporting API down is a "major", not a "critical", incident), so the
title cannot be read off the impact: the demo's Provisioning API, all targets down, was titled "Partial
outage" while the JSON said "major outage".
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent.contract.sla import SlaCalculator
from agent.contract.sla_config import SlaConfig
from agent.core.model import Component, Transition
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from agent.maintenance.calendar import MaintenanceCalendar
from statuspage.build import ModelBuilder
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.fakeclock import FakeClock
from tests.statuspage.browser import serve
from tests.statuspage.cdp import browser
from tests.statuspage.fixture import NOW, site_config

pytestmark = pytest.mark.peer

API = Component("api", "Provisioning API", "Web", "supporting", 0.98)
CORE = Component("core", "Calling", "Voice", "core", 0.9999)


def _t(component: str, minutes_ago: int, old: str, new: str) -> Transition:
    return Transition("component", component, NOW - timedelta(minutes=minutes_ago), old, new, "test", component)


def _site(tmp: Path) -> Path:
    history = [
        _t("api", 6000, "operational", "operational"), _t("core", 6000, "operational", "operational"),
        _t("api", 60, "operational", "major_outage"), _t("api", 50, "major_outage", "operational"),
        _t("core", 40, "operational", "partial_outage"), _t("core", 30, "partial_outage", "major_outage"),
    ]  # fmt: skip
    writer = HistoryWriter(tmp / "h.sqlite", clock=FakeClock(NOW))
    for t in history:
        writer.on_transition(t)
    assert writer.flush_sync()
    site = site_config(tmp / "site", tmp / "no-incidents", languages=["en", "fr"])
    calendar = MaintenanceCalendar()
    with HistoryReader(tmp / "h.sqlite") as reader:
        model = ModelBuilder(site, [API, CORE], reader, calendar=calendar,
                             sla=SlaCalculator(SlaConfig(), calendar), human=[]).build(NOW)  # fmt: skip
    AtomicSite(site.out).write(Renderer(site, calendar=calendar).files(model))
    return site.out


async def test_titles_name_the_status_reached(tmp_path: Path) -> None:
    api = "incidents/auto-api-" + (NOW - timedelta(minutes=60)).strftime("%Y%m%dT%H%M%SZ") + ".html"
    core = "incidents/auto-core-" + (NOW - timedelta(minutes=40)).strftime("%Y%m%dT%H%M%SZ") + ".html"
    expected = {
        api: "Provisioning API: Major outage", "fr/" + api: "Provisioning API\u00a0: Panne majeure",
        core: "Calling: Major outage", "fr/" + core: "Calling\u00a0: Panne majeure",
    }  # fmt: skip
    async with serve(_site(tmp_path)) as base, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800)
        for path, title in expected.items():
            await page.load(base + path)
            assert await page.eval("document.querySelector('h1.page-title').textContent.trim()") == title, path
        await page.load(base + "history.html")
        cards = await page.eval("[...document.querySelectorAll('h3 a')].map(a => a.textContent.trim())")
        assert "Provisioning API: Major outage" in cards and "Provisioning API: Partial outage" not in cards, cards
