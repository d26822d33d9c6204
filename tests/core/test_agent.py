"""The running agent end to end in-process: real HTTP target, /metrics, /probe, readiness, reload, history."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from agent.history.reader import HistoryReader
from agent.runtime.app import Agent, StartupError
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.peers.base import free_port, require_binary


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.fixture
async def running(tmp_path: Path):
    status = {"code": 200}
    async with http_target(status) as port:
        listen = free_port()
        path = agent_config(tmp_path, port, listen)
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        try:
            yield agent, status, f"http://127.0.0.1:{listen}", path
        finally:
            await agent.stop()


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_metrics_follow_the_target_and_transitions_are_recorded(running) -> None:
    agent, status, base, _ = running
    reg = agent.registry
    await wait_for(lambda: reg.get_sample_value("dialtone_probes_total", {"kind": "http", "result": "success"}))
    code, ctype, body = await get(base + "/metrics")
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    assert 'probe_success{target="portal-health",component="portal",kind="http",vantage="test",team="web"} 1' in body
    assert 'probe_http_status_code{target="portal-health"' in body
    sample = agent.prometheus.sample_value
    assert sample("dialtone_component_status", {"component": "portal", "status": "operational"}) == 1
    status["code"] = 503
    await wait_for(lambda: str(agent.state.component_status("portal")) == "major_outage")
    assert sample("dialtone_component_status", {"component": "portal", "status": "major_outage"}) == 1
    assert sample("dialtone_target_up", {"target": "portal-health", "component": "portal"}) == 0
    _, _, body = await get(base + "/metrics")
    assert 'probe_success{target="portal-health",component="portal",kind="http",vantage="test",team="web"} 0' in body
    status["code"] = 200
    await wait_for(lambda: str(agent.state.component_status("portal")) == "operational")
    assert agent.history is not None
    await agent.history.flush()
    far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    trans = HistoryReader(agent.history.path).transitions(*far, subject="component", id="portal")
    # The first confirmed status is recorded too: a healthy component has history from its first probe.
    assert [(t.old, t.new) for t in trans] == [
        ("unknown", "operational"),
        ("operational", "major_outage"),
        ("major_outage", "operational"),
    ]
    assert "all 1 targets down" in trans[1].cause


async def test_openmetrics_by_content_negotiation(running) -> None:
    agent, _, base, _ = running
    await wait_for(lambda: agent.scheduler.completed > 0)
    code, ctype, body = await get(base + "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert code == 200 and ctype.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n") and "dialtone_probes_total{" in body


async def test_probe_endpoint_takes_only_configured_ids(running) -> None:
    _, _, base, _ = running
    code, _, body = await get(base + "/probe?target=portal-health")
    assert code == 200 and 'probe_success{target="portal-health"' in body and "probe_http_duration_seconds" in body
    assert (await get(base + "/probe?target=http://169.254.169.254/"))[0] == 404
    assert (await get(base + "/probe"))[0] == 400
    assert (await get(base + "/-/healthy"))[0] == 200 and (await get(base + "/-/ready"))[0] == 200


async def test_reload_with_broken_config_keeps_the_old_one(running) -> None:
    agent, _, base, path = running
    good = path.read_text()
    path.write_text(good + "\nbogus: 1\n")
    async with aiohttp.ClientSession() as s, s.post(base + "/-/reload") as r:
        assert r.status == 400 and "bogus: unknown key" in await r.text()
    assert agent.registry.get_sample_value("dialtone_config_last_reload_successful") == 0
    before = agent.scheduler.completed
    await wait_for(lambda: agent.scheduler.completed > before + 2)  # still probing on the old config
    path.write_text(good.replace("interval: 200ms", "interval: 300ms"))
    async with aiohttp.ClientSession() as s, s.post(base + "/-/reload") as r:
        assert r.status == 200
    assert agent.registry.get_sample_value("dialtone_config_last_reload_successful") == 1
    assert agent.scheduler.jobs[0].interval == 0.3


async def test_port_in_use_is_a_startup_error(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        path = agent_config(tmp_path, port, port)  # listen on the target's own port: taken
        agent = Agent(load_config(path), config_path=path)
        with pytest.raises(StartupError, match=rf"cannot listen on 127.0.0.1:{port}: .*in use"):
            await agent.start()
        await agent.stop()


async def test_promtool_accepts_the_exposition(running, tmp_path: Path) -> None:
    promtool = require_binary("promtool", "prometheus")
    agent, _, base, _ = running
    await wait_for(lambda: agent.scheduler.completed > 1)
    _, _, body = await get(base + "/metrics")
    proc = subprocess.run([promtool, "check", "metrics"], input=body.encode(), capture_output=True, timeout=30)
    # promtool lints names too; only hard errors fail the check (exit 1 with "error" lines)
    problems = [ln for ln in proc.stdout.decode().splitlines() + proc.stderr.decode().splitlines() if ln.strip()]
    assert proc.returncode == 0, problems
