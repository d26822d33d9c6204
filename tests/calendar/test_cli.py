"""The maintenance, sla and deadlines subcommands through agent.cli.entry, including bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest

from agent.cli.entry import main
from agent.history.schema import open_history
from agent.history.writer import HistoryWriter
from tests.calendar.helpers import denver
from tests.sinks.history_helpers import FakeClock, comp

CONFIG = """
components:
  - {{id: voice, name: Voice, tier: voice_messaging}}
  - {{id: portal, name: Portal, tier: supporting}}
history:
  path: {history}
sla:
  exclusions_file: exclusions.yaml
maintenance:
  windows:
    - id: sbc-upgrade
      title: SBC upgrade
      start: "2026-04-08T23:00"
      duration: 2h
      components: [voice]
      published: "2026-04-01T09:00:00-06:00"
"""

EXCLUSIONS = """
exclusions:
  - {cause: carrier, start: "2026-04-02T10:00:00Z", end: "2026-04-02T10:30:00Z", components: [voice], note: x}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dialtone.yaml"
    path.write_text(CONFIG.format(history=tmp_path / "history.sqlite"))
    (tmp_path / "exclusions.yaml").write_text(EXCLUSIONS)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_maintenance_list_json_shows_utc_local_scope_and_notice(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, _ = run(
        capsys, "maintenance", "list", "--from", "2026-04-01", "--to", "2026-04-30", "--json", "-c", str(config)
    )
    assert code == 0
    found = json.loads(out)
    counted = [o for o in found if o["kind"] != "informational"]
    assert [(o["window"], o["start"], o["local_start"]) for o in counted] == [
        ("sbc-upgrade", "2026-04-09T05:00:00+00:00", "2026-04-08T23:00:00-06:00"),
        ("standard", "2026-04-18T04:00:00+00:00", "2026-04-17T22:00:00-06:00"),
    ]
    assert counted[0]["components"] == ["voice"] and counted[0]["notice_at"] == "2026-04-01T15:00:00+00:00"
    assert counted[1]["notice_at"] == "2026-04-11T04:00:00+00:00" and not counted[1]["emergency"]
    assert sum(o["kind"] == "informational" for o in found) == 4  # Fridays 3, 10, 17 and 24 April


def test_maintenance_list_table_and_bad_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "maintenance", "list", "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 0 and "2026-11-21 05:00Z (Fri 2026-11-20 22:00 MST)" in out
    code, _, err = run(capsys, "maintenance", "list", "--from", "2026-02-30")
    assert code == 2 and "--from '2026-02-30': use YYYY-MM-DD" in err
    code, _, err = run(capsys, "maintenance", "list", "--from", "2026-05-01", "--to", "2026-04-01")
    assert code == 2 and "--to must be after --from" in err


def test_maintenance_ics_to_a_file(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "maintenance.ics"
    code, _, _ = run(capsys, "maintenance", "ics", "-c", str(config), "-o", str(out_file))
    assert code == 0
    cal = icalendar.Calendar.from_ical(out_file.read_bytes())
    assert sorted(str(e["UID"]) for e in cal.walk("VEVENT")) == [
        "certificate-upload@dialtone",
        "sbc-upgrade@dialtone",
        "standard@dialtone",
    ]


def test_invalid_config_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("maintenance:\n  short_notice: maybe\n")
    code, _, err = run(capsys, "maintenance", "list", "-c", str(bad))
    assert code == 2 and "maintenance.short_notice" in err


async def test_sla_report_reads_history(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    store = open_history(tmp_path / "history.sqlite")
    writer = HistoryWriter(store, clock=FakeClock())
    for t in (
        comp("voice", denver(2026, 3, 31, 23), "operational", "major_outage"),  # spans into April
        comp("voice", denver(2026, 4, 1, 1), "major_outage", "operational"),
        comp("voice", denver(2026, 4, 2, 4), "operational", "partial_outage"),  # 10:00Z, carrier for 30 min
        comp("voice", denver(2026, 4, 2, 5), "partial_outage", "operational"),
    ):
        writer.on_transition(t)
    assert await writer.flush()
    await writer.aclose()
    code, out, err = run(capsys, "sla", "report", "--month", "2026-04", "--format", "json", "-c", str(config))
    assert code == 0, err
    voice, portal = json.loads(out)["reports"]
    assert voice["component"] == "voice" and voice["down_minutes"] == 120
    assert voice["excluded_minutes"] == {"carrier": 30} and voice["unavailable_minutes"] == 90
    assert voice["credit_days"] == 1 and voice["met"] is False  # 90 - 21.6 = 68.4 min beyond
    assert portal["unavailable_minutes"] == 0 and portal["target"] == 0.98
    code, out, _ = run(capsys, "sla", "report", "--month", "2026-04", "--component", "voice", "-c", str(config))
    assert code == 0 and "| voice | 43200 | carrier 30.0 | 90.00 |" in out


def test_sla_report_errors(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, _, err = run(capsys, "sla", "report", "--month", "2026-04", "-c", str(config))
    assert code == 2 and "no such file" in err  # no history yet
    code, _, err = run(capsys, "sla", "report", "--month", "2026-4x", "-c", str(config))
    assert code == 2 and "use YYYY-MM" in err
    code, _, err = run(capsys, "sla", "report", "--month", "2999-01", "-c", str(config))
    assert code == 2 and "has not started" in err
    code, _, err = run(capsys, "sla", "report", "--month", "2026-04", "--component", "fax", "-c", str(config))
    assert code == 2 and "unknown component 'fax'" in err


def test_sla_compute_from_csv_in_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = tmp_path / "tickets.csv"
    events.write_text(
        "start,end,component,cause\n"
        "2026-04-02T10:00:00Z,2026-04-02T12:00:00Z,voice,\n"
        "2026-04-03T10:00:00Z,2026-04-03T11:00:00Z,voice,dns\n"
    )
    code, out, _ = run(
        capsys, "sla", "compute", "--events", str(events), "--month", "2026-04", "--target", "99.95", "--format", "json"
    )
    (r,) = json.loads(out)["reports"]
    assert code == 0 and r["unavailable_minutes"] == 120 and r["excluded_minutes"] == {"dns": 60}
    assert r["credit_days"] == 1 and r["hours_beyond"] == pytest.approx(1.64)
    code, out, _ = run(
        capsys, "sla", "compute", "--events", str(events), "--month", "2026-04", "--target", "99.95", "--format", "html"
    )
    assert code == 0 and out.startswith("<!doctype html>") and "<td>dns 60.0</td>" in out


def test_sla_compute_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path) -> None:
    events = tmp_path / "e.json"
    events.write_text('[{"start": "2026-04-02T10:00:00Z", "end": "2026-04-02T09:00:00Z", "component": "voice"}]')
    code, _, err = run(capsys, "sla", "compute", "--events", str(events), "--month", "2026-04", "--target", "99.9")
    assert code == 2 and "event 1: end must be after start" in err
    events.write_text('[{"start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "component": "fax"}]')
    code, _, err = run(capsys, "sla", "compute", "--events", str(events), "--month", "2026-04")
    assert code == 2 and "give --target PERCENT or -c CONFIG" in err
    code, _, err = run(capsys, "sla", "compute", "--events", str(events), "--month", "2026-04", "-c", str(config))
    assert code == 2 and "component 'fax' is not in the config" in err
    code, _, err = run(capsys, "sla", "compute", "--events", str(tmp_path / "none.csv"), "--month", "2026-04")
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "sla", "compute", "--events", str(events), "--month", "2026-04", "--target", "0")
    assert code == 2 and "--target 0" in err


def test_deadlines_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "deadlines", "--priority", "P2", "--opened", "2026-11-20T17:30-08:00", "--json")
    d = json.loads(out)
    assert code == 0 and d["response"]["due"] == "2026-11-23T23:30:00+00:00"
    assert d["resolution"] == {"due": "2026-12-02T01:30:00+00:00", "term": "5 support days"}
    code, out, _ = run(capsys, "deadlines", "--priority", "P1", "--opened", "2026-11-20T17:30-08:00")
    assert code == 0 and "response    2026-11-21 05:30Z" in out
    code, _, err = run(capsys, "deadlines", "--priority", "P9", "--opened", "2026-11-20T17:30-08:00")
    assert code == 2 and "unknown priority 'P9'" in err
    code, _, err = run(capsys, "deadlines", "--priority", "P2", "--opened", "2026-11-20 17:30")
    assert code == 2 and "give a UTC offset" in err
