"""Helpers for core tests: a real local HTTP target and config files written at test time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from tests.peers.base import free_port


@asynccontextmanager
async def http_target(status: dict[str, int]) -> AsyncIterator[int]:
    """A real aiohttp server on 127.0.0.1 whose /health answers status['code'] (tests flip it)."""

    async def health(request: web.Request) -> web.Response:
        return web.Response(status=status["code"], text="ok" if status["code"] == 200 else "down")

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def agent_config(
    tmp: Path, target_port: int, listen_port: int, *, interval: str = "200ms", extra_targets: str = ""
) -> Path:
    """Write a small agent config probing the local target and return its path."""
    path = tmp / "dialtone.yaml"
    path.write_text(f"""
vantage: test
listen: 127.0.0.1:{listen_port}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
web: {{enable_reload: true}}
components:
  - {{id: portal, name: Portal, tier: supporting}}
targets:
  - id: portal-health
    component: portal
    kind: http
    interval: {interval}
    timeout: 150ms
    labels: {{team: web}}
    http: {{url: "http://127.0.0.1:{target_port}/health", valid_status_codes: [200]}}
{extra_targets}
""")
    return path
