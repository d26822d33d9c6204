"""Notify's secrets (SMTP password, webhook HMAC key, Apprise URL token) never appear in logs, /metrics, the
public site, the outbox or `dialtone notices list`, while every delivery fails and is retried."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from agent.notify.outbox import NoticeOutbox
from agent.runtime.app import Agent
from agent.runtime.config import iter_secrets, load_config_text
from tests.notify.helpers import config_text, write_incident
from tests.peers.base import LOOPBACK, free_port
from tests.peers.smtp import SmtpServer

SMTP_PASSWORD = "Zq7-notify-smtp-pass-1188"
HOOK_SECRET = "Zq7-notify-hmac-key-2299"
APPRISE_TOKEN = "Zq7-notify-apprise-3300"


async def test_no_notify_secret_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = SmtpServer(auth=("status", "another-password")).start()  # refuses our login: retried, logged
    closed, metrics = free_port(), free_port()
    (tmp_path / "smtp-pw").write_text(SMTP_PASSWORD)
    text = config_text(
        tmp_path,
        smtp.port,
        top=f"listen: {LOOPBACK}:{metrics}\n",
        site=f", listen: '{LOOPBACK}:{free_port()}'",
        extra=(
            f"  webhooks: [{{id: noc, url: 'http://{LOOPBACK}:{closed}/h', secret: {HOOK_SECRET}}}]\n"
            f"  apprise: [{{id: chat, url: 'json://u:{APPRISE_TOKEN}@{LOOPBACK}:{closed}/'}}]\n"
        ),
    )
    text = text.replace("security: none,", f"security: none, username: status, password_file: {tmp_path}/smtp-pw,")
    (tmp_path / "dialtone.yaml").write_text(text)
    cfg = load_config_text(text)
    assert {SMTP_PASSWORD, HOOK_SECRET} <= set(iter_secrets(cfg))
    assert any(APPRISE_TOKEN in s for s in iter_secrets(cfg))
    assert cfg.notify is not None
    NoticeOutbox(cfg.notify.outbox, datetime.now(UTC) - timedelta(hours=1)).close()
    write_incident(tmp_path / "incidents", "leak", datetime.now(UTC) - timedelta(minutes=20), steps=1, postmortem=False)
    agent = Agent(cfg)
    await agent.start()
    try:
        assert agent.notifier is not None
        store = agent.notifier.subscribers
        now = agent.clock.now()
        assert store.confirm(store.request("a@x.example", "en", [], now, 60), now)
        agent.notifier.observe(await asyncio.to_thread(agent_model, agent))
        d = agent.notifier.deliverer
        for _ in range(300):
            if d.failures["email"] and d.failures["webhook"] and d.failures["apprise"]:
                break
            await asyncio.sleep(0.05)
        assert d.failures["email"] and d.failures["webhook"] and d.failures["apprise"], dict(d.failures)
        async with aiohttp.ClientSession() as http, http.get(f"http://{LOOPBACK}:{metrics}/metrics") as r:
            exposition = await r.text()
    finally:
        await agent.stop()
        smtp.stop()
    listed = subprocess.run(
        [sys.executable, "-m", "agent", "notices", "list", "-c", str(tmp_path / "dialtone.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    places = {
        "logs": caplog.text,
        "metrics": exposition,
        "notices list": listed.stdout + listed.stderr,
        "outbox": (tmp_path / "notices.db").read_bytes().decode(errors="replace"),
    }
    for f in (tmp_path / "site").rglob("*"):
        if f.is_file():
            places[str(f)] = f.read_bytes().decode(errors="replace")
    for where, content in places.items():
        for secret in (SMTP_PASSWORD, HOOK_SECRET, APPRISE_TOKEN):
            assert secret not in content, f"{where} leaks {secret}"


def agent_model(agent: Agent) -> object:
    from agent.runtime.targets import components_of
    from statuspage.site import StatusSite

    assert agent.config.site is not None
    return StatusSite(
        agent.config.site, components_of(agent.config), Path(agent.config.history.path), calendar=agent.calendar
    ).model(agent.clock.now())
