"""The permanent record: incident and RFO pages survive a later render; the history is paginated by month."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.core.model import Transition
from agent.history.reader import HistoryReader
from statuspage.build import ARCHIVE_START, ModelBuilder
from statuspage.incidents import load_incidents
from statuspage.output import AtomicSite
from statuspage.render import Renderer
from tests.statuspage.fixture import COMPONENTS, NOW, build_model, site_config, write_history, write_incidents

RFO_POST = """---
title: Calls failing to connect
components: [core]
status: postmortem
impact: critical
links: [auto-core-20260307T063000Z]
updates:
  - at: 2026-03-07T06:40:00Z
    status: investigating
    body: Calls are failing to connect.
  - at: 2026-03-07T08:15:00Z
    status: resolved
    body: Calls connect again.
---
Reason for outage: a failed SBC firmware upgrade.
"""


def _render(tmp: Path, days_later: int, out: Path) -> dict[str, bytes]:
    """The fixture (plus a resolved post with its RFO) rendered `days_later` after NOW into `out`."""
    (tmp / "incidents").mkdir(parents=True)
    (tmp / "incidents" / "core-rfo.md").write_text(RFO_POST, encoding="utf-8")
    site, model, calendar = build_model(tmp, NOW + timedelta(days=days_later))
    files = Renderer(site, calendar=calendar).files(model)
    AtomicSite(out).write(files)
    return files


def test_incident_and_rfo_pages_survive_a_render_months_later(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = _render(tmp_path / "now", 0, out)
    kept = [
        "incidents/post-core-rfo.html",
        "incidents/auto-core-20260307T063000Z.html",
        "fr/incidents/post-core-rfo.html",
    ]
    assert set(kept) <= set(first)
    _render(tmp_path / "later", 200, out)  # the outage is now 210 days old, far outside the 90-day bars
    for path in kept:
        assert (out / path).is_file(), path
    rfo = (out / "incidents/post-core-rfo.html").read_text(encoding="utf-8")
    assert "a failed SBC firmware upgrade" in rfo
    march = (out / "history-2026-03.html").read_text(encoding="utf-8")
    assert "incidents/post-core-rfo.html" in march
    # SLA months are kept as long as history keeps the record, not 90 days.
    sla = (out / "sla/2026-03.html").read_text(encoding="utf-8")
    assert "Core call processing" in sla and "1 h 45 min" in sla
    assert (out / "sla/2025-11.html").is_file()


def test_history_is_one_page_per_month_with_only_the_days_that_saw_something(tmp_path: Path) -> None:
    files = _render(tmp_path / "now", 0, tmp_path / "site")
    months = sorted(p for p in files if p.startswith("history-") and p.endswith(".html"))
    assert months == [f"history-{m}.html" for m in ("2025-11", "2025-12", "2026-01", "2026-02", "2026-03")]
    assert files["history.html"].replace(b"history.html", b"") != b""  # the current month, at the usual address
    march = files["history-2026-03.html"].decode()
    assert 'aria-current="page">March 2026<' in march
    # The core outage: its card says when, for how long and what it touched.
    card = march[march.index('href="incidents/post-core-rfo.html"') :]
    card = card[: card.index("</article>")]
    assert "1 h 45 min" in card and "Affected components:" in card and "Core call processing" in card
    # Maintenance is part of the record: February's standard window is on February's page.
    assert 'id="standard-20260221T0500Z"' in files["history-2026-02.html"].decode()
    # A quiet month says so once, instead of a line for each of its days.
    quiet = _render(tmp_path / "later", 200, tmp_path / "later-site")
    page = quiet["history.html"].decode()
    assert page.count("No incidents or maintenance this month.") == 1
    assert "No incidents reported" not in page and len(page) < 15_000
    assert len([p for p in quiet if p.startswith("history-")]) == 12  # Nov 2025 .. Oct 2026, none dropped


class _Counting:
    """The real history reader, counting reads that start at the beginning of the store."""

    def __init__(self, reader: HistoryReader) -> None:
        self.reader, self.whole = reader, 0

    def transitions(self, start: datetime, end: datetime, **kw: Any) -> list[Transition]:
        self.whole += start == ARCHIVE_START
        return self.reader.transitions(start, end, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


def test_the_archive_is_read_once_a_day_not_at_every_build(tmp_path: Path) -> None:
    db = write_history(tmp_path / "history.sqlite")
    site = site_config(tmp_path / "site", write_incidents(tmp_path / "incidents"))
    with HistoryReader(db) as reader:
        counting = _Counting(reader)
        builder = ModelBuilder(site, COMPONENTS, counting, human=load_incidents(site.incidents))
        models = [builder.build(NOW + timedelta(minutes=m)) for m in (0, 1, 2)]
        assert counting.whole == 1  # three builds the same day: one read of the whole store
        later = builder.build(NOW + timedelta(days=1))
        assert counting.whole == 2  # the window moved: read again
    ids = {i.id for i in models[0].incidents}
    assert ids == {i.id for i in models[2].incidents} and ids <= {i.id for i in later.incidents}
    assert "auto-core-20260307T063000Z" in ids
