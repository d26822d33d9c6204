"""Delivering due outbox rows over their channel, with exponential backoff between failed attempts.

E-mail goes in batches over one SMTP connection in a worker thread; each accepted message is committed at
once (the at-least-once window is one message). Webhooks are POSTed from the event loop with aiohttp
(bounded concurrency); Apprise's blocking clients run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from email.policy import SMTP

import aiohttp

from agent.clock import Clock
from agent.notify import webhook
from agent.notify.config import NotifyConfig
from agent.notify.mail import NoticeMailer, confirm_mail
from agent.notify.outbox import Delivery, NoticeOutbox
from agent.notify.smtp import SmtpUnavailable, send_batch

log = logging.getLogger("dialtone.notify")

EMAIL_BATCH = 500
WEBHOOK_CONCURRENCY = 8


class Deliverer:
    """Sends what the outbox says is due and records each outcome."""

    def __init__(self, config: NotifyConfig, outbox: NoticeOutbox, clock: Clock) -> None:
        self.config = config
        self.outbox = outbox
        self.clock = clock
        self.session: aiohttp.ClientSession | None = None
        public = config.subscriptions.public_url if config.subscriptions else ""
        self.mailer = NoticeMailer(sender=config.sender or "", public_url=public, domain=config.domain)
        self.sent: Counter[str] = Counter()
        """Deliveries accepted, by channel."""
        self.failures: Counter[str] = Counter()
        """Failed attempts (each retried until give_up_after), by channel."""

    async def deliver_due(self, now: datetime) -> None:
        """One pass over every channel; the channels run side by side so one outage delays no other."""
        await asyncio.gather(self._email(now), self._webhooks(now), self._apprise(now))

    def _backoff(self, d: Delivery, now: datetime, error: str, permanent: bool = False) -> None:
        """Blocking: schedule the next attempt, or give up (permanent refusal, or too old)."""
        c = self.config
        delay = min(c.retry_max, c.retry_min * 2 ** min(d.attempts, 30))
        give_up = permanent or (now - d.notice.due).total_seconds() > c.give_up_after
        self.outbox.retry(d.id, error, now + timedelta(seconds=delay), give_up)
        self.failures[d.recipient.channel] += 1
        log.warning("notice %s to %s %s failed (attempt %d): %s%s", d.notice.id, d.recipient.channel,
                    d.recipient.target, d.attempts + 1, error, "; giving up" if give_up else "")

    # --- e-mail -------------------------------------------------------------------------------------------

    async def _email(self, now: datetime) -> None:
        if self.config.smtp is None or self.config.sender is None:
            return
        while True:
            more = await asyncio.to_thread(self._email_batch, now)
            if not more:
                return
            now = self.clock.now()

    def _mail(self, d: Delivery, now: datetime) -> bytes:
        c = self.config
        assert c.sender is not None
        if d.notice.kind == "subscription.confirm":
            data = d.notice.data
            return confirm_mail(d.recipient.target, d.recipient.lang, data["link"], sender=c.sender,
                                page=data["page"], domain=c.domain, hours=data["hours"], now=now,
                                nonce=d.notice.id).as_bytes(policy=SMTP)
        return self.mailer.build(d.notice, d.recipient, now)

    def _email_batch(self, now: datetime) -> bool:
        """Blocking: send one batch; True when a full batch went and more may be waiting."""
        assert self.config.smtp is not None
        batch = self.outbox.due(now, EMAIL_BATCH, "email")
        if not batch:
            return False
        by_id = {d.id: d for d in batch}
        messages = [(d.id, d.recipient.target, self._mail(d, now)) for d in batch]
        done: set[int] = set()

        def sent(did: int) -> None:
            self.outbox.sent(did, self.clock.now())
            self.sent["email"] += 1
            done.add(did)

        def refused(did: int, why: str, permanent: bool) -> None:
            self._backoff(by_id[did], now, why, permanent)
            done.add(did)

        try:
            send_batch(self.config.smtp, messages, self.config.sender or "", sent, refused)
        except SmtpUnavailable as exc:
            for d in batch:
                if d.id not in done:
                    self._backoff(d, now, str(exc))
            return False
        return len(batch) == EMAIL_BATCH

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
                error = await webhook.post(self.session, hook.url, hook.secret.get_secret_value(), d.notice,
                                           self.clock.now(), hook.timeout)
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
