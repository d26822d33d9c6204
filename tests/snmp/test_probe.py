"""The snmp probe against a real net-snmp agent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agent.snmp import events as ev
from tests.peers.base import free_port_both
from tests.snmp.conftest import ACTIVE_CALLS, CALLS_TOTAL, IF_IN_ERRORS, IF_OPER_STATUS, Agent, start_agent, target


def v2c(agent: Agent, **more: object) -> dict[str, object]:
    return {"address": agent.snmpd.address, "community": agent.snmpd.users.community, **more}


def v3(agent: Agent, **more: object) -> dict[str, object]:
    u = agent.snmpd.users
    return {
        "address": agent.snmpd.address,
        "version": "3",
        "user": u.v3_user,
        "auth_key": u.auth_key,
        "priv_key": u.priv_key,
        **more,
    }


async def test_v2c_poll_reads_uptime_interface_and_storage(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v2c(agent, interfaces=["lo"], storage=["Physical memory"]))
    result = await probe.probe(target())
    assert result.ok, result.message
    assert result.error == "" and not result.degraded
    assert result.values["snmp.sys_uptime_seconds"] >= 0
    assert result.values["reboot"] is False and result.values["reboots_total"] == 0
    assert result.values["snmp.if.lo.admin_status"] == 1
    assert result.values["snmp.if.lo.oper_status"] == 1
    assert 0 < result.values["snmp.storage.Physical memory.used_ratio"] <= 1
    assert result.values["snmp.storage.Physical memory.size_bytes"] > 0
    assert result.to_json()["values"]["snmp.if.lo.oper_status"] == 1


async def test_v3_auth_priv_sha256_aes(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v3(agent, auth_protocol="SHA-256", priv_protocol="AES"))
    result = await probe.probe(target())
    assert result.ok, result.message
    assert result.values["snmp.sys_uptime_seconds"] >= 0


async def test_v3_auth_no_priv_sha512_and_no_auth(agent: Agent, make_probe) -> None:
    u = agent.snmpd.users
    auth_only, _ = make_probe(
        address=agent.snmpd.address,
        version="3",
        user=u.authonly_user,
        security_level="authNoPriv",
        auth_protocol="SHA-512",
        auth_key=u.auth_key,
    )
    plain, _ = make_probe(address=agent.snmpd.address, version="3", user=u.noauth_user, security_level="noAuthNoPriv")
    for probe in (auth_only, plain):
        result = await probe.probe(target())
        assert result.ok, result.message


async def test_wrong_v3_auth_key_is_auth_failed(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v3(agent, auth_key="not-the-right-key"))
    result = await probe.probe(target())
    assert not result.ok
    assert result.error == "auth_failed"
    assert "digest" in result.message.lower()
    assert agent.snmpd.users.auth_key not in result.message


async def test_unknown_v3_user_is_auth_failed(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v3(agent, user="nobody"))
    result = await probe.probe(target())
    assert (result.ok, result.error) == (False, "auth_failed")
    assert "user" in result.message.lower()


async def test_wrong_community_is_a_timeout_that_names_the_community(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(address=agent.snmpd.address, community="wrong-community")
    result = await probe.probe(target(timeout=1.0))
    assert (result.ok, result.error) == (False, "timeout")
    assert "community" in result.message
    assert "wrong-community" not in result.message


async def test_unreachable_agent_times_out_within_the_deadline(make_probe) -> None:
    port = free_port_both()  # nothing listens here
    probe, _ = make_probe(address=f"127.0.0.1:{port}", community="public", retries=2)
    t0 = time.monotonic()
    result = await asyncio.wait_for(probe.probe(target(timeout=1.0)), timeout=5)
    elapsed = time.monotonic() - t0
    assert (result.ok, result.error) == (False, "timeout")
    assert elapsed < 1.0 + 0.6, f"took {elapsed:.2f}s for a 1s deadline"


async def test_counter_wrap_gives_a_positive_rate(agent: Agent, make_probe) -> None:
    agent.set(IF_IN_ERRORS, 2**32 - 6)
    probe, _ = make_probe(**v2c(agent, interfaces=["lo"]))
    first = await probe.probe(target())
    assert first.ok, first.message
    assert "snmp.if.lo.in_errors_per_second" not in first.values  # a rate needs two samples
    t_first = time.monotonic()
    await asyncio.sleep(0.3)
    agent.set(IF_IN_ERRORS, 5)  # wrapped past 2**32: 11 errors, not minus four billion
    t_second = time.monotonic()
    second = await probe.probe(target())
    assert second.ok, second.message
    rate = second.values["snmp.if.lo.in_errors_per_second"]
    assert rate > 0
    lo, hi = 11 / (t_second - t_first + 0.5), 11 / (t_second - t_first - 0.05)
    assert lo < rate < hi


async def test_check_on_any_oid_warn_then_crit_then_clear(agent: Agent, make_probe) -> None:
    check = {"name": "active_calls", "oid": ACTIVE_CALLS + ".1", "warn": 400, "crit": 480}
    probe, events = make_probe(**v2c(agent, checks=[check]))
    try:
        agent.set(ACTIVE_CALLS, 450)
        warn = await probe.probe(target())
        assert warn.ok and warn.degraded and warn.values["snmp.active_calls"] == 450
        assert "active_calls" in warn.message
        agent.set(ACTIVE_CALLS, 500)
        crit = await probe.probe(target())
        assert (crit.ok, crit.error) == (False, "threshold_crit")
        assert crit.values["snmp.active_calls"] == 500
        agent.set(ACTIVE_CALLS, 10)
        clear = await probe.probe(target())
        assert clear.ok and not clear.degraded
    finally:
        agent.set(ACTIVE_CALLS, 120)
    levels = [e.data["level"] for e in events if e.kind == ev.THRESHOLD]
    assert levels == ["warn", "crit", "ok"]


async def test_rate_check_on_a_counter_oid(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(
        **v2c(agent, checks=[{"name": "calls_per_second", "oid": CALLS_TOTAL + ".1", "rate": True, "crit": 1e9}])
    )
    agent.set(CALLS_TOTAL, 1000)
    first = await probe.probe(target())
    assert first.ok and "snmp.calls_per_second" not in first.values
    agent.set(CALLS_TOTAL, 1300)
    second = await probe.probe(target())
    assert second.ok and second.values["snmp.calls_per_second"] > 0


async def test_missing_oid_is_no_such_object(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v2c(agent, checks=[{"name": "ghost", "oid": "1.3.6.1.4.1.99999.42.0"}]))
    result = await probe.probe(target())
    assert (result.ok, result.error) == (False, "no_such_object")
    assert "1.3.6.1.4.1.99999.42.0" in result.message


async def test_unknown_interface_is_no_such_object(agent: Agent, make_probe) -> None:
    probe, _ = make_probe(**v2c(agent, interfaces=["nosuch9"]))
    result = await probe.probe(target())
    assert (result.ok, result.error) == (False, "no_such_object")
    assert "nosuch9" in result.message


async def test_oper_down_while_admin_up_is_interface_down(agent: Agent, make_probe) -> None:
    probe, events = make_probe(**v2c(agent, interfaces=["lo"]))
    try:
        assert (await probe.probe(target())).ok
        agent.set(IF_OPER_STATUS, 2)
        down = await probe.probe(target())
        assert (down.ok, down.error) == (False, "interface_down")
        assert "lo" in down.message and down.values["snmp.if.lo.oper_status"] == 2
    finally:
        agent.set(IF_OPER_STATUS, 1)
    assert [e.kind for e in events] == [ev.LINK_DOWN]
    assert events[0].data["interface"] == "lo"


async def test_reboot_detected_when_snmpd_restarts(tmp_path: Path, make_probe) -> None:
    own = start_agent(tmp_path)
    try:
        probe, events = make_probe(**v2c(own))
        await asyncio.sleep(1.2)  # let the uptime grow past what a fresh start will show
        before = await probe.probe(target())
        assert before.ok and before.values["reboot"] is False
        own.snmpd.stop()
        own.snmpd.start()  # same port, same config: a reboot as a poller sees it
        after = await probe.probe(target())
        assert after.ok, after.message
        assert after.values["reboot"] is True and after.values["reboots_total"] == 1
        assert after.values["snmp.sys_uptime_seconds"] < before.values["snmp.sys_uptime_seconds"]
        again = await probe.probe(target())
        assert again.values["reboot"] is False and again.values["reboots_total"] == 1
    finally:
        own.snmpd.stop()
    assert [e.kind for e in events] == [ev.REBOOT]
    assert events[0].target == "sbc1"
