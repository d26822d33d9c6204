"""In-process demo endpoints on loopback for the embedded default (`make run`): no other server needed.

The `api` endpoint fails (HTTP 503) for `outage_length` every `outage_every`, starting one minute after start-up,
so transitions, incidents and the SLA have something to show. The demo SIP platform (agent/runtime/demo_sip.py) has
its own scheduled faults on the same period: a spell of 503s to every call, and a spell of one-way audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agent.core.clock import Clock
from agent.runtime.config import DemoConfig

FIRST_OUTAGE_AFTER = 60.0


def in_window(elapsed: float, after: float, every: float, length: float) -> bool:
    """True inside a fault that first starts `after` seconds in, lasts `length` and repeats every `every`."""
    if elapsed < after or every <= 0:
        return False
    return (elapsed - after) % every < length


def in_outage(elapsed: float, every: float, length: float) -> bool:
    """True while the demo API is in one of its scheduled outages."""
    return in_window(elapsed, FIRST_OUTAGE_AFTER, every, length)


def demo_app(config: DemoConfig, clock: Clock) -> web.Application:
    """The demo service: a portal, an API that has scheduled outages, and a voice gateway health page."""
    started = clock.monotonic()

    async def portal(request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><title>Demo portal</title><h1>Customer portal</h1>", content_type="text/html"
        )

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


def voice_faults(config: DemoConfig, clock: Clock) -> Callable[[], Any]:
    """The demo platform's fault schedule, read from `clock` (elapsed since this call)."""
    from agent.runtime.demo_sip import Faults

    started = clock.monotonic()

    def now() -> Faults:
        elapsed = clock.monotonic() - started
        return Faults(
            calls_unavailable=in_window(elapsed, config.calls_unavailable_after, config.outage_every,
                                        config.calls_unavailable_length),
            one_way_audio=in_window(elapsed, config.one_way_audio_after, config.outage_every,
                                    config.one_way_audio_length),
        )  # fmt: skip

    return now


async def start_sip(config: DemoConfig, clock: Clock) -> Any:
    """Start the demo SIP platform on UDP host:sip_port; returns it (its `close()` stops it)."""
    from agent.runtime.demo_sip import DemoSipPlatform

    assert config.sip_port is not None
    platform = DemoSipPlatform(config.host, config.sip_port, voice_faults(config, clock))
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: platform, local_addr=(config.host, config.sip_port))
    return platform


async def start(config: DemoConfig, clock: Clock) -> list[web.AppRunner]:
    """Start the demo endpoints; returns their runners for clean-up."""
    runner = web.AppRunner(demo_app(config, clock), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port, reuse_address=True).start()
    return [runner]
