"""Shared by the deploy tests: paths, test copies of the configs with short intervals, a webhook receiver."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tests.peers.base import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = sorted((DEPLOY / "prometheus/rules").glob("*.yml"))
RUNBOOKS = REPO / "docs/runbooks"


def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a checker; the result carries its output for assertion messages."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule in deploy/prometheus/rules/."""
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def fast_rules(dst: Path, for_: str = "1s") -> list[Path]:
    """Copies of the rule files with every `for:` shortened, for tests that cannot wait minutes."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for path in RULES:
        text = re.sub(r"(?m)^(\s+)for: \S+$", rf"\1for: {for_}", path.read_text())
        (dst / path.name).write_text(text)
        out.append(dst / path.name)
    return out


def _fast_routes(route: dict[str, Any], repeat: str, wait: str, *, root: bool = True) -> None:
    route.pop("mute_time_intervals", None)
    for key, value in (("group_wait", wait), ("group_interval", "1s"), ("repeat_interval", repeat)):
        if root or key in route:  # children inherit the root's timers unless they set their own
            route[key] = value
    for child in route.get("routes", []):
        _fast_routes(child, repeat, wait, root=False)


def test_alertmanager_config(webhook: str, *, repeat: str = "1h", group_wait: str = "0s") -> str:
    """deploy/alertmanager/alertmanager.yml with every webhook sent to `webhook`/<receiver> and short timers.

    The route tree, the matchers and the inhibition rules stay as shipped. The standard-window mute is taken
    off the routes: a run during a real third Friday night would otherwise be muted; the windows are checked
    on their own in test_alertmanager.py.
    """
    config = yaml.safe_load((DEPLOY / "alertmanager/alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{webhook}/{receiver['name']}"
            hook["send_resolved"] = False
    _fast_routes(config["route"], repeat, group_wait)
    return yaml.safe_dump(config, sort_keys=False)


test_alertmanager_config.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@dataclass
class Webhook:
    """What the receiver got: (receiver, alert) for each alert of each notification."""

    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def alerts(self, receiver: str | None = None, **labels: str) -> list[dict[str, Any]]:
        """Alerts received (at `receiver` if given) whose labels include `labels`."""
        return [
            a
            for r, a in self.received
            if (receiver is None or r == receiver) and all(a["labels"].get(k) == v for k, v in labels.items())
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until `predicate()` holds, woken by each notification."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            got = [(r, a["labels"]) for r, a in self.received]
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; received {got}") from None


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Webhook]:
    """A real aiohttp server on 127.0.0.1 taking Alertmanager's webhook payloads at /<receiver>."""
    port = free_port()
    hook = Webhook(f"http://{LOOPBACK}:{port}")

    async def receive(request: web.Request) -> web.Response:
        payload = await request.json()
        assert payload["version"] == "4", payload
        for alert in payload["alerts"]:
            hook.received.append((request.match_info["receiver"], alert))
        hook.arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{receiver}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield hook
    finally:
        await runner.cleanup()
