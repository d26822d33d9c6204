"""In-process demo endpoints on loopback for the embedded default (`make run`): no other server needed.

The `api` endpoint fails (HTTP 503) for `outage_length` every `outage_every`, starting one minute after start-up,
so transitions, incidents and the SLA have something to show.
"""

from __future__ import annotations

from aiohttp import web

from agent.clock import Clock
from agent.config import DemoConfig

FIRST_OUTAGE_AFTER = 60.0


def in_outage(elapsed: float, every: float, length: float) -> bool:
    """True while the demo API is in one of its scheduled outages."""
    if elapsed < FIRST_OUTAGE_AFTER or every <= 0:
        return False
    return (elapsed - FIRST_OUTAGE_AFTER) % every < length


def demo_app(config: DemoConfig, clock: Clock) -> web.Application:
    """The demo service: a portal, an API that has scheduled outages, and a voice gateway health page."""
    started = clock.monotonic()

    async def portal(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Demo portal</title><h1>Customer portal</h1>",
                            content_type="text/html")

    async def api(request: web.Request) -> web.Response:
        if in_outage(clock.monotonic() - started, config.outage_every, config.outage_length):
            return web.json_response({"status": "unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def voice(request: web.Request) -> web.Response:
        return web.json_response({"trunks": 4, "registered": 4})

    app = web.Application()
    app.router.add_get("/", portal)
    app.router.add_get("/api/health", api)
    app.router.add_get("/voice/health", voice)
    return app


async def start(config: DemoConfig, clock: Clock) -> list[web.AppRunner]:
    """Start the demo endpoints; returns their runners for clean-up."""
    runner = web.AppRunner(demo_app(config, clock), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port, reuse_address=True).start()
    return [runner]
