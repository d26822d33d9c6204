"""The agent's HTTP endpoints on aiohttp: /metrics, /probe?target=ID, /-/healthy, /-/ready, /-/reload.

/probe accepts only configured target ids, never a URL, so it is no SSRF gateway, unlike blackbox_exporter's.
Concurrent requests for one target share the probe in flight (agent.runtime.scheduler); a kind that places calls is
refused unless its target sets `on_demand: true`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from agent.core.model import ProbeResult
from agent.runtime.scheduler import ProbeBusy
from agent.sinks.prometheus import OPENMETRICS, TEXT, PrometheusSink


@dataclass
class Endpoints:
    """What the HTTP layer calls into (the composition root provides these)."""

    metrics: PrometheusSink
    probe: Callable[[str], Awaitable[ProbeResult]]
    known_target: Callable[[str], bool]
    reload: Callable[[], Awaitable[tuple[bool, list[str]]]]
    ready: Callable[[], bool]
    refusal: Callable[[str], str | None] = lambda _target: None
    """Why /probe may not run this target now (a kind that places calls, not opted in), or None."""
    reload_enabled: bool = False
    probe_rate: float = 10.0
    """Ad-hoc /probe requests allowed per second (token bucket, burst of the same size)."""


class _TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.t = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def wants_openmetrics(accept: str) -> bool:
    """Content negotiation as Prometheus does it: OpenMetrics only when the scraper asks for it."""
    return "application/openmetrics-text" in accept


def build_app(ep: Endpoints, middlewares: Sequence[Any] = ()) -> web.Application:
    """The aiohttp application for the agent's own endpoints (auth middlewares come from agent.runtime.web)."""
    bucket = _TokenBucket(ep.probe_rate)
    reload_lock = asyncio.Lock()

    async def metrics(request: web.Request) -> web.Response:
        om = wants_openmetrics(request.headers.get("Accept", ""))
        body = ep.metrics.exposition(openmetrics=om)
        return web.Response(body=body, headers={"Content-Type": OPENMETRICS if om else TEXT, **SECURITY_HEADERS})

    async def probe(request: web.Request) -> web.Response:
        target = request.query.get("target", "")
        if not target:
            return _text(400, "missing ?target=ID (a configured target id)\n")
        if not ep.known_target(target):
            return _text(404, f"unknown target id {target[:80]!r}: /probe takes configured target ids only\n")
        refused = ep.refusal(target)
        if refused is not None:
            return _text(403, refused + "\n")
        if not bucket.take():
            return _text(429, "too many /probe requests; slow down\n", {"Retry-After": "1"})
        try:
            result = await ep.probe(target)
        except ProbeBusy as exc:
            return _text(503, f"target {target} was not probed: {exc}\n", {"Retry-After": "1"})
        return web.Response(body=ep.metrics.exposition_for(result), headers={"Content-Type": TEXT, **SECURITY_HEADERS})

    async def healthy(request: web.Request) -> web.Response:
        return _text(200, "OK\n")

    async def ready(request: web.Request) -> web.Response:
        return _text(200, "Ready\n") if ep.ready() else _text(503, "Not ready\n")

    async def reload(request: web.Request) -> web.Response:
        if not ep.reload_enabled:
            return _text(403, "reload over HTTP is disabled: set web.enable_reload: true, or send SIGHUP\n")
        async with reload_lock:
            ok, errors = await ep.reload()
        if ok:
            return _text(200, "config reloaded\n")
        return _text(400, "config refused, the previous one keeps running:\n" + "\n".join(errors) + "\n")

    app = web.Application(client_max_size=64 * 1024, middlewares=list(middlewares))
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    return app


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, headers={**SECURITY_HEADERS, **(headers or {})})
