"""The subscription endpoints beside the page: subscribe (POST), confirm, and RFC 8058 one-click unsubscribe.

Routes (under the page's listener; a reverse proxy in front of a statically hosted site forwards
`/notify/` here): GET/POST /notify/subscribe, GET/POST /notify/confirm?token=, GET/POST /notify/unsubscribe.
Every answer to a subscription is the same whether or not the address is known (no enumeration); every
SQLite call runs in a worker thread; bodies are capped; per-client and per-address limits refuse floods.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

import statuspage
from agent.core.model import Component
from agent.notify.config import SubscriptionsConfig
from agent.notify.subscribers import Subscriber, SubscriberStore
from agent.notify.words import word

MAX_BODY = 8192
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
_TEMPLATES = Path(statuspage.__file__).parent / "templates"


def valid_address(text: str) -> str | None:
    """The address normalised (domain lower-cased) when it is a plausible Internet mail address, else None."""
    if len(text) > 254 or not text.isascii() or any(c.isspace() or ord(c) < 32 for c in text):
        return None
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return f"{local}@{domain.lower()}"


class Limiter:
    """At most `limit` events per key within `window` seconds (a sliding window, bounded in memory)."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Count one event for `key`; False when it is over the limit."""
        q = self._seen.get(key)
        if q is None:
            if len(self._seen) >= self.max_keys:
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window}
                if len(self._seen) >= self.max_keys:
                    return False  # a flood of distinct clients: refuse rather than grow without bound
            q = self._seen[key] = deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True


@dataclass
class FormContext:
    """What the handlers need: the store, the notifier's queue, the page's name and components."""

    config: SubscriptionsConfig
    store: SubscriberStore
    notifier: Any
    """An agent.notify.service.Notifier (queue_confirmation, outbox, clock)."""
    page: str
    components: Sequence[Component]


def subscription_routes(ctx: FormContext) -> list[web.RouteDef]:
    """The /notify/* routes."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True)
    clients = Limiter(ctx.config.rate_limits.per_client, ctx.config.rate_limits.window)
    known = {c.id for c in ctx.components}

    def page(lang: str, status: int = 200, **values: Any) -> web.Response:
        defaults = {"action": "subscribe", "show_form": False, "message": "", "button": ""}
        html = env.get_template("subscribe.html").render(
            lang=lang,
            w=lambda key, **v: word(lang, key, **v),
            page=ctx.page,
            top="../",
            components=ctx.components,
            **(defaults | values),
        )
        return web.Response(
            text=html,
            status=status,
            content_type="text/html",
            headers={
                "Content-Security-Policy": _CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
            },
        )

    def client_of(request: web.Request) -> str:
        forwarded = request.headers.get("X-Forwarded-For", "") if ctx.config.trust_forwarded_for else ""
        return forwarded.split(",")[-1].strip() or request.remote or "?"

    async def show(request: web.Request) -> web.Response:
        return page(_lang(request.query.get("lang")), show_form=True)

    async def subscribe(request: web.Request) -> web.Response:
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return page("en", 415, message="unsupported content type", show_form=True)
        if not clients.allow(client_of(request), time.monotonic()):
            return page("en", 429, message="too many requests; try again later")
        form = await request.post()
        lang = _lang(form.get("lang"))
        email = valid_address(str(form.get("email", "")).strip())
        chosen = [str(v) for v in form.getall("component", [])]
        if email is None:
            return page(lang, 400, message=word(lang, "form.invalid_email"), show_form=True)
        if len(chosen) > len(known) or any(c not in known for c in chosen):
            return page(lang, 400, message=word(lang, "form.components") + ": invalid", show_form=True)
        await asyncio.to_thread(_request, ctx, email, lang, sorted(set(chosen)))
        # The same answer whether the address was new, known, or over its own limit: no enumeration.
        return page(lang, message=word(lang, "form.sent", email=email))

    async def confirm_page(request: web.Request) -> web.Response:
        # GET only asks: mail scanners open links, and must not confirm on the subscriber's behalf.
        token = request.query.get("token", "")[:200]
        sub = await asyncio.to_thread(ctx.store.awaiting, token, ctx.notifier.clock.now()) if token else None
        if sub is None:
            return page("en", 404, message=word("en", "form.bad_token"))
        return page(
            sub.lang,
            message=word(sub.lang, "form.confirm_prompt", page=ctx.page, email=sub.email),
            button=word(sub.lang, "form.confirm_button"),
            action=f"confirm?token={quote(token)}",
        )

    async def confirm(request: web.Request) -> web.Response:
        token = request.query.get("token", "")[:200]
        now = ctx.notifier.clock.now()
        sub = await asyncio.to_thread(ctx.store.confirm, token, now) if token else None
        if sub is None:
            return page("en", 404, message=word("en", "form.bad_token"))
        return page(sub.lang, message=word(sub.lang, "form.confirmed", page=ctx.page))

    async def unsubscribe_page(request: web.Request) -> web.Response:
        token = request.query.get("token", "")[:200]
        sub = await asyncio.to_thread(ctx.store.by_unsub_token, token) if token else None
        if sub is None:
            return page("en", 404, message=word("en", "form.bad_token"))
        return page(
            sub.lang,
            message=word(sub.lang, "form.unsubscribe_confirm", email=sub.email, page=ctx.page),
            button=word(sub.lang, "unsubscribe"),
            action=f"unsubscribe?token={quote(token)}",
        )

    async def unsubscribe(request: web.Request) -> web.Response:
        # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the URL (token in the query).
        form = await request.post()
        token = (request.query.get("token") or str(form.get("token", "")))[:200]
        sub = await asyncio.to_thread(_unsubscribe, ctx, token) if token else None
        if sub is None:
            return page("en", 404, message=word("en", "form.bad_token"))
        return page(sub.lang, message=word(sub.lang, "form.unsubscribed", email=sub.email))

    return [
        web.get("/notify/subscribe", show),
        web.post("/notify/subscribe", subscribe),
        web.get("/notify/confirm", confirm_page),
        web.post("/notify/confirm", confirm),
        web.get("/notify/unsubscribe", unsubscribe_page),
        web.post("/notify/unsubscribe", unsubscribe),
    ]


def _lang(value: object) -> str:
    return "fr" if value == "fr" else "en"


def _request(ctx: FormContext, email: str, lang: str, chosen: list[str]) -> None:
    """Blocking: record the request and queue its confirmation mail, unless the address is over its limit."""
    limits = ctx.config.rate_limits
    now = ctx.notifier.clock.now()
    if ctx.store.sends_since(email, now.timestamp() - limits.window) >= limits.per_address:
        return
    token = ctx.store.request(email, lang, chosen, now, ctx.config.token_ttl)
    link = f"{ctx.config.public_url}notify/confirm?token={quote(token)}"
    ctx.notifier.queue_confirmation(email, lang, link, ctx.page, now)


def _unsubscribe(ctx: FormContext, token: str) -> Subscriber | None:
    sub = ctx.store.by_unsub_token(token)
    if sub is not None and ctx.store.unsubscribe(token) is not None:
        ctx.notifier.outbox.drop_target("email", sub.email)  # mails already queued for them are cancelled
        return sub
    return None
