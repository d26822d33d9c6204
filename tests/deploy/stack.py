"""A running agent (in-process) probing real local HTTP targets, scraped by a real Prometheus with the rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.deploy.helpers import fast_rules
from tests.peers.base import LOOPBACK, free_port
from tests.peers.prometheus import Prometheus

COMPONENTS = {"voice-a": "voice_messaging", "voice-b": "voice_messaging", "portal": "supporting"}


class PromQueries:
    """Instant queries against a test's Prometheus, polled until they return something."""

    prometheus: Prometheus
    until_timeout = 30.0

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query, off the event loop."""
        return await asyncio.to_thread(self.prometheus.query, promql)

    async def until(self, promql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Poll until the query returns something; fail with the query otherwise."""
        timeout = self.until_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(timeout):
                while not (got := await self.query(promql)):
                    await asyncio.sleep(0.25)
                return got
        except TimeoutError:
            raise AssertionError(f"no result for {promql} within {timeout}s") from None


@dataclass
class Stack(PromQueries):
    """The pieces a test drives: the targets' status codes, the agent and Prometheus."""

    status: dict[str, int]
    agent: Agent
    prometheus: Prometheus


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[int]:
    """`app` on a free 127.0.0.1 port for the block's length; yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _targets(status: dict[str, int]) -> AsyncIterator[int]:
    async def health(request: web.Request) -> web.Response:
        code = status[request.match_info["name"]]
        return web.Response(status=code, text="ok" if code == 200 else "down")

    app = web.Application()
    app.router.add_get("/{name}", health)
    async with serve_app(app) as port:
        yield port


def _agent_config(tmp: Path, target_port: int, listen: int) -> Path:
    components = "\n".join(f"  - {{id: {c}, name: {c}, tier: {t}}}" for c, t in COMPONENTS.items())
    targets = "\n".join(
        f"""  - id: {c}-health
    component: {c}
    kind: http
    interval: 1s
    timeout: 500ms
    labels: {{route: test}}
    http: {{url: "http://{LOOPBACK}:{target_port}/{c}", valid_status_codes: [200]}}"""
        for c in COMPONENTS
    )
    path = tmp / "dialtone.yaml"
    path.write_text(f"""
vantage: test
listen: {LOOPBACK}:{listen}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
components:
{components}
targets:
{targets}
""")
    return path


def _prometheus_config(listen: int, rules: list[Path], alertmanager: str | None) -> str:
    alerting = (
        f"""
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["{alertmanager}"]}}]}}]"""
        if alertmanager
        else ""
    )
    rule_files = "".join(f"\n  - {p}" for p in rules)
    return f"""
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}
rule_files:{rule_files}
{alerting}
scrape_configs:
  - job_name: dialtone
    static_configs: [{{targets: ["{LOOPBACK}:{listen}"]}}]
"""


@asynccontextmanager
async def running_stack(
    tmp: Path, *, maintenance: Callable[[str, datetime], bool], alertmanager: str | None = None
) -> AsyncIterator[Stack]:
    """Targets (all answering 200), the agent probing them every second, and Prometheus with fast rules."""
    status = dict.fromkeys(COMPONENTS, 200)
    async with AsyncExitStack() as stack:
        port = await stack.enter_async_context(_targets(status))
        listen = free_port()
        cfg = _agent_config(tmp, port, listen)
        agent = Agent(load_config(cfg), config_path=cfg, maintenance=maintenance)
        await agent.start()
        stack.push_async_callback(agent.stop)
        rules = fast_rules(tmp / "rules")
        prom = Prometheus(
            tmp / "prom", _prometheus_config(listen, rules, alertmanager), extra_args=["--rules.alert.resend-delay=1s"]
        )
        await asyncio.to_thread(prom.start)
        stack.push_async_callback(asyncio.to_thread, prom.stop)
        yield Stack(status, agent, prom)
