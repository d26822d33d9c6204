"""A running agent with one healthy target beside the faulty ones, and the checks every fault test makes:
the agent keeps probing the other targets, /metrics keeps answering, no transition is lost, memory is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from agent.core.model import Transition
from agent.history.reader import HistoryReader
from agent.runtime.app import Agent
from agent.runtime.app_restore import STOPPED
from agent.runtime.config import load_config
from bench.common import rss_bytes
from tests.core.helpers import http_target
from tests.peers.base import free_port

FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
RSS_GROWTH_LIMIT = 96 * 2**20


@dataclass
class Harness:
    """The agent under fault, with its healthy neighbour."""

    agent: Agent
    base: str
    history: Path
    transitions: list[Transition] = field(default_factory=list)
    rss0: int = 0

    def healthy_results(self) -> float:
        return (
            self.agent.registry.get_sample_value("dialtone_probes_total", {"kind": "http", "result": "success"}) or 0.0
        )

    async def healthy_keeps_probing(self, results: int = 5, within: float = 10.0) -> None:
        """The healthy target gets `results` more good results while the fault goes on."""
        start = self.healthy_results()
        async with asyncio.timeout(within):
            while self.healthy_results() < start + results:
                await asyncio.sleep(0.05)

    async def metrics_answer(self, within: float = 3.0) -> str:
        """/metrics answers, promptly, while the fault goes on."""
        async with asyncio.timeout(within), aiohttp.ClientSession() as s, s.get(self.base + "/metrics") as r:
            assert r.status == 200
            return await r.text()

    async def wait_transition(self, subject_id: str, new: str, within: float = 15.0) -> None:
        async with asyncio.timeout(within):
            while not any(t.id == subject_id and t.new == new for t in self.transitions):
                await asyncio.sleep(0.05)

    def assert_memory_bounded(self) -> None:
        grown = rss_bytes() - self.rss0
        assert grown < RSS_GROWTH_LIMIT, f"RSS grew by {grown / 2**20:.0f} MiB"

    def assert_no_transition_lost(self) -> None:
        """Every transition the state machine made is in history, in order (call after the agent stopped)."""
        # The stop rows (everything going to "unknown") are history's own record of the gap, not transitions.
        stored = [t for t in HistoryReader(self.history).transitions(*FAR) if t.cause != STOPPED]

        def key(t: Transition) -> tuple[int, str, str, str, str]:
            return int(t.at.timestamp() * 1000), t.subject, t.id, t.old, t.new  # history keeps milliseconds

        made = sorted(key(t) for t in self.transitions)
        kept = sorted(key(t) for t in stored)
        missing = len(set(made) - set(kept))
        assert missing == 0 and len(kept) == len(made), f"{missing} of {len(made)} transitions missing"
        for subject_id in {t.id for t in self.transitions}:  # each subject's own sequence is intact
            assert [x for x in kept if x[2] == subject_id] == [x for x in made if x[2] == subject_id]


def config_text(
    tmp: Path, healthy_port: int, listen: int, faulty: str, interval: str = "300ms", timeout: str = "250ms"
) -> str:
    return f"""
vantage: faults
listen: 127.0.0.1:{listen}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
web: {{enable_reload: true}}
components:
  - {{id: healthy, name: Healthy, tier: supporting}}
  - {{id: faulty, name: Faulty, tier: supporting}}
targets:
  - id: healthy-http
    component: healthy
    kind: http
    interval: {interval}
    timeout: {timeout}
    http: {{url: "http://127.0.0.1:{healthy_port}/health"}}
{faulty}
"""


@asynccontextmanager
async def agent_under_fault(tmp: Path, faulty_targets: str, **kw: str) -> AsyncIterator[Harness]:
    """Start the agent with the healthy target and `faulty_targets` (YAML list items, 2-space indented)."""
    async with http_target({"code": 200}) as healthy:
        listen = free_port()
        path = tmp / "dialtone.yaml"
        path.write_text(config_text(tmp, healthy, listen, faulty_targets, **kw))
        agent = Agent(load_config(path), config_path=path)
        h = Harness(agent, f"http://127.0.0.1:{listen}", tmp / "history.sqlite", rss0=rss_bytes())
        agent.transition_hooks.append(h.transitions.append)
        await agent.start()
        try:
            yield h
        finally:
            await agent.stop()
