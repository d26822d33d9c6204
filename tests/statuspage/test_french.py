"""The French pages are Canadian French as the provider writes it: its terms, OQLF typography, lang tags."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from statuspage.i18n import LOCALES_DIR, Locale
from statuspage.langs import TEMPLATES
from tests.statuspage.conftest import Rendered

SPACES = "\u00a0\u202f"
"""The no-break space and the narrow no-break space: the only spaces allowed before a colon or %."""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def typography_errors(text: str) -> list[str]:
    """OQLF: a no-break space before ':' and '%', no space of any kind before ';', '!' and '?'."""
    text = re.sub(r"\{[^}]*\}", "{}", text)  # placeholders and their format specs ({minute:02d})
    errors = [m.group() for m in re.finditer(r"(^|.)[:%]", text) if m.group(1) not in SPACES]
    errors += [m.group() for m in re.finditer(rf"[\s{SPACES}][;!?]", text)]
    return errors


def test_the_french_catalog_follows_oqlf_typography() -> None:
    catalog = json.loads((LOCALES_DIR / "fr.json").read_text(encoding="utf-8"))
    bad = {s: typography_errors(s) for s in _strings(catalog) if typography_errors(s)}
    assert not bad, bad
    assert typography_errors("Panne : 5 min") and typography_errors("99,9 %") and typography_errors("Oui !")


def test_no_template_hard_codes_punctuation() -> None:
    """Colons live in the catalog, where each language writes its own (French with a no-break space)."""
    for path in sorted(TEMPLATES.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", "", text, flags=re.S)
        words = re.sub(r"<[^>]*>", "", text)
        assert ":" not in words, (path.name, [line for line in words.splitlines() if ":" in line])


class _Text(HTMLParser):
    """Text of a page with the language of the element it sits in."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "use", "path", "circle", "rect", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []
        self.text: list[tuple[str, str]] = []
        self.tagged: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tagged.append((tag, a))
        if tag not in self.VOID:
            self.stack.append((tag, a.get("lang") or (self.stack[-1][1] if self.stack else "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tagged.append((tag, {k: v or "" for k, v in attrs}))  # <use .../>: opens nothing

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and any(t == tag for t, _ in self.stack):
            while self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] not in ("style", "script", "title"):
            self.text.append((self.stack[-1][1], data))


def _page(rendered: Rendered, path: str) -> _Text:
    parsed = _Text()
    parsed.feed(rendered.text(path))
    return parsed


def test_french_pages_are_fr_ca_with_oqlf_typography_and_english_marked(rendered: Rendered) -> None:
    pages = [p for p in rendered.files if p.startswith("fr/") and p.endswith(".html")]
    assert len(pages) > 5 and any("/incidents/" in p for p in pages)
    for path in pages:
        page = _page(rendered, path)
        assert page.tagged[0] == ("html", {"lang": "fr-CA"}), path
        french = "".join(text for lang, text in page.text if lang == "fr-CA")
        assert not typography_errors(french), (path, typography_errors(french))
    index = _page(rendered, "fr/index.html")
    # The provider's own words (component names, windows, posts) are English: marked so for screen readers.
    names = [a for tag, a in index.tagged if "comp-name" in a.get("class", "")]
    assert names and all(a.get("lang") == "en" for a in names)
    assert ("en", "Core call processing") in index.text
    # Inside a French sentence too: an automatic incident's title and updates name the component in English.
    auto = _page(rendered, "fr/incidents/auto-voice-20260316T130000Z.html")
    assert ("en", "Voice & messaging") in auto.text and ("fr-CA", "\u00a0: Panne partielle") in auto.text
    english = _page(rendered, "index.html")
    assert english.tagged[0] == ("html", {"lang": "en"})
    assert not [a for _, a in english.tagged[1:] if a.get("lang") == "en"]  # nothing to mark on an English page


def test_french_uses_the_providers_vocabulary(rendered: Rendered) -> None:
    index = rendered.text("fr/index.html")
    for term in (
        "Soutien",
        "État du réseau",
        "Mises à jour et notifications",
        "entente de niveau de service",
        "Composants touchés",
        "Heure locale",
        "heure des Rocheuses (America/Denver)",
    ):
        assert term in index, term
    for wrong in ("Touche", "Votre heure", "heure de America", "Performances"):
        assert wrong not in index, wrong


def test_a_france_french_catalog_overrides_only_its_terms(tmp_path: Path) -> None:
    (tmp_path / "fr.json").write_text((LOCALES_DIR / "fr.json").read_text(encoding="utf-8"), encoding="utf-8")
    france = {"lang.base": "fr", "lang.tag": "fr-FR", "nav.support": "Assistance", "label.feeds": "S’abonner\u00a0:"}
    (tmp_path / "fr-FR.json").write_text(json.dumps(france), encoding="utf-8")
    loc = Locale("fr-FR", tmp_path)
    assert loc.tag == "fr-FR" and loc("nav.support") == "Assistance"
    assert loc("nav.status") == Locale("fr")("nav.status") == "État du réseau"  # inherited
    assert Locale("fr").tag == "fr-CA"
