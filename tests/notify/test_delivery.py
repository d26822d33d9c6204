"""Exactly once across outages: SMTP down then back, a webhook failing, and the notifier restarted between."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from agent.core.clock import SystemClock
from agent.notify.outbox import NoticeOutbox
from tests.notify.helpers import WebhookReceiver, config, notify_parts, subscribe, write_incident
from tests.peers.smtp import SmtpServer

CORE = ["a@one.example", "b@two.example", "c@three.example"]
PORTAL_ONLY = "p@portal.example"


async def until(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_smtp_down_then_back_and_a_restart_deliver_everything_once(tmp_path: Path) -> None:
    clock = SystemClock()
    smtp = SmtpServer()  # its port is reserved but nothing listens: the relay is down
    hook = await WebhookReceiver(fail_next=2).start()
    cfg = config(tmp_path, smtp.port, hook.port)
    assert cfg.notify is not None
    NoticeOutbox(cfg.notify.outbox, clock.now() - timedelta(hours=2)).close()  # in service for two hours
    write_incident(tmp_path / "incidents", "storage", clock.now() - timedelta(minutes=40))
    parts, site = notify_parts(cfg, clock)
    for address in CORE:
        subscribe(parts, address, components=("core",))
    subscribe(parts, "all@every.example")
    subscribe(parts, PORTAL_ONLY, components=("portal",))
    n = parts.notifier
    n.observe(site.model(clock.now()))
    await n.start()
    try:
        # Opened, updated, resolved and the postmortem: 4 notices, each to the webhook despite 2 failures.
        await until(lambda: len(hook.received) == 4)
        await until(lambda: n.deliverer.failures["email"] >= 3 * 16)  # three rounds of 16 refused connections
        assert smtp.messages == []
    finally:
        await n.aclose()  # the agent stops with everything still pending for the relay
        parts.closers[0]()
        parts.closers[1]()
    smtp.start()
    parts, site = notify_parts(cfg, clock)
    n = parts.notifier
    n.observe(site.model(clock.now()))
    await n.start()
    try:
        await until(lambda: n.outbox.counts().get("pending", 0) == 0)
        await asyncio.sleep(0.5)
    finally:
        await n.aclose()
        await hook.stop()
        smtp.stop()
    ids = smtp.ids()
    assert len(ids) == 16 and len(set(ids)) == 16, Counter(ids).most_common(3)
    assert smtp.to(PORTAL_ONLY) == []
    kinds = Counter(str(m["X-Dialtone-Notice"]).split("-")[0] for m in smtp.messages)
    assert kinds == {"inc": 12, "pm": 4}
    assert len(hook.received) == 4 and {d["meta"]["kind"] for d in hook.received} == {
        "incident.opened",
        "incident.updated",
        "incident.resolved",
        "incident.postmortem",
    }
    for m in smtp.messages:
        assert re.fullmatch(r"<(inc|pm)-[0-9a-f]{20}\.[0-9a-f]{16}@example\.com>", str(m["Message-ID"]))
        assert str(m["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            r"<https://status\.example\.com/notify/unsubscribe\?token=[\w-]+>", str(m["List-Unsubscribe"])
        )
        assert m.get_body(("plain",)) is not None and m.get_body(("html",)) is not None
