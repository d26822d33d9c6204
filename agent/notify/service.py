"""The notifier: derives due notices, commits them to the outbox with their recipients, and delivers them.

Everything that blocks (SQLite, smtplib, Apprise) runs in worker threads, so nothing here can delay a probe.
The loop wakes at the next instant a notice falls due (exactly: the calendar's `notice_at`, a window's start
or end), when the page's model changes, when a delivery's retry falls due, or every `poll` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from agent.core.clock import Clock
from agent.maintenance.calendar import MaintenanceCalendar
from agent.notify.config import NotifyConfig
from agent.notify.delivery import Deliverer
from agent.notify.notice import Notice, Recipient
from agent.notify.outbox import NoticeOutbox
from agent.notify.planner import incident_notices, maintenance_notices
from agent.notify.subscribers import SubscriberStore
from statuspage.model import StatusModel

log = logging.getLogger("dialtone.notify")

POLL = 60.0
"""Seconds between passes when nothing else wakes the loop."""
KEEP = timedelta(days=30)
"""Finished deliveries are kept this long (for `dialtone notices list`); notice ids are kept for good."""


class Notifier:
    """Owns the outbox and the subscriber store; `observe(model)` feeds it every page model built."""

    def __init__(
        self,
        config: NotifyConfig,
        calendar: MaintenanceCalendar,
        clock: Clock,
        outbox: NoticeOutbox,
        subscribers: SubscriberStore | None,
    ) -> None:
        self.config = config
        self.calendar = calendar
        self.clock = clock
        self.outbox = outbox
        self.subscribers = subscribers
        self._model: StatusModel | None = None
        self._model_lock = threading.Lock()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pruned = datetime.min.replace(tzinfo=UTC)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.deliverer = Deliverer(config, outbox, clock)
        self.queued = 0
        """Notices committed to the outbox since start."""
        self.stats: dict[str, dict[str, int]] = {"deliveries": {}, "subscribers": {}}
        """Outbox and subscriber counts as of the last pass (the metrics read these: no SQLite in a scrape)."""
        self.idle = asyncio.Event()
        """Set while the loop waits for its next pass (tests with a fake clock advance time only then)."""

    # --- inputs -------------------------------------------------------------------------------------------

    def observe(self, model: StatusModel) -> None:
        """A page model was built (any thread): plan from it soon."""
        with self._model_lock:
            self._model = model
        self.wake()

    def wake(self) -> None:
        """Run a pass soon (thread-safe)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- life cycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the loop."""
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession()
        self.deliverer.session = self._session
        self._task = asyncio.create_task(self._run(), name="dialtone-notify")

    async def aclose(self) -> None:
        """Stop the loop; a batch in a worker thread finishes there and commits what it sent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self.deliverer.mail.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.now()
            try:
                await asyncio.to_thread(self.plan, now)
                await self.deliverer.deliver_due(now)
                await asyncio.to_thread(self._housekeeping, self.clock.now())
            except Exception:  # a failing pass must not stop notices for good: the next pass retries
                log.exception("notify pass failed")
            await self._sleep(await asyncio.to_thread(self._next_wake, self.clock.now()))

    async def _sleep(self, until: datetime) -> None:
        # The wake-up is an instant, turned into seconds only now: time that passed while it was computed
        # (in a worker thread) must not push the next notice back by as much.
        seconds = max(0.0, (until - self.clock.now()).total_seconds())
        waiter = asyncio.ensure_future(self._wake.wait())
        tick = asyncio.ensure_future(self.clock.sleep(seconds))
        await asyncio.sleep(0)  # let the clock register the sleeper before anyone sees us idle
        self.idle.set()
        try:
            await asyncio.wait({waiter, tick}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.idle.clear()
            waiter.cancel()
            tick.cancel()

    def _housekeeping(self, now: datetime) -> None:
        """Refresh the counts the metrics show; forget finished deliveries after KEEP."""
        if now - self._pruned > timedelta(hours=1):
            self.outbox.prune(now - KEEP)
            self._pruned = now
        subs = self.subscribers.count() if self.subscribers is not None else {}
        self.stats = {"deliveries": self.outbox.counts(), "subscribers": subs}

    def _next_wake(self, now: datetime) -> datetime:
        """The instant the next notice or retry falls due (at most POLL after `now`)."""
        candidates = [now + timedelta(seconds=POLL)]
        upcoming = self.future(now)
        if upcoming:
            candidates.append(min(n.due for n in upcoming))
        retry = self.outbox.next_due()
        if retry is not None:
            candidates.append(datetime.fromtimestamp(retry, UTC))
        return min(candidates)

    # --- planning (worker thread) -------------------------------------------------------------------------

    def due(self, now: datetime) -> list[Notice]:
        """Every notice due at `now` (new or already queued)."""
        with self._model_lock:
            model = self._model
        found = [] if model is None else incident_notices(model, self.outbox.since)
        found += maintenance_notices(
            model,
            self.calendar,
            now,
            self.outbox.since,
            reminder=timedelta(seconds=self.config.reminder),
            horizon=timedelta(seconds=self.config.horizon),
        )
        return found

    def future(self, now: datetime) -> list[Notice]:
        """Maintenance notices that will fall due after `now` (within the horizon)."""
        return maintenance_notices(
            None,
            self.calendar,
            now,
            self.outbox.since,
            future=True,
            reminder=timedelta(seconds=self.config.reminder),
            horizon=timedelta(seconds=self.config.horizon),
        )

    def plan(self, now: datetime) -> int:
        """Commit every due notice not yet in the outbox, with its recipients; returns how many."""
        with self._model_lock:
            if self._model is None:
                return 0  # maintenance notices need the page (links, component names): wait for its model
        notices = self.due(now)
        known = self.outbox.known([n.id for n in notices])
        added = 0
        for n in notices:
            if n.id not in known and self.outbox.add(n, self.recipients(n), now):
                log.info("notice %s (%s) queued", n.id, n.kind)
                added += 1
        self.queued += added
        return added

    def recipients(self, notice: Notice) -> list[Recipient]:
        """Who hears of `notice`: matching subscribers, webhooks and Apprise targets."""
        out = self.subscribers.recipients(notice) if self.subscribers is not None else []
        out += [Recipient("webhook", w.id) for w in self.config.webhooks if notice.concerns(w.components)]
        out += [Recipient("apprise", a.id) for a in self.config.apprise if notice.concerns(a.components)]
        return out

    def queue_confirmation(self, email: str, lang: str, link: str, page: str, now: datetime) -> None:
        """Queue a double opt-in mail (blocking: worker thread) through the same durable outbox."""
        hours = int(self.config.subscriptions.token_ttl // 3600) if self.config.subscriptions else 24
        nonce = hashlib.sha256(f"{email}|{now.isoformat()}|{link}".encode()).hexdigest()[:24]
        data: dict[str, Any] = {"link": link, "page": page, "hours": hours, "lang": lang}
        notice = Notice(f"confirm-{nonce}", "subscription.confirm", email, now, (), data)
        self.outbox.add(notice, [Recipient("email", email, lang)], now)
        self.wake()
