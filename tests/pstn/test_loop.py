"""Loop calls through a real carrier and platform (two Kamailios): the agent calls out and answers itself."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from agent.probes import ProbeContext
from agent.probes.calls import CallCounters, register_call_metrics
from agent.sip.register import register
from agent.sip.resolve import resolve
from agent.sip.ua import Identity, UserAgent
from agent.sip.uri import SipUri
from tests.pstn.conftest import make_probe, run_pstn, target
from tests.pstn.peers import DID, TRUNK_PASSWORD, extension_password
from tests.readings import number

pytestmark = pytest.mark.peer


async def test_loop_call_answered_by_the_agent(pstn_loop, caplog):
    caplog.set_level(logging.DEBUG, logger="agent.sip")
    loop = pstn_loop()
    counters = CallCounters()
    registry = CollectorRegistry()
    register_call_metrics(registry, counters)
    result = await run_pstn(loop.block(max_duration="3s"), counters=counters)
    assert result.ok, (result.error, result.message)
    v = result.values
    assert v["status_code"] == 200 and v["result"] == "answered" and v["answer_leg_invited"] is True
    assert v["hangup_by"] == "caller" and v["q850_cause"] == 16
    assert 0 < number(v["post_dial_delay_seconds"]) <= number(v["answer_seconds"])
    for d in ("a_to_b", "b_to_a"):
        assert number(v[f"rtp_packets_received_{d}"]) > 50
        assert v[f"packet_loss_ratio_{d}"] == 0.0
        assert number(v[f"mos_{d}"]) > 4.3
        assert f"first_audio_seconds_{d}" in v
    assert result.phases["media"] + result.phases["bye"] <= 3.0  # max_duration is never exceeded
    labels = {"route": "carrier-a", "result": "answered"}
    assert registry.get_sample_value("dialtone_call_attempts_total", labels) == 1
    assert registry.get_sample_value("dialtone_call_answered_total", {"route": "carrier-a"}) == 1
    # Both secrets went over the wire as digests only, and the logs never carry them.
    assert "Proxy-Authorization: <redacted>" in caplog.text and "Authorization: <redacted>" in caplog.text
    assert TRUNK_PASSWORD not in caplog.text and extension_password("1001") not in caplog.text
    loop.assert_clean()


async def test_callee_hangs_up_with_a_q850_cause(pstn_loop):
    loop = pstn_loop()
    result = await run_pstn(loop.block(hangup_by="callee"))
    assert result.ok, (result.error, result.message)
    assert result.values["hangup_by"] == "callee"
    assert result.values["q850_cause"] == 16  # from the Reason header of the BYE that crossed both proxies
    loop.assert_clean()


async def test_kamcmd_sees_registrations_and_dialogs(pstn_loop):
    """The cleanup checks read real state: a binding and a live call are visible while they exist."""
    loop = pstn_loop()
    hop = (await resolve(SipUri.parse(loop.platform.uri()), None))[0]
    ua = await UserAgent.connect(hop, Identity("sip:1001@127.0.0.1", "1001", extension_password("1001")))
    try:
        ok = await register(ua, loop.platform.uri(), "sip:1001@127.0.0.1", 60, "kamcmd-check@dialtone", 1)
        assert ok.status == 200
        assert await asyncio.to_thread(loop.platform.registrations) == ["1001"]
        gone = await register(ua, loop.platform.uri(), "sip:1001@127.0.0.1", 0, "kamcmd-check@dialtone", 3)
        assert gone.status == 200
    finally:
        ua.close()
    probe = make_probe(loop.block(duration="3s", max_duration="5s"))
    task = asyncio.ensure_future(probe.probe(target(8.0)))
    seen = ""
    while not task.done() and not seen:
        seen = await asyncio.to_thread(loop.carrier.dialogs)
    assert seen, "the carrier never showed the call's dialog"
    result = await task
    assert result.ok, (result.error, result.message)
    loop.assert_clean()


async def test_calls_on_one_route_never_overlap(pstn_loop):
    loop = pstn_loop({DID: "1001", "+18015550101": "1002"})
    agent = ProbeContext()  # one agent's probes: they share its route locks
    first = make_probe(loop.block(DID, extension="1001"), context=agent)
    second = make_probe(loop.block("+18015550101", extension="1002"), context=agent)
    a, b = await asyncio.gather(first.probe(target(name="a")), second.probe(target(10.0, name="b")))
    assert a.ok and b.ok, (a.error, a.message, b.error, b.message)
    waiter, holder = (a, b) if a.phases["route_wait"] > b.phases["route_wait"] else (b, a)
    holder_end = holder.started_at.timestamp() + holder.duration
    assert waiter.started_at.timestamp() + waiter.phases["route_wait"] >= holder_end - 0.05
    loop.assert_clean()


async def test_a_call_that_waited_most_of_its_budget_for_the_route_is_not_placed(pstn_loop):
    """Issue 16: a call queued behind another on its route is placed only while half its budget is left;
    otherwise it is route_busy and nothing is dialled (a late call is billed, then torn down unjudged)."""
    loop = pstn_loop({DID: "1001", "+18015550101": "1002"})
    agent = ProbeContext()
    holder = make_probe(loop.block(DID, extension="1001", duration="3s"), context=agent)
    waiter = make_probe(loop.block("+18015550101", extension="1002"), context=agent)
    first = asyncio.ensure_future(holder.probe(target(10.0, name="holder")))
    await asyncio.sleep(0.5)  # the holder has the route
    late = await waiter.probe(target(5.0, name="waiter"))  # 5 s budget, 1 s teardown reserve: 4 s to call
    held = await first
    assert held.ok, (held.error, held.message)
    assert late.error == "route_busy" and "too little" in late.message, (late.error, late.message)
    assert late.phases["route_wait"] >= 2.0
    assert "answer_seconds" not in late.values and "status_code" not in late.values
    loop.assert_clean()
