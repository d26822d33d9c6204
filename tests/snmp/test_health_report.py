"""`dialtone health-report` over a real SQLite history written by HistoryWriter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli.entry import main
from agent.core.model import ProbeResult, Transition
from agent.history.writer import HistoryWriter
from agent.snmp import events as ev
from tests.sinks.history_helpers import FakeClock

# March 2026 in America/Denver (the default SLA zone): DST starts on the 8th, so 743 hours.
START, END = datetime(2026, 3, 1, 7, tzinfo=UTC), datetime(2026, 4, 1, 6, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def up_down(target: str, when: datetime, old: str, new: str) -> Transition:
    return Transition("target", target, when, old, new, "test", "voice")


CONFIG = """
components: [{{id: voice, name: Voice Core, tier: core}}]
history: {{path: {db}}}
targets:
  - {{id: sbc1, component: voice, kind: snmp, snmp: {{address: 127.0.0.1, community: c}}}}
  - {{id: ups1, component: voice, kind: snmp, snmp: {{address: 127.0.0.1, community: c, ups: true}}}}
"""


@pytest.fixture
async def config(tmp_path: Path) -> Path:
    db = tmp_path / "history.sqlite"
    writer = HistoryWriter(db, clock=FakeClock(datetime(2026, 4, 2, tzinfo=UTC)))
    await writer.start()
    for t in (
        up_down("sbc1", datetime(2026, 2, 20, tzinfo=UTC), "unknown", "up"),
        up_down("sbc1", at(10, 2), "up", "down"),
        up_down("sbc1", at(10, 2, 30), "down", "up"),
    ):
        writer.on_transition(t)
    for kind, when, data in (
        (ev.TRAP, at(10, 2, 29), {"trap": "cold_start", "state": "up"}),
        (ev.REBOOT, at(10, 2, 31), {"uptime_seconds": 12.0}),  # same incident as the trap
        (ev.REBOOT, at(20, 4), {"uptime_seconds": 3.0}),
        (ev.LINK_DOWN, at(5, 10), {"interface": "eth1"}),
        (ev.TRAP, at(5, 10, 1), {"trap": "link_down", "interface": "eth1"}),  # the same flap, seen twice
        (ev.LINK_DOWN, at(6, 9), {"interface": "eth1"}),
        (ev.THRESHOLD, at(12, 14), {"check": "active_calls", "level": "warn", "value": 410}),
        (ev.THRESHOLD, at(12, 14, 20), {"check": "active_calls", "level": "crit", "value": 500}),
        (ev.THRESHOLD, at(12, 15), {"check": "active_calls", "level": "ok", "value": 90}),
        (ev.THRESHOLD, at(31, 23), {"check": "cpu", "level": "warn", "value": 0.91}),
    ):
        writer.record_event(kind, "sbc1", when, data)
    for i in range(10):
        writer.on_result(ProbeResult("sbc1", "snmp", at(15, 1, i), 0.01, ok=i != 0))
    await writer.aclose()
    path = tmp_path / "dialtone.yaml"
    path.write_text(CONFIG.format(db=db))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["health-report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def test_json_report_per_device(config: Path, capsys) -> None:
    code, out, err = run(capsys, "--month", "2026-03", "-c", str(config), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["start"] == START.isoformat() and report["end"] == END.isoformat()
    sbc, ups = report["devices"]
    assert sbc["target"] == "sbc1" and sbc["name"] == "Voice Core: sbc1"
    month = (END - START).total_seconds()
    assert sbc["down_seconds"] == 1800 and sbc["observed_seconds"] == month
    assert sbc["availability_percent"] == pytest.approx(100 * (1 - 1800 / month))
    assert sbc["poll_success_percent"] == pytest.approx(90.0) and sbc["polls"] == 10
    assert sbc["reboots"] == [at(10, 2, 29).isoformat(), at(20, 4).isoformat()]
    assert sbc["interface_flaps"] == {"eth1": 2}
    longest, calls = sbc["threshold_breaches"]
    assert (longest["check"], longest["end"]) == ("cpu", END.isoformat())
    assert calls == {
        "check": "active_calls",
        "level": "crit",
        "start": at(12, 14).isoformat(),
        "end": at(12, 15).isoformat(),
        "seconds": 3600.0,
        "peak": 500.0,
    }
    assert sbc["worst_hours"][0] == {
        "start": at(10, 2).isoformat(),
        "down_seconds": 1800.0,
        "breach_seconds": 0.0,
        "events": 2,
    }
    assert ups["availability_percent"] is None and ups["reboots"] == [] and ups["polls"] == 0


async def test_markdown_and_html_are_customer_readable(config: Path, capsys) -> None:
    code, md, _ = run(capsys, "--month", "2026-03", "-c", str(config), "--target", "sbc1")
    assert code == 0
    assert md.startswith("# System health check — 2026-03")
    assert "| Voice Core: sbc1 | 99.933 % | 2 | 2 | 2 |" in md
    assert "Reboots: 2 (2026-03-09 20:29 MDT, 2026-03-19 22:00 MDT)" in md  # local SLA zone, DST started
    assert "1. 2026-03-09 20:00 MDT: down 30 min, 2 events" in md
    assert "| active\\_calls | crit | 2026-03-12 08:00 MDT | 1 h 0 min | 500 |" in md
    assert "ups1" not in md
    code, page, _ = run(capsys, "--month", "2026-03", "-c", str(config), "--format", "html")
    assert code == 0 and page.startswith("<!doctype html>")
    assert "<table>" in page and "<h2>Voice Core: sbc1</h2>" in page


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--month", "2026-13"], "month must be 01 to 12"),
        (["--month", "2031-01"], "has not started yet"),
        (["--month", "2026-03", "--target", "nope"], "'nope' is not an snmp target"),
        (["--month", "2026-03", "--history", "/nonexistent/h.sqlite"], "no such file"),
    ],
)
async def test_bad_input_is_refused_clearly(config: Path, capsys, argv: list[str], why: str) -> None:
    code, out, err = run(capsys, *argv, "-c", str(config))
    assert code == 2 and out == ""
    assert why in err
