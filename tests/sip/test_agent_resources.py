"""Issue 19: what probes share belongs to the Agent that runs them, not to the process.

Each Agent makes its own SIP transport pool and call counters (through the kinds' `setup`), passes them to
its probes in a typed ProbeContext, and closes them in `stop()`. Against real SIPp UASes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.peers.base import LOOPBACK, free_port

pytestmark = pytest.mark.peer


def _config(folder: Path, targets: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "dialtone.yaml"
    path.write_text(f"""
vantage: {folder.name}
listen: 127.0.0.1:{free_port()}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {folder / "history.sqlite"}, batch_interval: 100ms}}
web: {{enable_reload: true}}
components:
  - {{id: voice, name: Voice, tier: core}}
targets:
{targets}""")
    return path


TCP_TARGET = """  - {id: web, component: voice, kind: tcp, interval: 30s, timeout: 1s,
     tcp: {address: "127.0.0.1:9"}}
"""


def _options(uri: str, interval: str = "200ms") -> str:
    return f"""  - {{id: ping, component: voice, kind: sip_options, interval: {interval}, timeout: 150ms,
     sip_options: {{uri: "{uri}"}}}}
"""


async def _eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, f"not within {seconds}s: {what}"
        await asyncio.sleep(0.05)


def _sample(agent: Agent, name: str, labels: dict[str, str]) -> float | None:
    return agent.registry.get_sample_value(name, labels)


async def test_each_agent_owns_its_sip_sockets_and_closes_them_on_stop(sipp, tmp_path: Path) -> None:
    uas = sipp("options")
    agents = [Agent(load_config(p), config_path=p) for p in (_config(tmp_path / n, _options(uas.uri())) for n in "ab")]
    a, b = agents
    try:
        for agent in agents:
            await agent.start()
        pool_a, pool_b = a.context.sip_pool, b.context.sip_pool
        assert pool_a is not None and pool_b is not None and pool_a is not pool_b
        pools = [pool_a, pool_b]
        await _eventually(
            lambda: all(len(p.sockets()) == 1 and p.sockets()[0].received >= 2 for p in pools), 10, "pings"
        )
        sock_a, sock_b = (p.sockets()[0] for p in pools)
        # Each agent's OPTIONS go out on its own socket to the one UAS: nothing is shared across agents.
        assert sock_a is not sock_b and sock_a.local != sock_b.local
        assert sock_a.remote == sock_b.remote == (LOOPBACK, uas.port)
        await a.stop()
        assert sock_a.closed and pools[0].closed and pools[0].sockets() == []
        received = sock_b.received
        await _eventually(lambda: sock_b.received >= received + 2, 10, "agent b keeps probing after a stopped")
        assert not sock_b.closed and b.state.target_states()["ping"].value == "up"
    finally:
        for agent in agents:
            await agent.stop()
    assert sock_b.closed and pools[1].closed


async def test_call_counters_are_per_agent(sipp, tmp_path: Path) -> None:
    uas = sipp("answer", echo=True)
    call = f"""  - {{id: call, component: voice, kind: sip_call, interval: 30s, timeout: 4s, labels: {{route: r1}},
     sip_call: {{uri: "{uas.uri("100")}", duration: 0.5s}}}}
"""
    caller_path, idle_path = _config(tmp_path / "caller", call), _config(tmp_path / "idle", TCP_TARGET)
    caller, idle = Agent(load_config(caller_path), config_path=caller_path), Agent(load_config(idle_path))
    labels = {"route": "r1", "result": "answered"}
    try:
        await caller.start()
        await idle.start()
        await _eventually(lambda: _sample(caller, "dialtone_call_attempts_total", labels) == 1.0, 15, "one call")
        assert caller.context.call_counters is caller.call_counters
        assert _sample(idle, "dialtone_call_attempts_total", labels) is None  # not the caller's calls
        assert idle.call_counters.snapshot() == ({}, {})
    finally:
        await caller.stop()
        await idle.stop()


async def test_a_reload_that_adds_a_sip_kind_sets_up_its_pool(sipp, tmp_path: Path) -> None:
    uas = sipp("options")
    path = _config(tmp_path / "r", TCP_TARGET)
    agent = Agent(load_config(path), config_path=path)
    try:
        await agent.start()
        assert agent.context.sip_pool is None  # no SIP kind configured: nothing made
        path.write_text(path.read_text() + _options(uas.uri()))
        ok, errors = await agent.reload()
        assert ok, errors
        pool = agent.context.sip_pool
        assert pool is not None
        await _eventually(lambda: bool(pool.sockets()) and pool.sockets()[0].received >= 1, 10, "a ping after reload")
    finally:
        await agent.stop()
    assert pool.closed and pool.sockets() == []
