"""Re-rendering is incremental by construction, gives the same bytes as a cold render, and touches few files."""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

from agent.core.model import Status
from statuspage.model import Incident, StatusModel, Update
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.statuspage.conftest import Rendered


def _transition(m: StatusModel, cid: str) -> StatusModel:
    """`m` rebuilt afresh (equal values, new objects, as ModelBuilder makes it), after `cid` went down."""
    m = copy.deepcopy(m)
    at = m.generated_at + timedelta(minutes=1)
    groups = []
    for g in m.groups:
        comps = []
        for c in g.components:
            if c.id == cid:
                today = c.days[-1]._replace(status=Status.MAJOR_OUTAGE, down_minutes=1, incidents=(("new", "Down"),))
                c = replace(c, status=Status.MAJOR_OUTAGE, updated_at=at, days=(*c.days[:-1], today))
            comps.append(c)
        groups.append(replace(g, components=tuple(comps)))
    new = Incident(
        "new", "Down", "investigating", "critical", at, at, at, (cid,), (Update(at, "investigating", "Down."),)
    )
    return replace(m, generated_at=at, groups=tuple(groups), incidents=(new, *m.incidents))


def test_a_rerender_rebuilds_only_what_changed_and_matches_a_cold_render(rendered: Rendered) -> None:
    renderer = Renderer(rendered.site, calendar=rendered.calendar)
    first = renderer.files(rendered.model)
    cold_made = renderer.made

    same = renderer.files(copy.deepcopy(rendered.model))  # nothing changed: nothing is rebuilt
    assert renderer.made == 0
    assert same == first

    after = _transition(rendered.model, "legacy")
    again = renderer.files(after)
    # The component's row and badge, the new incident's page and card, today's history blocks, the group,
    # its JSON and the feed entry; in both languages. Never the other components or the other incidents.
    # (The month's history page is built twice: as history.html and as history-YYYY-MM.html.)
    assert 0 < renderer.made <= 26 < cold_made
    assert again == Renderer(rendered.site, calendar=rendered.calendar).files(after)
    changed = {p for p in again if first.get(p) != again[p]}
    assert {"badge/legacy.svg", "incidents/new.html", "fr/incidents/new.html"} <= changed
    assert not any(p.startswith("incidents/") and p != "incidents/new.html" for p in changed)
    assert not {p for p in changed if p.startswith("badge/")} - {"badge/legacy.svg"}


class _Bars(HTMLParser):
    """Each 90-day bar's items: (class, text, link)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bars: list[list[list[str]]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "ol" and a.get("class") == "bar":
            self.bars.append([])
            self._depth = 1
        elif self._depth and tag == "li":
            self.bars[-1].append([a.get("class") or "", "", ""])
        elif self._depth and tag == "a":
            self.bars[-1][-1][2] = a.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol":
            self._depth = 0

    def handle_data(self, data: str) -> None:
        if self._depth and self.bars[-1]:
            self.bars[-1][-1][1] += data


def test_every_day_cell_says_its_day_and_status_in_words(rendered: Rendered) -> None:
    langs = (("index.html", "No data.", "Outage:"), ("fr/index.html", "Aucune donnée.", "Panne\u00a0:"))
    for path, nodata, outage in langs:
        parser = _Bars()
        parser.feed(rendered.text(path))
        assert len(parser.bars) == len(rendered.model.components)
        cells = [cell for bar in parser.bars for cell in bar]
        assert all(len(bar) == 90 for bar in parser.bars)
        assert all(text.strip() for _, text, _ in cells)  # a screen reader has words for every day
        assert {cls for cls, _, _ in cells} <= {"", "dg", "po", "mo", "um", "nd"}
        assert all(nodata in text for cls, text, _ in cells if cls == "nd")
        assert any(outage in text for cls, text, _ in cells if cls == "mo")
        linked = [(text, href) for _, text, href in cells if href]
        assert linked and all(h.startswith(("incidents/", "history-")) for _, h in linked)
    html = rendered.text("index.html")
    assert len(html.encode()) / (90 * len(rendered.model.components)) < 200  # compact: no nested markup per day


def test_reused_generation_never_changes_a_file_the_current_one_shares(tmp_path: Path) -> None:
    site = AtomicSite(tmp_path / "site")
    one = site.write({"a.html": b"1", "b.html": b"x", "old/c.html": b"c"})
    two = site.write({"a.html": b"2", "b.html": b"x", "old/c.html": b"c"})
    shared = os.stat(two.generation / "b.html").st_ino
    assert shared == os.stat(one.generation / "b.html").st_ino  # hard-linked into the second generation
    three = site.write({"a.html": b"3", "b.html": b"y"})
    assert three.reused and three.generation == one.generation
    assert (three.written, three.linked, three.removed) == (2, 0, 1)
    assert (tmp_path / "site" / "b.html").read_bytes() == b"y"
    assert (two.generation / "b.html").read_bytes() == b"x"  # the shared inode kept its bytes
    assert os.stat(two.generation / "b.html").st_ino == shared
    assert not (three.generation / "old").exists()
    four = site.write({"a.html": b"3", "b.html": b"y"})
    assert four.reused and four.generation == two.generation and (four.written, four.linked) == (2, 0)
    five = site.write({"a.html": b"3", "b.html": b"y"})
    assert (five.written, five.linked) == (0, 2)  # identical to the generation it updates: nothing written
    gens = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site.gen-"))
    assert gens == sorted({one.generation.name, two.generation.name})
    assert not [p for p in three.generation.iterdir() if p.name.endswith(".new")]
