"""End to end: agent -> Prometheus (the shipped rules) -> Alertmanager (the shipped routes) -> a webhook.

Two voice components break at once; voice-b is inside a maintenance window (the agent's maintenance
predicate, as the calendar would set it). voice-a's P1 reaches the pager; voice-b's alerts reach
Alertmanager, are inhibited by DialtoneMaintenanceActive, and notify nobody.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.deploy.helpers import test_alertmanager_config, webhook_receiver
from tests.deploy.stack import Stack, running_stack
from tests.peers.alertmanager import Alertmanager


def in_maintenance(component: str, now: datetime) -> bool:
    return component == "voice-b"


async def _am_until(am: Alertmanager, predicate: Any, what: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    try:
        async with asyncio.timeout(timeout):
            while not predicate(got := await asyncio.to_thread(am.alerts)):
                await asyncio.sleep(0.25)
            return list(got)
    except TimeoutError:
        raise AssertionError(f"Alertmanager never showed {what}") from None


def _find(alerts: list[dict[str, Any]], name: str, component: str) -> dict[str, Any] | None:
    return next((a for a in alerts if a["labels"]["alertname"] == name and a["labels"]["component"] == component), None)


async def _healthy_with_maintenance_known(stack: Stack, am: Alertmanager) -> None:
    await stack.until('component:dialtone_sli_errors:ratio{component="voice-a"} == 0')
    await stack.until('component:dialtone_maintenance:active{component="voice-b"} == 1')
    await _am_until(
        am, lambda got: _find(got, "DialtoneMaintenanceActive", "voice-b"), "the maintenance alert of voice-b"
    )


async def test_outage_pages_and_maintenance_is_inhibited(tmp_path: Path) -> None:
    async with webhook_receiver() as hook:
        am = Alertmanager(tmp_path / "am", test_alertmanager_config(hook.url))
        await asyncio.to_thread(am.start)
        try:
            async with running_stack(
                tmp_path, maintenance=in_maintenance, alertmanager=f"127.0.0.1:{am.port}"
            ) as stack:
                await _healthy_with_maintenance_known(stack, am)
                assert not hook.received, "nothing should notify while every target is up"

                stack.status.update({"voice-a": 503, "voice-b": 503})

                await hook.wait_for(
                    lambda: bool(hook.alerts("pager", alertname="ComponentMajorOutage", component="voice-a")),
                    45,
                    "voice-a's P1 page",
                )
                (page,) = hook.alerts("pager", alertname="ComponentMajorOutage", component="voice-a")
                assert page["labels"]["priority"] == "P1" and page["labels"]["severity"] == "page"
                assert page["annotations"]["runbook_url"].endswith("docs/runbooks/component-outage.md")

                # voice-b's P1 is in Alertmanager, inhibited by its maintenance alert.
                got = await _am_until(
                    am,
                    lambda got: (a := _find(got, "ComponentMajorOutage", "voice-b")) and a["status"]["inhibitedBy"],
                    "voice-b's outage alert, inhibited",
                )
                source = _find(got, "DialtoneMaintenanceActive", "voice-b")
                outage = _find(got, "ComponentMajorOutage", "voice-b")
                assert source and outage and outage["status"]["inhibitedBy"] == [source["fingerprint"]]
                assert outage["status"]["state"] == "suppressed"

                # The maintenance window counts voice-b as good while voice-a burns its budget.
                (sli,) = await stack.query('component:dialtone_sli_errors:ratio{component="voice-b"}')
                assert sli["value"][1] == "0"
                await stack.until('component:dialtone_sli_errors:ratio{component="voice-a"} == 1')

                # A sentinel sent after all that is delivered: voice-b's groups have been flushed, silently.
                await asyncio.to_thread(
                    am.post_alerts,
                    [
                        {
                            "labels": {
                                "alertname": "Sentinel",
                                "component": "portal",
                                "severity": "ticket",
                                "priority": "P3",
                                "scope": "service",
                            },
                        }
                    ],
                )
                await hook.wait_for(lambda: bool(hook.alerts(alertname="Sentinel")), 15, "the sentinel")
                assert hook.alerts(component="voice-b") == [], hook.alerts(component="voice-b")
        finally:
            await asyncio.to_thread(am.stop)
