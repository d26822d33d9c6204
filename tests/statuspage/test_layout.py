"""Layout claims proven in headless Chromium: maintenance in the first screen, bars, collapse, SLA table."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from agent.core.model import Status
from statuspage.model import Maintenance, StatusModel
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.statuspage.browser import serve
from tests.statuspage.cdp import browser
from tests.statuspage.conftest import Rendered

pytestmark = pytest.mark.peer


def write_site(rendered: Rendered, model: StatusModel, out: Path) -> Path:
    """`model` rendered with the fixture's site and calendar into `out`."""
    AtomicSite(out).write(Renderer(rendered.site, calendar=rendered.calendar).files(model))
    return out


def _window(m: StatusModel, wid: str, status: str, start_in: timedelta, notice_in: timedelta) -> Maintenance:
    start, notice = m.generated_at + start_in, m.generated_at + notice_in
    return Maintenance(
        id=wid,
        name=wid.replace("-", " ").title(),
        status=status,  # type: ignore[arg-type]
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=3),
        components=("core",),
        notice_at=notice,
        created_at=min(notice, start),
        updated_at=min(notice, m.generated_at),
    )


def with_windows(m: StatusModel) -> StatusModel:
    """The fixture plus a window in progress and a one-off upcoming window whose notice is not out yet, listed
    after the later standard window (the page must sort them)."""
    patch = _window(m, "core-patch", "in_progress", -timedelta(hours=1), -timedelta(days=3))
    sbc = _window(m, "sbc-upgrade", "scheduled", timedelta(days=2), timedelta(days=1))
    return replace(m, maintenances=(*m.maintenances, sbc, patch))


FIRST_SCREEN = """(() => {
  const box = (el) => el ? el.getBoundingClientRect() : null;
  const cards = [...document.querySelectorAll('.maintenances article')];
  const first = cards[0];
  return {
    ids: cards.map((c) => c.id), height: innerHeight, width: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    maint: box(document.getElementById('h-maint')).top, active: box(document.getElementById('h-active')).top,
    components: box(document.getElementById('h-components')).top,
    firstHeading: box(first.querySelector('h3')).bottom, firstLink: box(first.querySelector('a.ics')).bottom,
    notices: Object.fromEntries(cards.map((c) => [c.id, (c.querySelector('.notice') || {}).textContent || ''])),
    links: Object.fromEntries(cards.map((c) => [c.id, c.querySelector('a.ics').href])),
  };
})()"""


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_maintenance_leads_the_first_screen_in_order_and_truthfully(
    rendered: Rendered, tmp_path: Path, width: int, height: int
) -> None:
    root = write_site(rendered, with_windows(rendered.model), tmp_path / "site")
    async with serve(root) as url, browser(tmp_path / "profile") as page:
        await page.emulate(width, height)
        seen: dict[str, dict[str, Any]] = {}
        for lang in ("", "fr/"):
            await page.load(url + lang + "index.html")
            seen[lang] = await page.eval(FIRST_SCREEN)
        ics = await page.eval(f"fetch({seen['']['links']['sbc-upgrade']!r}).then((r) => r.text())")
    for lang, got in seen.items():
        # In progress first, then upcoming by start: the SBC upgrade (in 2 days) before the standard window.
        assert got["ids"] == [
            "core-patch",
            "sbc-upgrade",
            "certificate-upload-20260320T0600Z",
            "standard-20260321T0400Z",
        ], lang
        assert got["maint"] < got["active"] < got["components"], lang
        assert got["firstHeading"] <= got["height"] and got["firstLink"] <= got["height"], (lang, got)
        assert got["scrollWidth"] <= got["width"], (lang, got)  # nothing wider than the screen
    assert seen[""]["notices"]["sbc-upgrade"].startswith("Notice to be published")
    assert seen[""]["notices"]["core-patch"].startswith("Notice published")
    assert seen["fr/"]["notices"]["sbc-upgrade"].startswith("Publication de l’avis prévue le")
    assert "publié" not in seen["fr/"]["notices"]["sbc-upgrade"]
    assert seen["fr/"]["notices"]["core-patch"].startswith("Avis publié le")
    events = Calendar.from_ical(ics).walk("VEVENT")
    sbc = next(mt for mt in with_windows(rendered.model).maintenances if mt.id == "sbc-upgrade")
    assert len(events) == 1 and events[0].decoded("dtstart") == sbc.scheduled_for
    assert str(events[0]["uid"]) == "sbc-upgrade@status.example.com"


BARS = """(() => {
  const chroma = (el) => {
    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/[0-9.]+/g).map(Number);
    return Math.max(r, g, b) - Math.min(r, g, b);
  };
  const cell = (sel) => document.querySelector('#c-' + sel);
  const out = {};
  for (const [name, sel] of [['mo', 'api .bar > li.mo'], ['po', 'portal .bar > li.po'],
                             ['dg', 'evil .bar > li.dg'], ['ok', 'legacy .bar > li:not([class])'],
                             ['nd', 'newbie .bar > li.nd']]) {
    const el = document.querySelector('#c-' + sel);
    out[name] = {height: el.getBoundingClientRect().height, chroma: chroma(el)};
  }
  return out;
})()"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
async def test_outage_days_are_the_most_visible_cells(rendered: Rendered, tmp_path: Path, dark: bool) -> None:
    async with serve(rendered.out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800, dark=dark)
        await page.load(url)
        await page.eval("document.querySelectorAll('details').forEach((d) => d.open = true); true")
        cells = await page.eval(BARS)
    h = {k: v["height"] for k, v in cells.items()}
    assert h["mo"] > h["po"] > h["dg"] > h["ok"] > h["nd"] > 0, h
    # The major outage's colour is the most saturated of the bar; a quiet day is paler than any outage.
    assert cells["mo"]["chroma"] >= max(v["chroma"] for v in cells.values()), cells
    assert cells["ok"]["chroma"] < min(cells["mo"]["chroma"], cells["po"]["chroma"]), cells


def healthy_voice(m: StatusModel) -> StatusModel:
    """The fixture with the Voice group operational now (its core outage of 10 days ago still on the bars)."""
    groups = []
    for g in m.groups:
        if g.id == "voice":
            g = replace(g, components=tuple(replace(c, status=Status.OPERATIONAL) for c in g.components))
        groups.append(g)
    return replace(m, groups=tuple(groups))


COLLAPSE = """(() => {
  const group = (id) => {
    const g = document.getElementById('g-' + id);
    const row = g.querySelector('.comp');
    return {open: g.querySelector('details').open, rowShown: row.checkVisibility(),
            cells: g.querySelectorAll('.group-bar > li').length,
            worst: g.querySelectorAll('.group-bar > li.mo').length,
            barShown: g.querySelector('.group-bar').getBoundingClientRect().height > 0};
  };
  const scripted = !document.querySelector('dd[data-local-range]').hidden;
  return {voice: group('voice'), portals: group('portals'), scripted};
})()"""


async def test_healthy_groups_collapse_to_their_summary_bar_without_script(rendered: Rendered, tmp_path: Path) -> None:
    root = write_site(rendered, healthy_voice(rendered.model), tmp_path / "site")
    async with serve(root) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800, js=False)
        await page.load(url)
        before = await page.eval(COLLAPSE)
        await page.eval("document.querySelector('#g-voice summary').click(); true")
        after = await page.eval(COLLAPSE)
    assert not before["scripted"]  # the page's own script did not run
    voice, portals = before["voice"], before["portals"]
    assert not voice["open"] and not voice["rowShown"]  # operational: folded away
    assert voice["barShown"] and voice["cells"] == 90 and voice["worst"] >= 1  # core's outage still shows
    assert portals["open"] and portals["rowShown"]  # an outage keeps its group open
    assert after["voice"]["open"] and after["voice"]["rowShown"]  # a click opens it, no script needed


SLA = """(() => {
  const t = document.querySelector('table.sla'), w = document.querySelector('.table-wrap');
  const last = t.querySelector('tbody tr td:last-child').getBoundingClientRect();
  return {table: t.scrollWidth, wrap: w.clientWidth, overflow: getComputedStyle(w).overflowX,
          lastRight: last.right, wrapRight: w.getBoundingClientRect().right, page: document.documentElement.scrollWidth,
          width: innerWidth};
})()"""


@pytest.mark.parametrize("width", [1280, 900, 390])
async def test_sla_table_fits_without_clipping(rendered: Rendered, tmp_path: Path, width: int) -> None:
    async with serve(rendered.out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(width, 800)
        for lang in ("", "fr/"):
            await page.load(url + lang + "sla.html")
            got = await page.eval(SLA)
            assert got["table"] <= got["wrap"] and got["lastRight"] <= got["wrapRight"], (lang, got)
            assert got["page"] <= got["width"], (lang, got)
