"""Delivering due outbox rows over their channel, with exponential backoff between failed attempts.

E-mail goes in batches over one SMTP connection in a child process (agent.notify.mailproc); each accepted
message is committed at once (the at-least-once window is one message). Webhooks are POSTed from the event
loop with aiohttp (bounded concurrency); Apprise's blocking clients run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime

import aiohttp

from agent.core.clock import Clock
from agent.notify import webhook
from agent.notify.config import NotifyConfig
from agent.notify.mailproc import MailProcess, retry_at
from agent.notify.outbox import Delivery, NoticeOutbox

log = logging.getLogger("dialtone.notify")

WEBHOOK_CONCURRENCY = 8


class Deliverer:
    """Sends what the outbox says is due and records each outcome."""

    def __init__(self, config: NotifyConfig, outbox: NoticeOutbox, clock: Clock) -> None:
        self.config = config
        self.outbox = outbox
        self.clock = clock
        self.session: aiohttp.ClientSession | None = None
        self.mail = MailProcess(config)
        self.sent: Counter[str] = Counter()
        """Deliveries accepted, by channel."""
        self.failures: Counter[str] = Counter()
        """Failed attempts (each retried until give_up_after), by channel."""

    async def deliver_due(self, now: datetime) -> None:
        """One pass over every channel; the channels run side by side so one outage delays no other."""
        await asyncio.gather(self._email(now), self._webhooks(now), self._apprise(now))

    def _backoff(self, d: Delivery, now: datetime, error: str, permanent: bool = False) -> None:
        """Blocking: schedule the next attempt, or give up (permanent refusal, or too old)."""
        at, give_up = retry_at(self.config, d, now, permanent)
        self.outbox.retry(d.id, error, at, give_up)
        self.failures[d.recipient.channel] += 1
        log.warning(
            "notice %s to %s %s failed (attempt %d): %s%s",
            d.notice.id,
            d.recipient.channel,
            d.recipient.target,
            d.attempts + 1,
            error,
            "; giving up" if give_up else "",
        )

    # --- e-mail -------------------------------------------------------------------------------------------

    async def _email(self, now: datetime) -> None:
        if self.config.smtp is None or self.config.sender is None:
            return
        while True:
            sent, failed, more = await self.mail.batch(now)
            self.sent["email"] += sent
            self.failures["email"] += failed
            if not more:
                return
            now = self.clock.now()

    # --- webhooks -----------------------------------------------------------------------------------------

    async def _webhooks(self, now: datetime) -> None:
        hooks = {w.id: w for w in self.config.webhooks}
        if not hooks or self.session is None:
            return
        batch = await asyncio.to_thread(self.outbox.due, now, 200, "webhook")
        gate = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

        async def one(d: Delivery) -> None:
            hook = hooks.get(d.recipient.target)
            if hook is None:  # removed from the config since it was queued
                await asyncio.to_thread(self._backoff, d, now, "webhook no longer configured", True)
                return
            assert self.session is not None
            async with gate:
                error = await webhook.post(
                    self.session, hook.url, hook.secret.get_secret_value(), d.notice, self.clock.now(), hook.timeout
                )
            if error is None:
                await asyncio.to_thread(self.outbox.sent, d.id, self.clock.now())
                self.sent["webhook"] += 1
            else:
                await asyncio.to_thread(self._backoff, d, now, error)

        await asyncio.gather(*(one(d) for d in batch))

    # --- Apprise ------------------------------------------------------------------------------------------

    async def _apprise(self, now: datetime) -> None:
        if not self.config.apprise:
            return
        batch = await asyncio.to_thread(self.outbox.due, now, 50, "apprise")
        for d in batch:
            await asyncio.to_thread(self._apprise_one, d, now)

    def _apprise_one(self, d: Delivery, now: datetime) -> None:
        import apprise  # loaded only when configured: it pulls in requests and many plugins

        target = next((a for a in self.config.apprise if a.id == d.recipient.target), None)
        if target is None:
            self._backoff(d, now, "apprise target no longer configured", True)
            return
        data = d.notice.data
        client = apprise.Apprise()
        if not client.add(target.url.get_secret_value()):
            self._backoff(d, now, "apprise does not understand this URL", True)
            return
        title = f"{data.get('title', '')} ({d.notice.kind})"
        body = f"{data.get('body') or data.get('reason') or data.get('title', '')}\n{data.get('url', '')}".strip()
        if client.notify(title=title, body=body):
            self.outbox.sent(d.id, self.clock.now())
            self.sent["apprise"] += 1
        else:
            self._backoff(d, now, "apprise could not deliver")
