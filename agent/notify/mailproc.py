"""E-mail sending in a child process at lower CPU priority, so 10,000 mails never compete with probing.

Building and handing mails to SMTP is Python work; in a thread it would share the GIL, and the OS's CPU,
with the event loop. The child (spawned, not forked, from the running agent) has its own interpreter, runs
at nice +10, opens its own connection to the outbox (SQLite WAL allows it), and is SIGKILLed by the kernel
if the agent dies, so an orphan can never race a restarted agent for the same rows. Each accepted message
is committed in the child at once: the at-least-once window stays one message.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from email.policy import SMTP
from multiprocessing import get_context

from agent.notify.config import NotifyConfig
from agent.notify.mail import NoticeMailer, confirm_mail
from agent.notify.outbox import Delivery, NoticeOutbox
from agent.notify.smtp import SmtpUnavailable, send_batch

log = logging.getLogger("dialtone.notify")

EMAIL_BATCH = 500
NICE = 10
_PR_SET_PDEATHSIG = 1


def retry_at(config: NotifyConfig, d: Delivery, now: datetime, permanent: bool) -> tuple[datetime, bool]:
    """When to try `d` again (exponential backoff), and whether to give up instead."""
    delay = min(config.retry_max, config.retry_min * 2 ** min(d.attempts, 30))
    give_up = permanent or (now - d.notice.due).total_seconds() > config.give_up_after
    return now + timedelta(seconds=delay), give_up


class EmailSender:
    """Sends due e-mail deliveries from the outbox in batches over one SMTP connection (blocking)."""

    def __init__(self, config: NotifyConfig, outbox: NoticeOutbox) -> None:
        assert config.smtp is not None and config.sender is not None
        self.config, self.outbox = config, outbox
        public = config.subscriptions.public_url if config.subscriptions else ""
        self.mailer = NoticeMailer(sender=config.sender, public_url=public, domain=config.domain)

    def _mail(self, d: Delivery, now: datetime) -> bytes:
        c = self.config
        assert c.sender is not None
        if d.notice.kind == "subscription.confirm":
            data = d.notice.data
            return confirm_mail(
                d.recipient.target,
                d.recipient.lang,
                data["link"],
                sender=c.sender,
                page=data["page"],
                domain=c.domain,
                hours=data["hours"],
                now=now,
                nonce=d.notice.id,
            ).as_bytes(policy=SMTP)
        return self.mailer.build(d.notice, d.recipient, now)

    def batch(self, now: datetime) -> tuple[int, int, bool]:
        """Send one batch: (accepted, failed attempts, whether a full batch went and more may wait)."""
        assert self.config.smtp is not None
        batch = self.outbox.due(now, EMAIL_BATCH, "email")
        if not batch:
            return 0, 0, False
        by_id = {d.id: d for d in batch}
        done: set[int] = set()
        failed = [0]

        def sent(did: int) -> None:
            self.outbox.sent(did, now)
            done.add(did)

        def refused(did: int, why: str, permanent: bool = False) -> None:
            d = by_id[did]
            at, give_up = retry_at(self.config, d, now, permanent)
            self.outbox.retry(did, why, at, give_up)
            failed[0] += 1
            done.add(did)
            log.warning(
                "notice %s to %s failed (attempt %d): %s%s",
                d.notice.id,
                d.recipient.target,
                d.attempts + 1,
                why,
                "; giving up" if give_up else "",
            )

        messages = [(d.id, d.recipient.target, self._mail(d, now)) for d in batch]
        try:
            send_batch(self.config.smtp, messages, self.config.sender or "", sent, refused)
        except SmtpUnavailable as exc:
            for d in batch:
                if d.id not in done:
                    refused(d.id, str(exc))
            return len(done) - failed[0], failed[0], False
        return len(done) - failed[0], failed[0], len(batch) == EMAIL_BATCH


_SENDER: EmailSender | None = None


def _child_init(config: NotifyConfig) -> None:
    """In the child: die with the agent, yield the CPU to it, open the outbox."""
    global _SENDER
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the orphan exits when its pipe to the agent breaks
        pass
    if os.getppid() == 1:  # the agent died before prctl took effect
        os._exit(1)
    os.nice(NICE)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _SENDER = EmailSender(config, NoticeOutbox(config.outbox, datetime.now(UTC)))


def _child_batch(now: datetime) -> tuple[int, int, bool]:
    assert _SENDER is not None
    return _SENDER.batch(now)


class MailProcess:
    """The child process, started on first use and restarted if it dies."""

    def __init__(self, config: NotifyConfig) -> None:
        self.config = config
        self._pool: ProcessPoolExecutor | None = None

    async def batch(self, now: datetime) -> tuple[int, int, bool]:
        """One batch in the child; a crashed child is logged and replaced at the next call."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=get_context("spawn"), initializer=_child_init, initargs=(self.config,)
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _child_batch, now)
        except BrokenProcessPool:
            log.error("the mail sender process died; it is restarted at the next pass")
            self._pool = None
            return 0, 0, False

    async def close(self) -> None:
        """Stop the child after the batch in progress (its accepted mails are committed)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
