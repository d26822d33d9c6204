"""Issue 17 feeds: Atom rel=self; an ICS customers can keep (provider-unique UIDs, a URL, services by name);
maintenance updates filled in; informational windows with impact `none`; `postmortem` as such; gzip and
revalidation from the built-in server."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import icalendar

from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig
from statuspage import feeds
from statuspage.build import occurrence_view
from statuspage.render import Renderer
from tests.statuspage.browser import serve
from tests.statuspage.conftest import Rendered
from tests.statuspage.fixture import build_model


def _api(rendered: Rendered, name: str) -> Any:
    return json.loads(rendered.files[f"api/v2/{name}"])


def test_atom_links_to_itself(rendered: Rendered) -> None:
    for path in ("history.atom", "fr/history.atom"):
        feed = feedparser.parse(rendered.files[path])
        selfs = [link.href for link in feed.feed.links if link.rel == "self"]
        assert selfs == [f"https://status.example.com/{path}"]


def test_informational_window_has_no_impact_and_maintenance_has_updates(rendered: Rendered) -> None:
    windows = _api(rendered, "scheduled-maintenances.json")["scheduled_maintenances"]
    cert = next(w for w in windows if w["id"].startswith("certificate-upload"))
    assert cert["impact"] == "none" and cert["components"] == []
    standard = next(w for w in windows if w["id"].startswith("standard-"))
    assert standard["impact"] == "maintenance" and len(standard["components"]) == len(rendered.model.components)
    # The standard window's notice (one week ahead) is out: its timeline says so.
    assert [u["status"] for u in standard["incident_updates"]] == ["scheduled"]
    assert "is scheduled from 2026-03-21 04:00 to 2026-03-21 10:00 UTC" in standard["incident_updates"][0]["body"]
    noticed = {m.id for m in rendered.model.maintenances if m.notice_at <= rendered.model.generated_at}
    assert noticed
    for w in windows:
        assert bool(w["incident_updates"]) == (w["id"] in noticed), w["id"]  # never an announcement dated ahead


def test_a_window_timeline_follows_time() -> None:
    calendar = MaintenanceCalendar(
        MaintenanceConfig.model_validate(
            {
                "windows": [
                    {
                        "id": "move",
                        "start": "2026-06-01T21:00",
                        "zone": "UTC",
                        "duration": "3h",
                        "published": "2026-05-01T00:00:00Z",
                        "title": "Data centre move",
                    }
                ]
            }
        )
    )
    (o,) = [
        x
        for x in calendar.occurrences(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
        if x.window == "move"
    ]  # the default standard and weekly windows are there too

    def timeline(now: datetime) -> list[tuple[str, datetime]]:
        return [(u.status, u.at) for u in occurrence_view(o, now).updates]

    assert timeline(datetime(2026, 4, 30, tzinfo=UTC)) == []  # not announced yet: nothing to say
    announced = ("scheduled", datetime(2026, 5, 1, tzinfo=UTC))
    assert timeline(datetime(2026, 5, 2, tzinfo=UTC)) == [announced]
    started = ("in_progress", datetime(2026, 6, 1, 21, tzinfo=UTC))
    assert timeline(datetime(2026, 6, 1, 22, tzinfo=UTC)) == [started, announced]
    done = ("completed", datetime(2026, 6, 2, 0, tzinfo=UTC))
    assert timeline(datetime(2026, 6, 3, tzinfo=UTC)) == [done, started, announced]


def test_postmortem_is_reported_as_such(rendered: Rendered) -> None:
    inc = replace(rendered.model.incidents[0], status="postmortem")
    assert feeds.incident(rendered.model, inc)["status"] == "postmortem"


def test_ics_uids_are_the_providers_and_descriptions_are_for_customers(tmp_path: Path) -> None:
    site, model, _ = build_model(tmp_path)
    calendar = MaintenanceCalendar(
        MaintenanceConfig.model_validate(
            {
                "windows": [
                    {
                        "id": "sbc-upgrade",
                        "start": "2026-03-19T21:00",
                        "duration": "2h",
                        "components": ["voice", "portal"],
                        "published": "2026-03-10T00:00:00Z",
                        "title": "SBC upgrade",
                        "reason": "New SBC software.",
                    }
                ]
            }
        )
    )
    cal = icalendar.Calendar.from_ical(Renderer(site, calendar=calendar).files(model)["maintenance.ics"])
    events = list(cal.walk("VEVENT"))
    assert len(events) >= 3
    for e in events:
        assert str(e["UID"]).endswith("@status.example.com")
        assert str(e["URL"]) == "https://status.example.com/maintenance.html"
    sbc = next(e for e in events if str(e["UID"]).startswith("sbc-upgrade@"))
    text = str(sbc["DESCRIPTION"])
    assert "Voice & messaging, Customer portal" in text and "New SBC software." in text
    assert "voice," not in text and "Kind:" not in text and "Scope:" not in text
    cert = next(e for e in events if str(e["UID"]).startswith("certificate-upload@"))
    assert "no customer impact" in str(cert["DESCRIPTION"])


async def test_the_server_gzips_and_always_revalidates(rendered: Rendered) -> None:
    async with serve(rendered.out) as url, aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
            raw = await r.read()
            assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
            assert r.headers["Cache-Control"] == "public, no-cache"
            page = gzip.decompress(raw)
            assert page == rendered.files["index.html"] and len(raw) < len(page) / 3
            zipped_tag = r.headers["ETag"]
        async with http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped_tag}) as r:
            assert r.status == 304
        async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
            assert "Content-Encoding" not in r.headers and await r.read() == rendered.files["index.html"]
            assert r.headers["ETag"] != zipped_tag
        async with http.get(url + "api/v2/summary.json", headers={"Accept-Encoding": "gzip, br"}) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            assert json.loads(gzip.decompress(await r.read()))["page"]["id"]


def test_no_internal_id_in_the_fallback_ics(rendered: Rendered) -> None:
    text = feeds.ics(rendered.model)
    assert "@status.example.com" in text and "URL:https://status.example.com/maintenance.html#" in text
    assert datetime.now(UTC)
