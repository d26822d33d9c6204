"""An automatic incident: the real agent probes a real TCP listener that goes away and comes back; each
subscriber and the webhook hear of the outage opening and resolving, once each."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from agent.runtime.app import Agent
from tests.notify.helpers import WebhookReceiver, config
from tests.peers.base import LOOPBACK, free_port
from tests.peers.smtp import SmtpServer


async def until(predicate: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def listener(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LOOPBACK, port))
    s.listen(64)
    return s


async def test_automatic_outage_opened_and_resolved_reach_subscribers_once(tmp_path: Path) -> None:
    smtp = SmtpServer().start()
    hook = await WebhookReceiver().start()
    port = free_port()
    server = listener(port)
    target = (
        f"targets: [{{id: core-tcp, component: core, kind: tcp, interval: 200ms, timeout: 150ms,"
        f" tcp: {{address: '{LOOPBACK}:{port}'}}}}]\n"
    )
    metrics_port = free_port()
    cfg = config(
        tmp_path,
        smtp.port,
        hook.port,
        top=f"listen: {LOOPBACK}:{metrics_port}\n{target}",
        site=f", listen: '{LOOPBACK}:{free_port()}', render_interval: 1h",
    )
    assert cfg.notify is not None
    agent = Agent(cfg)
    await agent.start()
    try:
        assert agent.notifier is not None
        subscribe_store(agent, "noc@customer.example")
        await asyncio.sleep(1.0)  # operational
        server.close()  # the service goes away: connections refused
        await until(lambda: len(smtp.to("noc@customer.example")) >= 1)
        server = listener(port)
        await until(lambda: len(smtp.to("noc@customer.example")) >= 2)
        await asyncio.sleep(1.0)
        async with aiohttp.ClientSession() as http, http.get(f"http://{LOOPBACK}:{metrics_port}/metrics") as r:
            exposition = await r.text()
    finally:
        await agent.stop()
        await hook.stop()
        smtp.stop()
        server.close()
    mails = smtp.to("noc@customer.example")
    assert len(mails) == 2 and len(set(smtp.ids())) == 2
    assert "New incident" in str(mails[0]["Subject"]) and "Core call processing" in str(mails[0]["Subject"])
    assert "Resolved" in str(mails[1]["Subject"])
    assert [d["meta"]["kind"] for d in hook.received] == ["incident.opened", "incident.resolved"]
    assert hook.received[0]["incident"]["components"][0]["id"] == "core"
    # The agent's own /metrics, parsed by prometheus_client's parser.
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(exposition)
        for s in fam.samples
    }
    assert samples[("dialtone_notify_sent_total", (("channel", "email"),))] == 2
    assert samples[("dialtone_notify_sent_total", (("channel", "webhook"),))] == 2
    assert samples[("dialtone_notify_deliveries", (("state", "sent"),))] == 4
    assert samples[("dialtone_notify_subscribers", (("state", "confirmed"),))] == 1


def subscribe_store(agent: Agent, email: str) -> None:
    store = agent.notifier.subscribers
    now = agent.clock.now()
    assert store.confirm(store.request(email, "en", ["core"], now, 3600), now) is not None
