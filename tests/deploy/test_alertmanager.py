"""deploy/alertmanager: amtool checks, routing, inhibition against a real Alertmanager, and the mute windows."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig
from tests.deploy.helpers import DEPLOY, run, test_alertmanager_config, webhook_receiver
from tests.peers.alertmanager import Alertmanager, amtool

CONFIG = DEPLOY / "alertmanager/alertmanager.yml"


def test_amtool_check_config() -> None:
    got = run([amtool(), "check-config", str(CONFIG)])
    assert got.returncode == 0, got.stdout + got.stderr
    assert "4 inhibit rules" in got.stdout


def test_amtool_refuses_a_broken_copy(tmp_path: Path) -> None:
    """The check above can fail: an unknown time zone in the windows is refused."""
    bad = tmp_path / "am.yml"
    bad.write_text(CONFIG.read_text().replace("America/Denver", "America/Nowhere"))
    assert run([amtool(), "check-config", str(bad)]).returncode != 0


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"priority": "P1", "severity": "page", "scope": "service", "component": "voice"}, "pager"),
        ({"priority": "P2", "severity": "page", "scope": "service", "component": "voice"}, "pager"),
        ({"priority": "P3", "severity": "ticket", "scope": "service", "component": "voice"}, "tickets"),
        ({"priority": "P2", "severity": "page", "scope": "agent", "component": "dialtone"}, "pager"),
        ({"priority": "P3", "severity": "ticket", "scope": "agent", "component": "dialtone"}, "tickets"),
        ({"severity": "info", "scope": "service", "component": "voice"}, "blackhole"),
        ({"alertname": "SomethingElse"}, "ops"),
    ],
)
def test_routes(labels: dict[str, str], receiver: str) -> None:
    got = run(
        [
            amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            f"--verify.receivers={receiver}",
            *(f"{k}={v}" for k, v in labels.items()),
        ]
    )
    assert got.returncode == 0, got.stdout + got.stderr


def _alert(name: str, component: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "component": component, **labels},
        "annotations": {"summary": f"{name} {component}"},
        "startsAt": datetime.now(UTC).isoformat(),
        "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }


PAGE_P1 = {"severity": "page", "priority": "P1", "scope": "service"}
PAGE_P2 = {"severity": "page", "priority": "P2", "scope": "service"}
TICKET_P3 = {"severity": "ticket", "priority": "P3", "scope": "service"}
ALERTS = [
    _alert("ComponentMajorOutage", "voice", **PAGE_P1),
    _alert("VoiceSomeSipTargetsFailing", "voice", **PAGE_P2),  # inhibited by the P1 of voice
    _alert("CertificateExpiresSoon", "voice", **TICKET_P3),  # a P1 inhibits P2s only
    _alert("ComponentPartialOutage", "portal", **PAGE_P2),  # no P1 for portal
    _alert("DialtoneMaintenanceActive", "sbcs", severity="info", scope="service"),
    _alert("ComponentMajorOutage", "sbcs", **PAGE_P1),  # inhibited by maintenance
    _alert("SnmpDeviceDown", "sbcs", **PAGE_P2),  # inhibited by maintenance
    _alert("SnmpDeviceRebooted", "sbcs", **TICKET_P3),  # inhibited by maintenance
    _alert("DialtoneProbesStale", "sbcs", severity="page", priority="P2", scope="agent"),  # agent: never
]
INHIBITED = {
    ("VoiceSomeSipTargetsFailing", "voice"): ("ComponentMajorOutage", "voice"),
    ("ComponentMajorOutage", "sbcs"): ("DialtoneMaintenanceActive", "sbcs"),
    ("SnmpDeviceDown", "sbcs"): ("DialtoneMaintenanceActive", "sbcs"),
    ("SnmpDeviceRebooted", "sbcs"): ("DialtoneMaintenanceActive", "sbcs"),
}
DELIVERED = {
    ("ComponentMajorOutage", "voice"): "pager",
    ("CertificateExpiresSoon", "voice"): "tickets",
    ("ComponentPartialOutage", "portal"): "pager",
    ("DialtoneProbesStale", "sbcs"): "pager",
}


def _key(alert: dict[str, Any]) -> tuple[str, str]:
    return alert["labels"]["alertname"], alert["labels"]["component"]


async def test_inhibition_and_routing_on_a_real_alertmanager(tmp_path: Path) -> None:
    async with webhook_receiver() as hook:
        # As in production, where group_wait (10 s and more) lets the sources arrive before a group is
        # flushed, the sources go first and the groups wait a second: with both in one batch and no wait,
        # a target's group can be flushed before Alertmanager has stored the source.
        am = Alertmanager(tmp_path, test_alertmanager_config(hook.url, group_wait="1s"))
        await asyncio.to_thread(am.start)
        try:
            sources = [a for a in ALERTS if _key(a) in set(INHIBITED.values())]
            await asyncio.to_thread(am.post_alerts, sources)
            async with asyncio.timeout(15):
                while len(await asyncio.to_thread(am.alerts)) < len(sources):
                    await asyncio.sleep(0.05)
            await asyncio.to_thread(am.post_alerts, [a for a in ALERTS if a not in sources])

            def settled() -> list[dict[str, Any]] | None:
                got = am.alerts()
                inhibited = {_key(a) for a in got if a["status"]["inhibitedBy"]}
                return got if len(got) == len(ALERTS) and inhibited == set(INHIBITED) else None

            got = None
            async with asyncio.timeout(15):
                while not (got := await asyncio.to_thread(settled)):
                    await asyncio.sleep(0.1)
            fingerprint = {_key(a): a["fingerprint"] for a in got}
            for a in got:
                source = INHIBITED.get(_key(a))
                if source is None:
                    assert a["status"]["state"] == "active" and not a["status"]["inhibitedBy"], a
                else:
                    assert a["status"]["state"] == "suppressed", a
                    assert a["status"]["inhibitedBy"] == [fingerprint[source]], a

            await hook.wait_for(
                lambda: {_key(a) for _, a in hook.received} >= set(DELIVERED), 15, "the uninhibited alerts"
            )
            # A sentinel posted after those notifications and delivered too: the inhibited groups, created
            # with the others and flushed at once (group_wait 0s), have had their turn.
            await asyncio.to_thread(am.post_alerts, [_alert("Sentinel", "portal", **TICKET_P3)])
            await hook.wait_for(lambda: bool(hook.alerts(alertname="Sentinel")), 15, "the sentinel")
            for receiver, alert in hook.received:
                key = _key(alert)
                assert key not in INHIBITED, f"{key} was inhibited yet notified"
                assert key[0] == "Sentinel" or DELIVERED[key] == receiver, (key, receiver)
            assert not hook.alerts(alertname="DialtoneMaintenanceActive")  # info goes to the blackhole
        finally:
            await asyncio.to_thread(am.stop)


# --- the standard-window mute, evaluated as Alertmanager does, against the agent's own calendar ------------

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _matches(interval: dict[str, Any], at: datetime) -> bool:
    """Alertmanager's TimeInterval.ContainsTime for the fields these windows use (ranges inclusive,
    end_time exclusive)."""
    assert set(interval) <= {"weekdays", "days_of_month", "times", "location"}, interval
    local = at.astimezone(ZoneInfo(interval.get("location", "UTC")))
    if "weekdays" in interval and _WEEKDAYS[local.weekday()] not in interval["weekdays"]:
        return False
    if "days_of_month" in interval:
        ranges = [tuple(int(x) for x in (r.split(":") if ":" in r else (r, r))) for r in interval["days_of_month"]]
        if not any(lo <= local.day <= hi for lo, hi in ranges):
            return False
    minute = local.hour * 60 + local.minute
    return "times" not in interval or any(
        _minutes(t["start_time"]) <= minute < _minutes(t["end_time"]) for t in interval["times"]
    )


@functools.cache
def _window() -> list[dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text())
    (window,) = [t for t in config["time_intervals"] if t["name"] == "standard-maintenance"]
    return list(window["time_intervals"])


def _muted(at: datetime) -> bool:
    return any(_matches(i, at) for i in _window())


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        ("2026-03-20 22:00", True),  # third Friday of March 2026, the window opens
        ("2026-03-20 21:59", False),
        ("2026-03-21 03:59", True),  # the Saturday after, still inside
        ("2026-03-21 04:00", False),  # closed
        ("2026-03-13 23:00", False),  # second Friday
        ("2026-03-27 23:00", False),  # fourth Friday
        ("2026-05-15 22:30", True),  # third Friday is the 15th, the earliest it can be
        ("2025-11-21 23:30", True),  # ... the 21st, the latest
        ("2025-11-22 01:00", True),  # and its Saturday the 22nd
        ("2026-05-16 01:00", True),
        ("2026-05-23 01:00", False),  # a Saturday the 23rd follows a fourth Friday
    ],
)
def test_standard_window_on_known_instants(local: str, inside: bool) -> None:
    at = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("America/Denver"))
    assert _muted(at) is inside


def test_standard_window_matches_the_agents_calendar_for_two_years() -> None:
    """Every 15 minutes of 2026 and 2027 (DST changes included), the mute agrees with agent.maintenance.calendar."""
    calendar = MaintenanceCalendar(MaintenanceConfig(certificate_upload=False))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    disagree = []
    while at < datetime(2028, 1, 1, tzinfo=UTC):
        if _muted(at) != calendar.active("voice", at):
            disagree.append(at)
        at += timedelta(minutes=15)
    assert not disagree, disagree[:5]
