"""Issue 15 (7) and (8) against the running agent: downtime backdated to the first failed probe, maintenance
in excluded_minutes, 99.99 printed as written, and answered calls without audio (a real SIPp UAS that sends
no RTP) counted against the experienced availability only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.contract.format import render
from agent.core.model import Status
from agent.history.reader import HistoryReader
from agent.runtime.app import Agent
from agent.runtime.config import load_config
from agent.runtime.targets import components_of
from statuspage.config import SiteConfig
from statuspage.site import StatusSite
from tests.core.helpers import http_target
from tests.peers.base import free_port
from tests.readings import number
from tests.sip.sipp import Sipp, start_sipp
from tests.statuspage.browser import dump_dom, serve

pytestmark = pytest.mark.peer

FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def silent_uas(tmp_path: Path) -> Iterator[Sipp]:
    uas = start_sipp("answer", tmp_path / "sipp", echo=False)  # answers every call, sends no RTP
    yield uas
    uas.stop()


def _config(tmp: Path, port: int, listen: int, uas: Sipp) -> Path:
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    path = tmp / "dialtone.yaml"
    path.write_text(f"""
vantage: test
listen: 127.0.0.1:{listen}
thresholds: {{failures: 3, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
maintenance:
  windows:
    - {{id: fix, kind: emergency, reason: power supply, start: "{start}", zone: UTC, duration: 2h,
        components: [racks]}}
components:
  - {{id: core, name: Core, tier: core}}
  - {{id: racks, name: Racks, tier: supporting}}
  - {{id: voice, name: Voice, tier: voice_messaging}}
targets:
  - {{id: core-http, component: core, kind: http, interval: 200ms, timeout: 150ms,
      http: {{url: "http://127.0.0.1:{port}/health", valid_status_codes: [200]}}}}
  - {{id: racks-http, component: racks, kind: http, interval: 200ms, timeout: 150ms,
      http: {{url: "http://127.0.0.1:{port}/health", valid_status_codes: [200]}}}}
  - {{id: voice-call, component: voice, kind: sip_call, interval: 1s, timeout: 900ms,
      sip_call: {{uri: "{uas.uri("100")}", duration: 300ms}}}}
""")
    return path


async def _until(predicate, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_sla_figures_from_the_running_agent(tmp_path: Path, silent_uas: Sipp) -> None:
    status = {"code": 200}
    async with http_target(status) as port:
        path = _config(tmp_path, port, free_port(), silent_uas)
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        try:
            await _until(lambda: agent.state.target_state("core-http").value == "up", 5)
            status["code"] = 503
            await _until(lambda: agent.state.component_status("core") is Status.MAJOR_OUTAGE, 5)
            await _until(lambda: agent.state.target_state("voice-call").value == "down", 15)
            await _until(lambda: agent.state.target_state("racks-http").value == "down", 5)
            await asyncio.sleep(0.5)
            assert agent.history is not None
            await agent.history.flush()
            now = datetime.now(UTC)
            reports = await asyncio.to_thread(agent.month_to_date_reports, now)
            with HistoryReader(agent.history.path) as reader:
                failed = [r for r in reader.results("core-http", *FAR) if not r.ok]
                (down,) = reader.transitions(*FAR, subject="target", id="core-http")[-1:]
                intervals = reader.down_intervals("core", *FAR)
        finally:
            await agent.stop()

    # (7) the transition keeps its confirmation (the third failure) and records the first failure as since;
    # the SLA's downtime starts at the first failure.
    first, third = failed[0].started_at, failed[2].started_at
    assert down.new == "down" and down.at == third.replace(microsecond=third.microsecond // 1000 * 1000)
    assert down.since is not None and abs(down.since - first) < timedelta(milliseconds=1)
    assert abs(intervals[0][0] - first) < timedelta(milliseconds=1)
    core = reports["core"]
    assert core.unavailable_minutes * 60 >= (now - first).total_seconds() - 1.5

    # (7) the window's minutes show as excluded; nothing unavailable.
    racks = reports["racks"]
    assert racks.excluded_minutes.get("maintenance", 0) > 0 and racks.unavailable_minutes == 0
    assert racks.availability == 1.0

    # (7) 99.99 as written
    assert core.target == 0.9999 and core.to_json()["target"] == 0.9999
    assert "| 99.99 % |" in render([core], "markdown", agent.config.sla)

    # (8) no audio on an answered call: the contract counts nothing, experienced availability does.
    voice = reports["voice"]
    assert voice.unavailable_minutes == 0 and voice.availability == 1.0 and voice.credit_days == 0
    assert voice.experienced_availability < 1.0 and voice.experienced_unavailable_minutes > 0
    assert number(voice.to_json()["experienced_availability"]) < 1.0

    # ... and the SLA page shows both, as a browser renders it.
    row = await _sla_page_row(tmp_path, agent, "Voice")
    assert row[2] == "100.000%" and row[3] != "100.000%" and row[3].endswith("%"), row
    assert row[-1] == "0", row  # credit (days), from the contract figure


async def _sla_page_row(tmp: Path, agent: Agent, name: str) -> list[str]:
    """The SLA page's cells for component `name`, from the DOM headless Chromium built."""
    site_config = SiteConfig(out=tmp / "site", languages=["en"], incidents=tmp / "incidents")
    site = StatusSite(
        site_config,
        components_of(agent.config),
        agent.history.path,  # type: ignore[union-attr]
        calendar=agent.calendar,
        sla=agent.sla,
    )
    try:
        await asyncio.to_thread(site.render, datetime.now(UTC))
    finally:
        site.close()
    (page,) = [p for p in (tmp / "site").rglob("sla.html")]
    async with serve(tmp / "site") as base:
        dom = await dump_dom(tmp / "chromium", base + str(page.relative_to(tmp / "site")))
    for tr in re.findall(r"<tr>(.*?)</tr>", dom, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if cells and cells[0] == name:
            return cells
    raise AssertionError(f"no SLA row for {name} in {dom[:2000]}")
