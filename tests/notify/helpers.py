"""Shared pieces of the notification tests: config, a real webhook receiver, a notifier over a real page model."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.core.clock import Clock
from agent.maintenance.calendar import MaintenanceCalendar
from agent.notify.wiring import NotifyParts, build_notify
from agent.runtime.config import Config, load_config_text
from agent.runtime.targets import components_of
from statuspage.site import StatusSite
from tests.peers.base import LOOPBACK, free_port

SECRET = "s3cret-for-the-hmac-key"


def config(tmp: Path, smtp_port: int, webhook_port: int | None = None, **kw: str) -> Config:
    """An agent config with a page, two components and notify: (SMTP, subscriptions, maybe a webhook)."""
    return load_config_text(config_text(tmp, smtp_port, webhook_port, **kw))


def config_text(
    tmp: Path,
    smtp_port: int,
    webhook_port: int | None = None,
    *,
    extra: str = "",
    retry_min: str = "200ms",
    retry_max: str = "1s",
    top: str = "",
    site: str = "",
) -> str:
    """The YAML of `config()`."""
    hook = (
        f"  webhooks: [{{id: ops, url: 'http://{LOOPBACK}:{webhook_port}/hook', secret: {SECRET}}}]\n"
        if webhook_port
        else ""
    )
    text = f"""{top}
site: {{out: {tmp}/site, incidents: {tmp}/incidents, base_url: "https://status.example.com/"{site}}}
history: {{path: {tmp}/history.db}}
components:
  - {{id: core, name: Core call processing, tier: core}}
  - {{id: portal, name: Customer portal, tier: supporting}}
notify:
  outbox: {tmp}/notices.db
  sender: status@example.com
  retry_min: {retry_min}
  retry_max: {retry_max}
  smtp: {{host: {LOOPBACK}, port: {smtp_port}, security: none, timeout: 5s}}
  subscriptions: {{database: {tmp}/private/subscribers.db, public_url: "https://status.example.com/"}}
{hook}{extra}"""
    (tmp / "incidents").mkdir(exist_ok=True)
    return text


def notify_parts(cfg: Config, clock: Clock) -> tuple[NotifyParts, StatusSite]:
    """The notifier as the agent builds it, and the page whose model feeds it."""
    assert cfg.notify is not None and cfg.site is not None
    calendar = MaintenanceCalendar(cfg.maintenance)
    site = StatusSite(cfg.site, components_of(cfg), Path(cfg.history.path), calendar=calendar)
    parts = build_notify(cfg.notify, calendar, clock, components_of(cfg), cfg.site.branding.name)
    return parts, site


def subscribe(parts: NotifyParts, email: str, lang: str = "en", components: tuple[str, ...] = ()) -> None:
    """A confirmed subscriber, through the store's own double opt-in (request, then confirm the token)."""
    store = parts.notifier.subscribers
    assert store is not None
    now = parts.notifier.clock.now()
    token = store.request(email, lang, list(components), now, 3600)
    assert store.confirm(token, now) is not None


def verify_signature(secret: str, header: str, body: bytes, now: float) -> bool:
    """The receiver's check, written from the documented format (not agent.notify.webhook.verify)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - t) <= 300 and hmac.compare_digest(mac, parts["v1"])


@dataclass
class WebhookReceiver:
    """A real HTTP receiver on 127.0.0.1: keeps verified payloads, answers 401 to a bad signature."""

    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    fail_next: int = 0
    runner: web.AppRunner | None = None
    now: Callable[[], float] = time.time
    """The receiver's clock (a test on a fake clock passes the agent's, since signatures carry its time)."""

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(SECRET, request.headers.get("X-Dialtone-Signature", "t=0,v1=x"), body, self.now()):
            self.rejected += 1
            return web.Response(status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503)
        doc = json.loads(body)
        assert request.headers["X-Dialtone-Notice"] == doc["meta"]["notice_id"]
        self.received.append(doc)
        return web.Response(status=204)

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, LOOPBACK, self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def write_incident(folder: Path, name: str, start: datetime, steps: int = 3, postmortem: bool = True) -> None:
    """A human incident on `core`: investigating, identified, resolved (from `start`, 10 min apart)."""
    statuses = ["investigating", "identified", "resolved"][:steps]
    updates = "".join(
        f"  - at: {(start + timedelta(minutes=10 * k)).isoformat()}\n    status: {s}\n"
        f"    body: Step {k} of the {name} incident.\n"
        for k, s in enumerate(statuses)
    )
    body = "## Reason for outage\n\nA failed storage controller.\n" if postmortem else ""
    (folder / f"{name}.md").write_text(
        f"---\ntitle: Calls failing ({name})\ncomponents: [core]\nstatus: {statuses[-1]}\nimpact: critical\n"
        f"started_at: {start.isoformat()}\nupdates:\n{updates}---\n{body}",
        encoding="utf-8",
    )
