"""Freshness and local time in headless Chromium: the page's age, its stale warning, its refresh in place,
and times in the reader's own zone and locale."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.core.model import Status
from statuspage.feeds import iso
from statuspage.model import StatusModel
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.statuspage.browser import serve
from tests.statuspage.cdp import browser
from tests.statuspage.conftest import Rendered
from tests.statuspage.test_layout import write_site

pytestmark = pytest.mark.peer

STAMP = """(() => {
  const t = document.querySelector('.banner time[datetime]'), age = t.nextElementSibling;
  const stale = document.querySelector('.stale');
  return {datetime: t.getAttribute('datetime'), text: t.textContent, title: t.title,
          age: age.hidden ? '' : age.textContent, stale: stale.checkVisibility(), staleText: stale.textContent,
          banner: document.getElementById('h-banner').textContent,
          generated: document.getElementById('live').getAttribute('data-generated')};
})()"""


def at(m: StatusModel, when: datetime) -> StatusModel:
    """The fixture as if rendered at `when` (only the page's own time matters here)."""
    return replace(m, generated_at=when)


async def test_stamp_shows_its_age_and_warns_when_stale(rendered: Rendered, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    fresh = write_site(rendered, at(rendered.model, now), tmp_path / "fresh")
    # render_interval is 60 s: older than 3 x 60 s is stale.
    old = write_site(rendered, at(rendered.model, now - timedelta(minutes=10)), tmp_path / "old")
    async with serve(fresh) as fresh_url, serve(old) as old_url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800)
        await page.load(fresh_url)
        new = await page.eval(STAMP)
        await page.load(old_url + "fr/index.html")
        stale = await page.eval(STAMP)
        await page.emulate(1280, 800, js=False)
        await page.load(old_url)
        plain = await page.eval(STAMP)
    assert new["datetime"] == iso(now)
    assert "second" in new["age"] or "now" in new["age"], new
    assert not new["stale"], new
    assert stale["stale"] and "10 minutes" in stale["age"] and "3 minutes" in stale["staleText"], stale
    assert "mise à jour" in stale["staleText"]
    # Without script: the stamp in the page's zone, no age, and no warning the page cannot compute.
    assert plain["text"].endswith(("MST", "MDT")) and not plain["age"] and not plain["stale"], plain


def all_clear(m: StatusModel, when: datetime) -> StatusModel:
    """Every component operational and no incident, rendered at `when`."""
    groups = tuple(
        replace(g, components=tuple(replace(c, status=Status.OPERATIONAL) for c in g.components)) for g in m.groups
    )
    return replace(m, generated_at=when, groups=groups, incidents=())


async def test_page_refreshes_in_place_from_status_json(rendered: Rendered, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    out = tmp_path / "site"
    renderer = Renderer(rendered.site, calendar=rendered.calendar)
    AtomicSite(out).write(renderer.files(at(rendered.model, now)))
    async with serve(out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800)
        await page.load(url)
        before = await page.eval(STAMP)
        await page.eval("window.__sameDocument = true")
        later = now + timedelta(seconds=5)
        AtomicSite(out).write(renderer.files(all_clear(rendered.model, later)))
        after = before
        for _ in range(90):  # the page polls every 30 s
            await asyncio.sleep(0.5)
            after = await page.eval(STAMP)
            if after["generated"] != before["generated"]:
                break
        reloaded = not await page.eval("window.__sameDocument === true")
        announced = await page.eval("document.querySelector('[data-refreshed]').textContent")
    assert before["banner"] == "Major system outage"
    assert after["banner"] == "All systems operational" and after["datetime"] == iso(later), after
    assert not reloaded and announced == "The page was updated with the latest status."


LOCAL = """(() => ({
  range: document.querySelector('#standard-20260321T0400Z dd[data-local-range]').textContent,
  label: document.querySelector('#standard-20260321T0400Z dt.js-only').checkVisibility(),
}))()"""

STARTED = "(() => { const t = document.querySelector('.facts time[data-local]'); return [t.textContent, t.title]; })()"


@pytest.mark.parametrize(
    ("locale", "zone", "lang", "window", "started"),
    [
        # An en-GB reader in Paris: day before month, a 24-hour clock, the reader's zone (CET before 29 March).
        ("en-GB", "Europe/Paris", "", ["21 Mar 2026", "05:00", "11:00", "CET"], ["7 Mar 2026", "07:30", "CET"]),
        # A French-Canadian reader in Montreal on the French page.
        (
            "fr-CA",
            "America/Toronto",
            "fr/",
            ["21 mars 2026", "0 h 00", "6 h 00", "HAE"],
            ["7 mars 2026", "1 h 30", "HNE"],
        ),
    ],
)
async def test_times_follow_the_readers_locale_and_zone(
    rendered: Rendered, tmp_path: Path, locale: str, zone: str, lang: str, window: list[str], started: list[str]
) -> None:
    async with serve(rendered.out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800, locale=locale, zone=zone)
        await page.load(url + lang + "index.html")
        got = await page.eval(LOCAL)
        await page.load(url + lang + "incidents/auto-core-20260307T063000Z.html")
        text, title = await page.eval(STARTED)
    rng = got["range"].replace("\u202f", " ").replace("\u00a0", " ")
    assert got["label"] and all(part in rng for part in window) and "AM" not in rng, got
    start = text.replace("\u202f", " ").replace("\u00a0", " ")
    assert all(part in start for part in started) and "AM" not in start, text
    assert "MST" in title  # the page's own zone stays on hover


async def _refreshed_within(site_dir: Path, renderer: Renderer, model: StatusModel, profile: Path, wait: float) -> bool:
    """Serve the page, render it again 5 s later, and tell whether the open page took the new render in place."""
    now = datetime.now(UTC)
    AtomicSite(site_dir).write(renderer.files(at(model, now)))
    async with serve(site_dir) as url, browser(profile) as page:
        await page.emulate(1280, 800)
        await page.load(url)
        before = await page.eval(STAMP)
        AtomicSite(site_dir).write(renderer.files(all_clear(model, now + timedelta(seconds=5))))
        for _ in range(int(wait / 0.5)):
            await asyncio.sleep(0.5)
            if (await page.eval(STAMP))["generated"] != before["generated"]:
                return True
    return False


async def test_live_refresh_follows_its_setting_and_zero_turns_it_off(rendered: Rendered, tmp_path: Path) -> None:
    fast = Renderer(rendered.site.model_copy(update={"live_refresh": 5.0}), calendar=rendered.calendar)
    off = Renderer(rendered.site.model_copy(update={"live_refresh": 0.0}), calendar=rendered.calendar)
    assert await _refreshed_within(tmp_path / "fast", fast, rendered.model, tmp_path / "p1", wait=12)
    assert not await _refreshed_within(tmp_path / "off", off, rendered.model, tmp_path / "p2", wait=12)


async def test_footer_links_to_the_subscription_form_when_set(rendered: Rendered, tmp_path: Path) -> None:
    site = rendered.site.model_copy(update={"subscribe_url": "notify/subscribe"})
    out = tmp_path / "on"
    AtomicSite(out).write(Renderer(site, calendar=rendered.calendar).files(rendered.model))
    plain = tmp_path / "off"
    AtomicSite(plain).write(Renderer(rendered.site, calendar=rendered.calendar).files(rendered.model))
    link = "[...document.querySelectorAll('footer a')].filter(a => a.href.includes('subscribe')).map(a => a.href)"
    async with serve(out) as url, serve(plain) as plain_url, browser(tmp_path / "profile") as page:
        await page.emulate(390, 844)
        await page.load(url + "fr/history.html")
        fr = await page.eval(link)
        await page.load(url)
        en = await page.eval(link)
        await page.load(plain_url)
        none = await page.eval(link)
    assert fr == [url + "notify/subscribe?lang=fr"], fr
    assert en == [url + "notify/subscribe?lang=en"], en
    assert none == []
