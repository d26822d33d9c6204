"""The end-to-end test of record (issue 15): the real agent's /metrics, a real Prometheus loading the shipped
rules UNCHANGED (their real `for:`), the shipped Alertmanager config (timers shortened, routes and
inhibitions as shipped) and a real webhook receiver.

One run of about four minutes drives, from agent data only:
- ErrorBudgetBurnFast/Medium (pages) and Slow/Gradual (tickets) from a standing partial outage (split: one
  of two core targets down). A fresh Prometheus averages each window over the data it has, so the burn
  shows within the `for: 2m`; the window edge cases stay in the promtool unit tests.
- ComponentMajorOutage for one sustained outage of core: exactly one page, none after recovery.
- SupportingServiceDown as a P2 page; SnmpDeviceDown; VoiceAllSipTargetsFailing; DialtoneAgentDown for
  the dialtone-agents job's dead agent.
- A reload adding an emergency window masks `maint` within one evaluation; its outage then fires in
  Prometheus and is inhibited by DialtoneMaintenanceActive in Alertmanager: nobody is paged.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.record_stack import RecordStack, record_stack

pytestmark = pytest.mark.peer


def _window(now: datetime) -> str:
    start = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"""maintenance:
  windows:
    - {{id: fix, kind: emergency, reason: failing fan, start: "{start}", zone: UTC, duration: 1h,
        components: [maint]}}
"""


def _names(stack: RecordStack, receiver: str, component: str) -> list[str]:
    return [
        a["labels"]["alertname"]
        for r, a in stack.hook.received
        if r == receiver and a["labels"].get("component") == component and a["status"] == "firing"
    ]


async def am_alert(stack: RecordStack, name: str, component: str) -> dict[str, Any] | None:
    got = await asyncio.to_thread(stack.alertmanager.alerts)
    return next(
        (a for a in got if a["labels"]["alertname"] == name and a["labels"].get("component") == component), None
    )


async def test_every_alert_from_agent_data(tmp_path: Path) -> None:
    async with record_stack(tmp_path) as stack:
        hook = stack.hook
        await stack.until('component:dialtone_sli_errors:ratio{component="core"} == 0')
        t0 = time.monotonic()
        stack.status.update({"core-a": 503, "portal-a": 503})

        await hook.wait_for(lambda: "ComponentMajorOutage" in _names(stack, "pager", "core"), 90, "core's P1")
        await hook.wait_for(lambda: "SupportingServiceDown" in _names(stack, "pager", "portal"), 30, "portal's P2")
        (portal,) = hook.alerts("pager", alertname="SupportingServiceDown", component="portal")
        assert portal["labels"]["priority"] == "P2"
        await asyncio.sleep(20)  # the outage goes on: still one page
        stack.status.update({"core-a": 200, "portal-a": 200})
        await stack.until('component:dialtone_targets_down:all{component="core"} == 0')

        # A reload adds an emergency window over maint: masked within one evaluation (1 s) of the next scrape.
        stack.config_path.write_text(stack.config_path.read_text() + _window(datetime.now(UTC)))
        ok, errors = await stack.agent.reload()
        assert ok, errors
        reloaded = time.monotonic()
        await stack.until('component:dialtone_maintenance:active{component="maint"} == 1', timeout=5)
        assert time.monotonic() - reloaded < 3.5  # one scrape (1 s) + one evaluation (1 s), with slack
        stack.status["maint-a"] = 503
        await stack.until('ALERTS{alertname="ComponentMajorOutage",component="maint",alertstate="firing"}', 90)

        # Standing conditions page once their `for:` has passed (burn 2m, agent down 3m from the start).
        for name, component, receiver in [
            ("ErrorBudgetBurnFast", "split", "pager"),
            ("ErrorBudgetBurnMedium", "split", "pager"),
            ("ErrorBudgetBurnSlow", "split", "tickets"),
            ("ErrorBudgetBurnGradual", "split", "tickets"),
            ("SnmpDeviceDown", "sbcs", "pager"),
            ("VoiceAllSipTargetsFailing", "voice", "pager"),
            ("DialtoneAgentDown", "dialtone", "pager"),
        ]:
            await hook.wait_for(
                lambda n=name, c=component, r=receiver: n in _names(stack, r, c),  # type: ignore[misc]
                max(10.0, 240 - (time.monotonic() - t0)),
                f"{name} of {component} at {receiver}",
            )
        await asyncio.sleep(5)

        # One sustained outage, one page, and nothing for core after recovery (its burn alerts stayed quiet).
        assert _names(stack, "pager", "core") == ["ComponentMajorOutage"], hook.received
        assert await stack.query('ALERTS{component="core",alertname=~"ErrorBudgetBurn(Fast|Medium)"}') == []
        # maint's outage is in Alertmanager, inhibited by the maintenance alert; nobody was told.
        outage = await am_alert(stack, "ComponentMajorOutage", "maint")
        source = await am_alert(stack, "DialtoneMaintenanceActive", "maint")
        assert outage and source and outage["status"]["inhibitedBy"] == [source["fingerprint"]]
        assert [a for _, a in hook.received if a["labels"].get("component") == "maint"] == []
        # The /probe job's series never entered the SLI: split counts its two targets once each.
        (sli,) = await stack.query('component:dialtone_sli_errors:ratio{component="split"}')
        assert sli["value"][1] == "0.5"
