"""The notice outbox on a real SQLite file: dedup by notice id across reopenings, pruning keeps the dedup,
an unsubscribed address's pending deliveries are cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.notify.notice import Notice, Recipient
from agent.notify.outbox import NoticeOutbox

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def notice(i: int) -> Notice:
    return Notice(f"inc-{i}", "incident.opened", f"auto-{i}", T0, ("core",), {"title": "x"})


def test_dedup_survives_reopening_and_pruning(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = NoticeOutbox(path, T0)
    people = [Recipient("email", "a@x.example", "en", "t1"), Recipient("webhook", "noc")]
    assert box.add(notice(1), people, T0)
    assert not box.add(notice(1), people, T0)  # same id: nothing written
    for d in box.due(T0, 10):
        box.sent(d.id, T0)
    box.close()
    box = NoticeOutbox(path, T0 + timedelta(days=40))
    assert box.since == T0
    assert not box.add(notice(1), people, T0 + timedelta(days=40))
    assert box.prune(T0 + timedelta(days=31)) == 2
    assert box.counts() == {}
    assert not box.add(notice(1), people, T0 + timedelta(days=41))  # the notice id outlives its deliveries
    assert box.known(["inc-1", "inc-2"]) == {"inc-1"}
    box.close()


def test_unsubscribed_address_is_not_mailed(tmp_path: Path) -> None:
    box = NoticeOutbox(tmp_path / "o.db", T0)
    box.add(notice(2), [Recipient("email", "gone@x.example", "en", "t"), Recipient("email", "b@x.example")], T0)
    assert box.drop_target("email", "gone@x.example") == 1
    assert [d.recipient.target for d in box.due(T0, 10)] == ["b@x.example"]
    assert box.counts() == {"pending": 1, "cancelled": 1}
    box.close()


def test_failed_attempt_waits_for_its_backoff(tmp_path: Path) -> None:
    box = NoticeOutbox(tmp_path / "o.db", T0)
    box.add(notice(3), [Recipient("webhook", "noc")], T0)
    (d,) = box.due(T0, 10)
    box.retry(d.id, "HTTP 503", T0 + timedelta(seconds=30), give_up=False)
    assert box.due(T0 + timedelta(seconds=29), 10) == []
    (again,) = box.due(T0 + timedelta(seconds=30), 10)
    assert again.attempts == 1
    box.retry(d.id, "HTTP 410", T0, give_up=True)
    assert box.due(T0 + timedelta(days=1), 10) == [] and box.counts() == {"failed": 1}
    box.close()
