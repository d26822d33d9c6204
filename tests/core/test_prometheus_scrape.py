"""A real Prometheus server scrapes a running agent, both /metrics and the multi-target /probe form."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.peers.base import free_port
from tests.peers.prometheus import Prometheus


async def poll(fn, timeout: float = 30.0):
    async with asyncio.timeout(timeout):
        while True:
            value = await asyncio.to_thread(fn)
            if value:
                return value
            await asyncio.sleep(0.25)


async def test_prometheus_scrapes_the_agent(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen)
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        prom = Prometheus(
            tmp_path / "prom",
            f"""
global: {{scrape_interval: 1s, scrape_timeout: 900ms}}
scrape_configs:
  - job_name: dialtone
    static_configs: [{{targets: ["127.0.0.1:{listen}"]}}]
  - job_name: dialtone-probe
    metrics_path: /probe
    static_configs: [{{targets: ["portal-health"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{listen}"}}
""",
        )
        try:
            await asyncio.to_thread(prom.start)
            got = await poll(lambda: prom.query('probe_success{job="dialtone",target="portal-health"}'))
            assert got[0]["value"][1] == "1" and got[0]["metric"]["component"] == "portal"
            status = await poll(lambda: prom.query('dialtone_component_status{status="operational"} == 1'))
            assert status[0]["metric"]["component"] == "portal"
            via_probe = await poll(lambda: prom.query('probe_success{job="dialtone-probe"}'))
            assert via_probe[0]["metric"]["instance"] == "portal-health"
            up = await poll(lambda: prom.query('up{job="dialtone"} == 1'))
            assert up
        finally:
            await asyncio.to_thread(prom.stop)
            await agent.stop()
