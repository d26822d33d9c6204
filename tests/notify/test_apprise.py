"""Apprise targets: a real HTTP receiver behind Apprise's json:// plugin gets each notice once, after retries."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.core.clock import SystemClock
from agent.notify.outbox import NoticeOutbox
from tests.notify.helpers import config, notify_parts, write_incident
from tests.peers.base import LOOPBACK, free_port
from tests.peers.smtp import SmtpServer


async def test_apprise_json_target_gets_each_notice_once_after_an_outage(tmp_path: Path) -> None:
    got: list[dict[str, Any]] = []
    failures = {"left": 1}

    async def chat(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=502)
        got.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/chat", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    smtp = SmtpServer().start()
    clock = SystemClock()
    cfg = config(
        tmp_path,
        smtp.port,
        extra=f"  apprise: [{{id: chat, url: 'json://{LOOPBACK}:{port}/chat', components: [core]}}]\n",
    )
    assert cfg.notify is not None
    NoticeOutbox(cfg.notify.outbox, clock.now() - timedelta(hours=1)).close()
    write_incident(tmp_path / "incidents", "chat", clock.now() - timedelta(minutes=30), postmortem=False)
    parts, site = notify_parts(cfg, clock)
    n = parts.notifier
    n.observe(site.model(clock.now()))
    await n.start()
    try:
        deadline = time.monotonic() + 30
        while len(got) < 3:
            assert time.monotonic() < deadline, got
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
    finally:
        await n.aclose()
        await runner.cleanup()
        smtp.stop()
    assert len(got) == 3 and n.deliverer.failures["apprise"] == 1
    assert all("Calls failing (chat)" in g["title"] for g in got)
    assert "https://status.example.com/incidents/" in got[0]["message"]
