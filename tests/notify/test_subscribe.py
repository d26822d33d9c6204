"""Subscriptions through the real agent's page listener and a real SMTP server: double opt-in, one-click
unsubscribe (RFC 8058), rate limits, and hostile input."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.core.clock import SystemClock
from agent.notify.outbox import NoticeOutbox
from agent.runtime.app import Agent
from tests.notify.helpers import config, write_incident
from tests.peers.base import LOOPBACK, free_port
from tests.peers.smtp import SmtpServer

FORM = "application/x-www-form-urlencoded"


async def until(predicate: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


class Running:
    """The agent, its SMTP relay and an HTTP client on its page listener."""

    def __init__(self, agent: Agent, smtp: SmtpServer, base: str, session: aiohttp.ClientSession) -> None:
        self.agent, self.smtp, self.base, self.http = agent, smtp, base, session

    async def post(self, path: str, data: Any, **kw: Any) -> tuple[int, str]:
        async with self.http.post(self.base + path, data=data, **kw) as r:
            return r.status, await r.text()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as r:
            return r.status, await r.text()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    smtp = SmtpServer().start()
    site_port = free_port()
    cfg = config(
        tmp_path,
        smtp.port,
        top=f"listen: {LOOPBACK}:{free_port()}\n",
        site=f", listen: '{LOOPBACK}:{site_port}'",
    )
    agent = Agent(cfg)
    await agent.start()
    session = aiohttp.ClientSession()
    try:
        yield Running(agent, smtp, f"http://{LOOPBACK}:{site_port}", session)
    finally:
        await session.close()
        await agent.stop()
        smtp.stop()


def link_in(text: str, path: str) -> str:
    m = re.search(r"https://status\.example\.com(/notify/" + path + r"\?token=[\w%-]+)", text)
    assert m, text
    return m.group(1)


async def test_double_opt_in_then_one_click_unsubscribe(running: Running, tmp_path: Path) -> None:
    r = running
    status, page = await r.get("/notify/subscribe?lang=fr")
    assert status == 200 and "Adresse courriel" in page and 'value="core"' in page
    status, page = await r.post(
        "/notify/subscribe", {"email": "Ana@Customer.Example", "lang": "fr", "component": "core"}
    )
    assert status == 200 and "Ana@customer.example" in page
    await until(lambda: len(r.smtp.to("Ana@customer.example")) == 1)
    confirm = r.smtp.to("Ana@customer.example")[0]
    assert "Confirmez" in str(confirm["Subject"])
    link = link_in(confirm.get_content(), "confirm")
    for _ in range(2):  # opening the link (a person, or a mail scanner) only asks
        status, page = await r.get(link)
        assert status == 200 and "Envoyer les avis" in page and 'method="post"' in page
    status, page = await r.post(link, "", headers={"Content-Type": FORM})
    assert status == 200 and "Abonnement confirmé" in page
    status, _ = await r.post(link, "", headers={"Content-Type": FORM})  # single use
    assert status == 404
    status, _ = await r.get(link)
    assert status == 404
    # An incident on core is mailed to the confirmed subscriber, in French, with RFC 8058 headers.
    assert r.agent.notifier is not None
    write_incident(
        tmp_path / "incidents", "router", r.agent.clock.now() + timedelta(seconds=1), steps=1, postmortem=False
    )
    await asyncio.sleep(1.1)
    r.agent.notifier.observe(await asyncio.to_thread(_model, r.agent))
    await until(lambda: len(r.smtp.to("Ana@customer.example")) == 2)
    mail = r.smtp.to("Ana@customer.example")[1]
    assert "Nouvel incident" in str(mail["Subject"])
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    unsub = str(mail["List-Unsubscribe"]).strip("<>").removeprefix("https://status.example.com")
    # What a mail client does for one-click: POST List-Unsubscribe=One-Click to the URL.
    status, page = await r.post(unsub, "List-Unsubscribe=One-Click", headers={"Content-Type": FORM})
    assert status == 200 and "Vous êtes désabonné" in page
    db = sqlite3.connect(tmp_path / "private" / "subscribers.db")
    assert db.execute("SELECT count(*) FROM subscribers").fetchone()[0] == 0
    status, _ = await r.post(unsub, "List-Unsubscribe=One-Click", headers={"Content-Type": FORM})
    assert status == 404


def _model(agent: Agent) -> Any:
    from agent.runtime.targets import components_of
    from statuspage.site import StatusSite

    assert agent.config.site is not None
    site = StatusSite(
        agent.config.site, components_of(agent.config), Path(agent.config.history.path), calendar=agent.calendar
    )
    return site.model(agent.clock.now())


async def test_expired_token_is_refused(running: Running) -> None:
    r = running
    store = r.agent.notifier.subscribers
    token = store.request("late@x.example", "en", [], r.agent.clock.now() - timedelta(days=2), 86400)
    status, page = await r.get(f"/notify/confirm?token={token}")
    assert status == 404 and "not valid" in page
    status, page = await r.post(f"/notify/confirm?token={token}", "", headers={"Content-Type": FORM})
    assert status == 404 and "not valid" in page


@pytest.mark.parametrize(
    "email",
    [
        "victim@x.example\r\nBcc: everyone@x.example",
        "a@b",
        "no-at-sign.example",
        "a@-bad-.example",
        "<script>@x.example",
        "a" * 250 + "@x.example",
        "a@x.example,b@y.example",
        "a..b@x.example",
        "ünï@x.example",
        "a@x.example\x00",
        '"quoted"@x.example',
        "a@[127.0.0.1]",
    ],
)
async def test_hostile_addresses_are_refused_and_nothing_is_sent(running: Running, email: str) -> None:
    status, page = await running.post("/notify/subscribe", {"email": email, "lang": "en"})
    assert status == 400
    assert "<script>" not in page
    await asyncio.sleep(0.3)
    assert running.smtp.messages == []


async def test_hostile_requests(running: Running) -> None:
    r = running
    status, _ = await r.post(
        "/notify/subscribe", '{"email": "a@x.example"}', headers={"Content-Type": "application/json"}
    )
    assert status == 415
    status, _ = await r.post("/notify/subscribe", {"email": "a@x.example", "component": "../../etc"})
    assert status == 400
    status, _ = await r.post("/notify/subscribe", {"email": "a@x.example" + "x" * 20000})
    assert status == 413
    status, page = await r.get("/notify/confirm?token=%27%20OR%201%3D1--")
    assert status == 404
    status, page = await r.get("/notify/unsubscribe?token=<script>alert(1)</script>")
    assert status == 404 and "<script>" not in page
    status, _ = await r.post("/notify/unsubscribe", {"token": ""})
    assert status == 404
    assert r.smtp.messages == []


async def test_rate_limits_per_address_and_per_client(running: Running) -> None:
    r = running
    for _ in range(5):  # default: 3 confirmation mails per address per hour, same answer every time
        status, _ = await r.post("/notify/subscribe", {"email": "target@victim.example"})
        assert status == 200
    await asyncio.sleep(1.0)
    await until(lambda: len(r.smtp.to("target@victim.example")) == 3)
    await asyncio.sleep(0.5)
    assert len(r.smtp.to("target@victim.example")) == 3
    # Per client: 10 posts per hour from one address; 5 used above.
    codes = [(await r.post("/notify/subscribe", {"email": f"u{i}@x.example"}))[0] for i in range(7)]
    assert codes == [200] * 5 + [429] * 2


def test_outbox_since_is_kept_across_opens(tmp_path: Path) -> None:
    clock = SystemClock()
    first = NoticeOutbox(tmp_path / "o.db", clock.now() - timedelta(days=1))
    since = first.since
    first.close()
    assert NoticeOutbox(tmp_path / "o.db", clock.now()).since == since
