"""Building the notifier, its stores and its routes for the composition root (agent.runtime.app)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agent.core.clock import Clock
from agent.core.model import Component
from agent.maintenance.calendar import MaintenanceCalendar
from agent.notify.config import NotifyConfig
from agent.notify.outbox import NoticeOutbox, NoticeOutboxError
from agent.notify.service import Notifier
from agent.notify.subscribers import SubscriberStore, SubscriberStoreError


class NotifySetupError(Exception):
    """A store cannot be opened; the agent refuses to start with this message."""


@dataclass
class NotifyParts:
    """The running notifier, the routes to add to the page's listener, and what to close at stop."""

    notifier: Notifier
    routes: list[web.RouteDef] = field(default_factory=list)
    closers: list[Callable[[], Any]] = field(default_factory=list)


def build_notify(
    config: NotifyConfig, calendar: MaintenanceCalendar, clock: Clock, components: Sequence[Component], page: str
) -> NotifyParts:
    """Open the outbox (and the subscriber store when subscriptions are on) and build the notifier."""
    try:
        outbox = NoticeOutbox(config.outbox, clock.now())
        subs = config.subscriptions
        store = SubscriberStore(subs.database) if subs is not None and subs.enabled else None
    except (NoticeOutboxError, SubscriberStoreError) as exc:
        raise NotifySetupError(str(exc)) from None
    notifier = Notifier(config, calendar, clock, outbox, store)
    parts = NotifyParts(notifier, closers=[outbox.close])
    if store is not None and subs is not None:
        from agent.notify.form import FormContext, subscription_routes

        parts.routes = subscription_routes(FormContext(subs, store, notifier, page, components))
        parts.closers.append(store.close)
    return parts
