"""Everything wired inside the running agent: calendar, SNMP traps, MQTT, the status page and shards."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from agent.runtime.shard import select_targets
from tests.core.helpers import agent_config, http_target
from tests.peers.base import LOOPBACK, free_port, free_port_both, require_binary
from tests.peers.snmpd import snmptrap

LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"


async def until(predicate, within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():
            await asyncio.sleep(0.05)


def add(cfg: Path, text: str) -> Path:
    cfg.write_text(cfg.read_text() + text)
    return cfg


async def test_maintenance_window_masks_the_component_and_is_exported(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    published = (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    async with http_target({"code": 503}) as port:
        cfg = add(
            agent_config(tmp_path, port, free_port()),
            f"""
maintenance:
  windows:
    - {{id: upgrade, title: SBC upgrade, start: "{start}", zone: UTC, duration: 1h, components: [portal],
       published: "{published}"}}
""",
        )
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        try:
            await until(lambda: agent.scheduler.completed >= 2)
            assert str(agent.state.component_status("portal")) == "under_maintenance"
            reg = agent.registry
            assert reg.get_sample_value("dialtone_maintenance_active", {"component": "portal"}) == 1
            assert (
                agent.prometheus.sample_value(
                    "dialtone_component_status", {"component": "portal", "status": "under_maintenance"}
                )
                == 1
            )
            up = {"target": "portal-health", "component": "portal"}
            assert agent.prometheus.sample_value("dialtone_target_up", up) == 0
            async with aiohttp.ClientSession() as s, s.get(f"http://{agent.config.listen}/metrics") as r:
                body = await r.text()
            assert 'dialtone_probe_maintenance{target="portal-health"' in body and "} 1\n" in body
        finally:
            await agent.stop()


async def test_snmp_trap_changes_the_target_at_once_and_is_recorded(tmp_path: Path) -> None:
    require_binary("snmptrap", "snmp")
    trap_port = free_port_both()
    async with http_target({"code": 200}) as port:
        cfg = add(
            agent_config(tmp_path, port, free_port()),
            f"""
  - id: sbc1
    component: portal
    kind: snmp
    interval: 1h
    timeout: 1s
    snmp: {{address: "127.0.0.1:{free_port_both()}", community: public}}
snmp_traps:
  listen: 127.0.0.1:{trap_port}
  communities: [trapsecret]
""",
        )
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        try:
            await snmptrap(["-v", "2c", "-c", "trapsecret", f"{LOOPBACK}:{trap_port}", "", LINK_DOWN])
            await until(lambda: agent.state.target_state("sbc1").value == "down")
            assert agent.registry.get_sample_value("dialtone_snmp_traps_total", {"result": "accepted"}) == 1
            await snmptrap(["-v", "2c", "-c", "wrong", f"{LOOPBACK}:{trap_port}", "", LINK_UP])
            await until(
                lambda: (
                    (agent.registry.get_sample_value("dialtone_snmp_traps_total", {"result": "bad_community"}) or 0)
                    >= 1
                )
            )
            assert agent.state.target_state("sbc1").value == "down"  # an untrusted trap changes nothing
            assert agent.history is not None
            await agent.history.flush()
            from agent.history.reader import HistoryReader

            events = HistoryReader(agent.history.path).events(kind="snmp.trap")
            assert [e.subject for e in events] == ["sbc1"]
        finally:
            await agent.stop()


async def test_mqtt_and_status_page_follow_a_transition(tmp_path: Path) -> None:
    sub_bin = require_binary("mosquitto_sub", "mosquitto-clients")
    from tests.peers.mosquitto import Mosquitto

    broker = Mosquitto(tmp_path / "broker").start()
    status = {"code": 200}
    site_port = free_port()
    try:
        async with http_target(status) as port:
            cfg = add(
                agent_config(tmp_path, port, free_port()),
                f"""
mqtt: {{host: 127.0.0.1, port: {broker.port}, outbox: {tmp_path / "outbox.sqlite"}}}
site: {{out: {tmp_path / "site"}, listen: "127.0.0.1:{site_port}", render_interval: 1h,
        incidents: {tmp_path / "incidents"}}}
""",
            )
            agent = Agent(load_config(cfg), config_path=cfg)
            await agent.start()
            try:
                await until(lambda: str(agent.state.component_status("portal")) == "operational")
                status["code"] = 503
                await until(lambda: str(agent.state.component_status("portal")) == "major_outage")
                topic = "dialtone/v1/test/components/portal/status"
                out = await asyncio.to_thread(
                    subprocess.run,
                    [sub_bin, "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "10"],
                    capture_output=True,
                    text=True,
                )
                assert json.loads(out.stdout)["status"] == "major_outage"

                async def page_status() -> str:
                    url = f"http://127.0.0.1:{site_port}/api/v2/components.json"
                    async with aiohttp.ClientSession() as s, s.get(url) as r:
                        if r.status != 200:
                            return ""
                        data = await r.json()
                        return str(next(c["status"] for c in data["components"] if c["id"] == "portal"))

                async with asyncio.timeout(15):
                    while await page_status() != "major_outage":
                        await asyncio.sleep(0.1)
            finally:
                await agent.stop()
    finally:
        broker.stop()


async def test_a_shard_probes_only_its_targets(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        extra = "".join(
            f"""
  - id: t{i}
    component: portal
    kind: tcp
    interval: 1h
    timeout: 1s
    tcp: {{address: "127.0.0.1:{port}"}}"""
            for i in range(12)
        )
        cfg = add(agent_config(tmp_path, port, free_port()), extra + "\nshard: 1/3\n")
        config = load_config(cfg)
        agent = Agent(config, config_path=cfg)
        await agent.start()
        try:
            mine = {t.id for t in select_targets(config.targets, "1/3")}
            assert {j.target.id for j in agent.scheduler.jobs} == mine
            assert 0 < len(mine) < len(config.targets)
        finally:
            await agent.stop()
