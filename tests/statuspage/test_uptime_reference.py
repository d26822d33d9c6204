"""Uptime figures against a hand-computed history with a fresh install, a stop and a restart (issue 17).

The history is what the agent writes (a first status from "unknown", "unknown" while stopped, the restored
state at start) through the real HistoryWriter into SQLite; the page is built and rendered from it.
Before: a fresh install showed 20.00 % after one 4-minute outage (its first status was never stored), a
25 s outage in 100 s showed 100.00 % (uptime summed rounded minutes), and the stopped hours counted as up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.core.model import Component, Transition
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from statuspage.build import ModelBuilder
from statuspage.model import ComponentView, StatusModel
from statuspage.render import Renderer
from tests.fakeclock import FakeClock
from tests.statuspage.fixture import site_config

NOW = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)
COMPONENTS = [
    Component("voice", "Voice", "", "voice_messaging", 0.9995),
    Component("brief", "Brief", "", "supporting", 0.98),
    Component("long", "Long", "", "supporting", 0.98),
    Component("fresh", "Fresh", "", "supporting", 0.98),
]


def _at(hh: int, mm: int, ss: int = 0, day: int = 16) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


def _rows() -> list[Transition]:
    def t(cid: str, at: datetime, old: str, new: str) -> Transition:
        return Transition("component", cid, at, old, new, "reference", cid)

    return [
        # voice: installed 10:00, 4 min outage at 12:00, stopped 14:00-16:00, 25 s outage at 17:00.
        t("voice", _at(10, 0), "unknown", "operational"),
        t("voice", _at(12, 0), "operational", "major_outage"),
        t("voice", _at(12, 4), "major_outage", "operational"),
        t("voice", _at(14, 0), "operational", "unknown"),
        t("voice", _at(16, 0), "unknown", "operational"),
        t("voice", _at(17, 0), "operational", "major_outage"),
        t("voice", _at(17, 0, 25), "major_outage", "operational"),
        # brief: installed 100 s ago, a 25 s outage.
        t("brief", _at(17, 58, 20), "unknown", "operational"),
        t("brief", _at(17, 58, 40), "operational", "partial_outage"),
        t("brief", _at(17, 59, 5), "partial_outage", "operational"),
        # long: installed 1 March, one 2 s outage.
        t("long", _at(0, 0, day=1), "unknown", "operational"),
        t("long", _at(3, 0, day=10), "operational", "major_outage"),
        t("long", _at(3, 0, 2, day=10), "major_outage", "operational"),
    ]


def _model(tmp: Path) -> tuple[StatusModel, dict[str, bytes]]:
    writer = HistoryWriter(tmp / "history.sqlite", clock=FakeClock(NOW))
    for row in _rows():
        writer.on_transition(row)
    assert writer.flush_sync()
    site = site_config(tmp / "site", tmp / "incidents", time_zone="UTC")
    with HistoryReader(tmp / "history.sqlite") as reader:
        model = ModelBuilder(site, COMPONENTS, reader).build(NOW)
    return model, Renderer(site).files(model)


def _comp(model: StatusModel, cid: str) -> ComponentView:
    return next(c for c in model.components if c.id == cid)


def _row_text(files: dict[str, bytes], cid: str, page: str = "index.html") -> str:
    html = files[page].decode()
    row = re.search(rf'<div class="comp" id="c-{cid}">(.*?)</p>\s*</div>', html, re.S)
    assert row, cid
    return re.sub(r"<[^>]+>", "", row.group(1))


def test_uptime_is_over_monitored_time_only(tmp_path: Path) -> None:
    model, files = _model(tmp_path)
    # voice: monitored 10:00-14:00 and 16:00-18:00 = 21,600 s; down 240 + 25 = 265 s.
    voice = _comp(model, "voice")
    want = 100 * (21_600 - 265) / 21_600  # 98.7731...
    assert voice.uptime_30 is not None and abs(voice.uptime_30 - want) < 1e-9
    assert voice.uptime_90 == voice.uptime_30
    today = voice.days[-1]
    assert today.nodata_minutes == 10 * 60 + 2 * 60  # before install, and while stopped
    assert today.down_minutes == 5  # 4 min + 25 s, the seconds rounded up, never hidden
    assert "98.77%" in _row_text(files, "voice")
    # brief: 25 s down of 100 s monitored.
    assert _comp(model, "brief").uptime_30 == 75.0
    assert "75.00%" in _row_text(files, "brief")


def test_a_short_outage_never_reads_100_percent(tmp_path: Path) -> None:
    model, files = _model(tmp_path)
    long = _comp(model, "long")
    # 30-day window: 15 Feb to now; monitored from 1 March 00:00 = 15 days 18 h = 1,360,800 s; down 2 s.
    assert long.uptime_30 is not None and abs(long.uptime_30 - 100 * (1_360_798 / 1_360_800)) < 1e-9
    day = next(d for d in long.days if d.day.day == 10 and d.day.month == 3)
    assert day.status is not None and day.status.is_outage and day.down_minutes == 1
    text = _row_text(files, "long")
    assert "100.00%" not in text and text.count("99.99%") == 2
    assert "99,99\u00a0%" in _row_text(files, "long", "fr/index.html")  # fr-CA: a no-break space before %


def test_a_component_never_probed_says_so(tmp_path: Path) -> None:
    model, files = _model(tmp_path)
    fresh = _comp(model, "fresh")
    assert not fresh.known and fresh.uptime_30 is None and fresh.uptime_90 is None
    text = _row_text(files, "fresh")
    assert "No data" in text and "Operational" not in text and "—" in text
    assert "Operational" in _row_text(files, "voice")
    assert "Aucune donnée" in _row_text(files, "fresh", "fr/index.html")


def test_time_before_the_first_record_is_no_data(tmp_path: Path) -> None:
    """The same outage recorded as before (no first status): the figure is over the outage alone, which is
    why the agent now records a first status; guarded here so the page never invents the missing time."""
    writer = HistoryWriter(tmp_path / "history.sqlite", clock=FakeClock(NOW))
    writer.on_transition(
        Transition("component", "voice", NOW - timedelta(minutes=5), "operational", "major_outage", "x", "voice")
    )
    writer.on_transition(
        Transition("component", "voice", NOW - timedelta(minutes=1), "major_outage", "operational", "x", "voice")
    )
    assert writer.flush_sync()
    site = site_config(tmp_path / "site", tmp_path / "incidents", time_zone="UTC")
    with HistoryReader(tmp_path / "history.sqlite") as reader:
        model = ModelBuilder(site, COMPONENTS, reader).build(NOW)
    assert _comp(model, "voice").uptime_30 == 20.0  # no data before the first record is neither up nor down


async def test_the_browser_shows_the_reference_figures(tmp_path: Path) -> None:
    """The same figures as a reader's Chromium builds the page, served gzipped by the built-in server."""
    from statuspage.output import AtomicSite
    from tests.statuspage.browser import dump_dom, screenshot, serve

    _, files = _model(tmp_path)
    AtomicSite(tmp_path / "site").write(files)
    async with serve(tmp_path / "site") as url:
        dom = {"index.html": (await dump_dom(tmp_path / "profile", url)).encode()}
        await screenshot(tmp_path / "profile", url, tmp_path / "uptime.png", 1280, 1600)
    assert "98.77%" in _row_text(dom, "voice") and "75.00%" in _row_text(dom, "brief")
    long = _row_text(dom, "long")
    assert "99.99%" in long and "100.00%" not in long
    fresh = _row_text(dom, "fresh")
    assert "No data" in fresh and "Operational" not in fresh
    assert (tmp_path / "uptime.png").stat().st_size > 10_000


def test_a_site_with_no_data_does_not_claim_all_operational(tmp_path: Path) -> None:
    site = site_config(tmp_path / "site", tmp_path / "incidents", time_zone="UTC")
    model = ModelBuilder(site, COMPONENTS, None).build(NOW)  # a fresh install: no history yet
    files = Renderer(site).files(model)
    for page, words in (
        ("index.html", "No current monitoring data"),
        ("fr/index.html", "Aucune donnée de surveillance récente"),
    ):
        banner = re.search(r'<h1 id="h-banner">(.*?)</h1>', files[page].decode())
        assert banner and banner.group(1) == words
    assert "All systems operational" not in files["index.html"].decode()
