"""axe-core (from npm) in headless Chromium: zero violations on every page, both themes, both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.statuspage.browser import serve
from tests.statuspage.cdp import browser
from tests.statuspage.conftest import Rendered
from tests.statuspage.test_layout import healthy_voice, with_windows, write_site

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
async def test_no_axe_violation_on_any_page(rendered: Rendered, tmp_path: Path, dark: bool) -> None:
    pages = sorted(p for p in rendered.files if p.endswith(".html"))
    assert any(p.startswith("fr/") for p in pages) and "sla.html" in pages and "history.html" in pages
    found: dict[str, list[str]] = {}
    async with serve(rendered.out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800, dark=dark)
        for path in pages:
            await page.load(url + path)
            assert await page.eval("matchMedia('(prefers-color-scheme: dark)').matches") is dark
            violations = await page.axe()
            if violations:
                found[path] = [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in violations]
    assert not found, found


async def test_axe_sees_a_violation_when_there_is_one(rendered: Rendered, tmp_path: Path) -> None:
    """The harness can fail: a page with an unlabelled image is reported."""
    async with serve(rendered.out) as url, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800)
        await page.load(url + "index.html")
        await page.eval("document.querySelector('main').append(document.createElement('img')); true")
        ids = {v["id"] for v in await page.axe()}
    assert "image-alt" in ids


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
async def test_no_axe_violation_on_a_phone_with_windows_and_a_folded_group(
    rendered: Rendered, tmp_path: Path, dark: bool
) -> None:
    """The index's other states: a window in progress, a notice not yet out, a healthy group folded away."""
    root = write_site(rendered, healthy_voice(with_windows(rendered.model)), tmp_path / "site")
    found: dict[str, list[str]] = {}
    async with serve(root) as url, browser(tmp_path / "profile") as page:
        await page.emulate(390, 844, dark=dark)
        for path in ("index.html", "fr/index.html", "maintenance.html", "fr/maintenance.html"):
            await page.load(url + path)
            violations = await page.axe()
            if violations:
                found[path] = [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in violations]
    assert not found, found
