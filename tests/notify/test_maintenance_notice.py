"""The standard window's notice goes out exactly 7 days before the third Friday, across a DST change."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.notify.planner import maintenance_notices
from tests.fakeclock import FakeClock
from tests.notify.helpers import WebhookReceiver, config, notify_parts, subscribe
from tests.peers.smtp import SmtpServer

# Hand-computed: March 2027's third Friday is the 19th; the window opens 22:00 MDT (UTC-6) = 04:00Z on the
# 20th. US DST began Sunday March 14, so 7 x 24 h earlier is 2027-03-13T04:00Z = Friday 21:00 MST (UTC-7):
# an hour earlier on the wall clock than the window's 22:00, and exactly 168 h of notice.
WINDOW_START = datetime(2027, 3, 20, 4, 0, tzinfo=UTC)
NOTICE_AT = datetime(2027, 3, 13, 4, 0, tzinfo=UTC)
NOTICE_ID = "mnt-standard-20270320T0400Z-scheduled"


async def _until(predicate, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_standard_notice_exactly_seven_days_before_across_dst(tmp_path: Path) -> None:
    smtp = SmtpServer().start()
    clock = FakeClock(NOTICE_AT - timedelta(minutes=5))
    hook = await WebhookReceiver(now=lambda: clock.now().timestamp()).start()
    cfg = config(tmp_path, smtp.port, hook.port)
    parts, site = notify_parts(cfg, clock)
    n = parts.notifier
    subscribe(parts, "ops@customer.example", "fr")
    n.observe(site.model(clock.now()))
    await n.start()
    try:
        await asyncio.wait_for(n.idle.wait(), 15)
        await clock.advance(299)  # 04:00Z minus 1 s
        await asyncio.wait_for(n.idle.wait(), 15)
        assert NOTICE_ID not in {r.id for r in n.outbox.rows()}
        await clock.advance(1)  # 04:00:00Z: due now
        await _until(lambda: NOTICE_ID in {r.id for r in n.outbox.rows()})
        row = next(r for r in n.outbox.rows() if r.id == NOTICE_ID)
        assert row.due == NOTICE_AT and row.queued == NOTICE_AT
        await _until(lambda: len(smtp.to("ops@customer.example")) == 1 and len(hook.received) == 1)
        mail = smtp.to("ops@customer.example")[0]
        assert mail["X-Dialtone-Notice"] == NOTICE_ID
        plain = mail.get_body(("plain",))
        assert plain is not None, mail
        text = plain.get_content()
        assert "19\u00a0mars\u00a02027 22\u00a0h\u00a000 MDT" in text and "2027-03-20 04:00" in text  # zone, UTC
        assert "Quand\u00a0: " in text and " : " not in text  # fr-CA: a no-break space before a colon
        ics = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar")
        assert "DTSTART:20270320T040000Z" in ics.get_content()
        doc = hook.received[0]
        assert doc["meta"]["kind"] == "maintenance.scheduled"
        assert doc["scheduled_maintenance"]["scheduled_for"].startswith("2027-03-20T04:00:00")
        # Then the reminder (24 h before), the start and the end, each at its instant.
        for step, due in (
            ("reminder", WINDOW_START - timedelta(hours=24)),
            ("started", WINDOW_START),
            ("completed", WINDOW_START + timedelta(hours=6)),
        ):
            nid = f"mnt-standard-20270320T0400Z-{step}"
            await clock.advance((due - clock.now()).total_seconds() - 1)
            await asyncio.wait_for(n.idle.wait(), 15)
            assert nid not in {r.id for r in n.outbox.rows()}
            await clock.advance(1)
            await _until(lambda nid=nid: nid in {r.id for r in n.outbox.rows()})
            assert next(r for r in n.outbox.rows() if r.id == nid).queued == due
        await _until(lambda: len(hook.received) == 4 and len(smtp.to("ops@customer.example")) == 4)
        assert [d["scheduled_maintenance"]["status"] for d in hook.received] == [
            "scheduled",
            "scheduled",
            "in_progress",
            "completed",
        ]
        assert hook.rejected == 0 and len(set(smtp.ids())) == 4
    finally:
        await n.aclose()
        await hook.stop()
        smtp.stop()


def test_planned_and_emergency_notice_instants(tmp_path: Path) -> None:
    """Planned work: notice at publication (>= 24 h before); emergency work: at once, on publication."""
    extra_maint = """
maintenance:
  standard: false
  certificate_upload: false
  windows:
    - {id: db, title: Database upgrade, kind: planned, start: "2027-03-10T22:00:00", zone: America/Denver,
       duration: 2h, published: "2027-03-08T10:00:00Z"}
    - {id: fix, title: Router fix, kind: emergency, start: "2027-03-05T12:00:00", zone: America/Denver,
       duration: 1h, published: "2027-03-05T18:30:00Z", reason: failing line card}
"""
    from agent.maintenance.calendar import MaintenanceCalendar
    from agent.runtime.config import load_config_text

    cfg = load_config_text(extra_maint)
    cal = MaintenanceCalendar(cfg.maintenance)
    since = datetime(2027, 3, 1, tzinfo=UTC)

    def due_at(at: datetime) -> dict[str, datetime]:
        return {
            n.id: n.due
            for n in maintenance_notices(None, cal, at, since, reminder=timedelta(hours=24), horizon=timedelta(days=90))
        }

    got = due_at(datetime(2027, 3, 12, tzinfo=UTC))
    assert got["mnt-db-20270311T0500Z-scheduled"] == datetime(2027, 3, 8, 10, 0, tzinfo=UTC)
    assert got["mnt-db-20270311T0500Z-reminder"] == datetime(2027, 3, 10, 5, 0, tzinfo=UTC)
    assert "mnt-fix-20270305T1900Z-scheduled" not in due_at(datetime(2027, 3, 5, 18, 29, 59, tzinfo=UTC))
    got = due_at(datetime(2027, 3, 5, 18, 30, tzinfo=UTC))
    assert got["mnt-fix-20270305T1900Z-scheduled"] == datetime(2027, 3, 5, 18, 30, tzinfo=UTC)
    assert "mnt-fix-20270305T1900Z-reminder" not in got  # no reminder before emergency work
