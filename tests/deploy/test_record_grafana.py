"""Every Grafana panel, annotation and variable query returns data from a running agent with HTTP, sip_call
(SIPp), pstn_call (two Kamailios), SNMP (snmpd) targets, MQTT (Mosquitto) and a trap (snmptrap)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.deploy.record_stack import record_stack
from tests.deploy.test_grafana import DASHBOARDS, GRAFANA, expressions
from tests.deploy.test_record import _window as window
from tests.deploy.test_record import am_alert
from tests.peers.snmpd import snmptrap

pytestmark = pytest.mark.peer

COLD_START = "1.3.6.1.6.3.1.1.5.1"


async def test_every_panel_query_returns_data(tmp_path: Path) -> None:
    async with record_stack(tmp_path, for_="1s") as stack:
        await snmptrap(["-v", "2c", "-c", "dialtone-ro", f"127.0.0.1:{stack.traps}", "", COLD_START])
        # Data everywhere: a PSTN call answered (its counters), a sip_call measured, the windows recorded.
        await stack.until('dialtone_call_answered_total{route="carrier-a"} > 0', 60)
        await stack.until('dialtone_call_answered_total{route="sipp"} > 0', 30)
        await stack.until("component:dialtone_sli_errors:ratio_avg1h", 30)
        # The annotations mark events: a maintenance window (added by reload) and the status change it causes.
        stack.config_path.write_text(stack.config_path.read_text() + window(datetime.now(UTC)))
        assert (await stack.agent.reload())[0]
        await stack.until('changes(component:dialtone_status:code{component="maint"}[2m]) > 0', 10)
        await stack.until("dialtone_sla_availability_ratio", 90)  # computed once a minute at most
        await stack.until('increase(dialtone_call_attempts_total{route="carrier-a"}[1m]) > 0', 60)
        every = [(f"{p.name} {where}", e) for p in DASHBOARDS for where, e in expressions(json.loads(p.read_text()))]
        empty = [f"{where}: {expr}" for where, expr in every if not await stack.query(expr)]
        assert empty == [], "\n".join(empty)

        # The variables list what they name: routes of both call kinds, directions, agents only.
        agent = json.loads((GRAFANA / "dashboards/agent.json").read_text())
        (instance,) = [v for v in agent["templating"]["list"] if v["name"] == "instance"]
        query = instance["query"]["query"].removeprefix("label_values(").removesuffix(", instance)")
        listed = {s["metric"]["instance"] for s in await stack.query(query)}
        assert listed and all(":" in i for i in listed), listed  # host:port of agents, never a target id
        routes = {s["metric"]["route"] for s in await stack.query("dialtone_call_attempts_total")}
        assert {"sipp", "carrier-a"} <= routes
        directions = {s["metric"]["direction"] for s in await stack.query("probe_rtp_jitter_seconds")}
        assert {"a_to_b", "b_to_a"} <= directions
        # The split's partial-outage symptom is inhibited by its burn-rate page. (With every `for:` at 1 s it may
        # notify once before the burn alert exists; shipped, it holds 5m and the burn alert 2m.)
        await stack.until('ALERTS{alertname="ComponentPartialOutage",component="split",alertstate="firing"}', 30)
        partial = None
        for _ in range(40):
            partial = await am_alert(stack, "ComponentPartialOutage", "split")
            if partial is not None and partial["status"]["state"] == "suppressed":
                break
            await asyncio.sleep(0.5)
        assert partial is not None and partial["status"]["state"] == "suppressed", partial
        # Stale targets: 0, not "No data".
        (stale,) = [e for w, e in expressions(agent) if "Stale targets" in w]
        assert {s["value"][1] for s in await stack.query(stale)} == {"0"}
