"""The served site in headless Chromium: screenshots at 360 and 1280 px, hostile text inert in the real DOM."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.statuspage.browser import dump_dom, screenshot, serve
from tests.statuspage.conftest import Rendered
from tests.statuspage.fixture import HOSTILE_NAME

pytestmark = pytest.mark.peer


class _Dom(HTMLParser):
    """Elements and text of the DOM Chromium serialised."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    return dom


def _assert_inert(dom: _Dom) -> None:
    scripts = [a for t, a in dom.elements if t == "script"]
    assert all(a.get("src", "").endswith("static/local-time.js") for a in scripts), scripts
    for tag, attrs in dom.elements:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        for key in ("href", "src", "action", "formaction"):
            assert not attrs.get(key, "").strip().lower().startswith(("javascript:", "data:")), (tag, attrs)
        assert tag not in ("iframe", "object", "embed", "img") or attrs.get("src", "").startswith("static/")


async def test_screenshots_at_phone_and_desktop_widths(rendered: Rendered, tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    async with serve(rendered.out) as url:
        for width, height in ((360, 1800), (1280, 1400)):
            png = await screenshot(tmp_path / "profile", url, shots / f"index-{width}.png", width, height)
            data = png.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            # PNG IHDR: the image is as wide as the window asked for.
            assert int.from_bytes(data[16:20], "big") == width
        fr = await screenshot(tmp_path / "profile", url + "fr/", shots / "fr-360.png", 360, 1200)
        assert fr.stat().st_size > 10_000


async def test_hostile_text_stays_inert_in_the_browser_dom(rendered: Rendered, tmp_path: Path) -> None:
    async with serve(rendered.out) as url:
        index = _parse(await dump_dom(tmp_path / "profile", url))
        incident = _parse(await dump_dom(tmp_path / "profile", url + "incidents/post-hostile.html"))
        history = _parse(await dump_dom(tmp_path / "profile", url + "fr/history.html"))
    for dom in (index, incident, history):
        _assert_inert(dom)
    index_text = "".join(index.text)
    assert HOSTILE_NAME in index_text  # shown to the reader as text
    page_text = "".join(incident.text)
    assert '<script>alert("body")</script>' in page_text
    assert "<img src=x onerror=alert(5)>" in page_text
    assert '<iframe src="javascript:alert(7)"></iframe>' in page_text
    links = {a.get("href", "") for t, a in incident.elements if t == "a"}
    assert "https://example.com/docs" in links
    # The javascript: link kept its words but lost its target.
    assert "click me" in page_text and not any("alert(6)" in h for h in links)


async def test_local_time_script_fills_the_readers_zone(rendered: Rendered, tmp_path: Path) -> None:
    async with serve(rendered.out) as url:
        dom = _parse(await dump_dom(tmp_path / "profile", url))
    ranges = [a for t, a in dom.elements if t == "dd" and "data-local-range" in a]
    assert ranges and all("hidden" not in a for a in ranges)
