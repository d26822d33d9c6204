"""Issue 15 (1) and (2), against the running agent's real /metrics: the SLA target family survives
set_targets, and a reload that adds an emergency window masks the component at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.peers.base import free_port


async def _scrape(base: str) -> str:
    async with aiohttp.ClientSession() as s, s.get(base + "/metrics") as r:
        assert r.status == 200
        return await r.text()


async def _until_in(base: str, line: str, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        while line not in (body := await _scrape(base)):
            await asyncio.sleep(0.1)
    return body


def _emergency_window(now: datetime) -> str:
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"""
maintenance:
  windows:
    - id: fix-now
      kind: emergency
      reason: failing power supply
      start: "{start}"
      zone: UTC
      duration: 2h
      components: [portal]
"""


async def test_sla_target_ratio_is_exported_after_start_and_reload(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        listen = free_port()
        path = agent_config(tmp_path, port, listen)
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        try:
            base = f"http://127.0.0.1:{listen}"
            line = 'dialtone_component_sla_target_ratio{component="portal",tier="supporting"} 0.98'
            await _until_in(base, line)
            ok, errors = await agent.reload()
            assert ok, errors
            await _until_in(base, line)
        finally:
            await agent.stop()


async def test_reload_adding_an_emergency_window_masks_the_component(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        listen = free_port()
        path = agent_config(tmp_path, port, listen)
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        try:
            base = f"http://127.0.0.1:{listen}"
            await _until_in(base, 'dialtone_maintenance_active{component="portal"} 0.0')
            path.write_text(path.read_text() + _emergency_window(datetime.now(UTC)))
            ok, errors = await agent.reload()
            assert ok, errors
            # The collector reads the new calendar at the next scrape, and the state machine's next
            # refresh (or result) flips the status: a 200 ms probe interval makes that immediate.
            await _until_in(base, 'dialtone_maintenance_active{component="portal"} 1.0', timeout=3)
            await _until_in(
                base, 'dialtone_component_status{component="portal",status="under_maintenance"} 1', timeout=3
            )
            assert agent.sla.calendar is agent.calendar
            assert agent.maintenance("portal", datetime.now(UTC))
        finally:
            await agent.stop()
