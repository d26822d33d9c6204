"""The built-in windows are the product's words: French pages name them in French, in Chromium and the feed.

The weekly certificate upload's heading and the standard window's updates ("Standard maintenance window est
terminée.") were English on French pages, as if the provider had written them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.statuspage.browser import serve
from tests.statuspage.cdp import browser
from tests.statuspage.conftest import Rendered

pytestmark = pytest.mark.peer

CERT_FR = "Téléversement hebdomadaire des certificats (sans impact pour la clientèle)"
ENGLISH = ("Weekly certificate upload", "Standard maintenance window")

HEADINGS = "[...document.querySelectorAll('article.maint > :first-child')].map(h => [h.textContent.trim(), h.lang])"
BODIES = "[...document.querySelectorAll('article.maint .u-body, article.maint li p')].map(p => p.textContent.trim())"


async def test_french_pages_name_the_builtin_windows_in_french(rendered: Rendered, tmp_path: Path) -> None:
    async with serve(rendered.out) as base, browser(tmp_path / "profile") as page:
        await page.emulate(1280, 800)
        await page.load(base + "fr/maintenance.html")
        headings = await page.eval(HEADINGS)
        assert [CERT_FR, ""] in headings and ["Fenêtre standard", ""] in headings, headings
        text = await page.eval("document.querySelector('main').innerText")
        assert not [w for w in ENGLISH if w in text], text
        assert "Fenêtre standard est planifiée." in text, text
        # A label heads its line, capitalised: "Heure des Rocheuses", as "Heure locale" beside it.
        labels = await page.eval("[...document.querySelectorAll('article.maint dt')].map(d => d.textContent)")
        assert "Heure des Rocheuses (America/Denver)" in labels and all(x[:1].isupper() for x in labels), labels
        await page.load(base + "maintenance.html")
        headings = await page.eval(HEADINGS)
        assert ["Weekly certificate upload (no customer impact)", ""] in headings, headings
    atom = rendered.text("fr/history.atom")
    assert not [w for w in ENGLISH if w in atom] and "Fenêtre standard · " in atom
