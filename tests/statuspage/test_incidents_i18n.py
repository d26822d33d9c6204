"""Human incident files, safe Markdown, the catalogs and the palette's WCAG AA contrast."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from statuspage.i18n import LOCALES_DIR, Locale
from statuspage.incidents import IncidentFileError, load_incidents, parse_incident
from statuspage.render import STATIC
from statuspage.safe_markdown import markdown_html, safe_url

GOOD = """---
title: Portal slow
components: [portal]
status: resolved
impact: minor
updates:
  - {at: 2026-03-01T10:00:00Z, status: investigating, body: Looking.}
  - {at: 2026-03-01T11:00:00-07:00, status: resolved, body: Fixed.}
---
Body **here**.
"""


def test_a_human_incident_parses() -> None:
    inc = parse_incident(GOOD, "incidents/portal-slow.md")
    assert inc.id == "post-portal-slow" and inc.status == "resolved" and inc.impact == "minor"
    assert inc.resolved_at == datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert [u.status for u in inc.updates] == ["resolved", "investigating"]
    assert inc.postmortem_html == "<p>Body <strong>here</strong>.</p>"


@pytest.mark.parametrize(
    "text,message",
    [
        ("title: x\n", "must start with a '---' line"),
        ("---\ntitle: x\n", "no closing '---'"),
        ("---\n[a\n---\n", "invalid YAML"),
        ("---\n- a\n---\n", "must be a mapping"),
        (GOOD.replace("status: resolved\nimpact", "status: fixed\nimpact"), "status:"),
        (GOOD.replace("2026-03-01T10:00:00Z", "2026-03-01T10:00:00"), "updates.0.at: Input should have timezone"),
        (GOOD.replace("impact: minor", "impact: minor\ncolour: red"), "colour: Extra inputs"),
    ],
)
def test_bad_incident_files_name_file_and_key(text: str, message: str) -> None:
    with pytest.raises(IncidentFileError) as err:
        parse_incident(text, "incidents/bad.md")
    assert str(err.value).startswith("incidents/bad.md: ") and message in str(err.value)


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text(GOOD.replace("title:", "id: same\ntitle:"))
    with pytest.raises(IncidentFileError, match="already used"):
        load_incidents(tmp_path)
    assert load_incidents(tmp_path / "missing") == []


@pytest.mark.parametrize(
    "url,ok",
    [
        ("https://a.b/c", True),
        ("/x", True),
        ("#d", True),
        ("mailto:a@b.c", True),
        ("javascript:alert(1)", False),
        (" JaVa\tScRiPt:x", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert safe_url(url) is ok


def test_markdown_never_passes_html_through() -> None:
    html = markdown_html('<b onclick="x">hi</b> [a](javascript:x) ![i](https://e.com/i.png) after')
    assert "<b" not in html and "&lt;b" in html
    assert 'href="javascript' not in html and "https://e.com/i.png" not in html and "after" in html


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en = json.loads((LOCALES_DIR / "en.json").read_text())
    fr = json.loads((LOCALES_DIR / "fr.json").read_text())
    assert set(en) == set(fr)
    for key, value in en.items():
        if isinstance(value, str):
            assert set(re.findall(r"{(\w+)", value)) == set(re.findall(r"{(\w+)", fr[key])), key


def test_french_formats() -> None:
    fr = Locale("fr")
    # OQLF: a no-break space before % and inside dates and durations, so they never break across lines.
    assert fr.percent(99.95) == "99,95\u00a0%"
    assert fr.date(datetime(2026, 3, 20).date()) == "20\u00a0mars\u00a02026"
    assert fr.duration(65) == "1\u00a0h\u00a05\u00a0min"
    with pytest.raises(ValueError, match="unknown language"):
        Locale("de")


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _themes() -> list[dict[str, str]]:
    css = (STATIC / "style.css").read_text()
    blocks = re.findall(r":root\s*{([^}]*)}", css)
    return [dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", b)) for b in blocks[:2]]


@pytest.mark.parametrize("theme", [0, 1], ids=["light", "dark"])
def test_palette_meets_wcag_aa(theme: int) -> None:
    v = _themes()[theme]
    for fg in ("fg", "muted", "accent"):
        for bg in ("bg", "card", "soft"):
            assert _contrast(v[fg], v[bg]) >= 4.5, (fg, bg)
    for status in ("ok", "degraded", "partial", "major", "maint"):
        for bg in ("bg", "card"):
            assert _contrast(v[status], v[bg]) >= 4.5, (status, bg)  # status words are text
        assert _contrast(v[status], v["on-banner"]) >= 4.5, (status, "banner")
    assert _contrast(v["nodata"], v["card"]) >= 3.0  # a non-text outline (WCAG 1.4.11)
