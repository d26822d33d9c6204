"""The loop call with its legs over TCP and TLS: the answering extension registers over a connection and the
platform delivers the INVITE back over that same connection (as phones behind NAT need); the originating leg
may use TCP to the carrier too. Each peer's own state shows which transport it saw."""

from __future__ import annotations

import asyncio

import pytest

from tests.pstn.conftest import make_probe, run_pstn, target
from tests.readings import number

pytestmark = pytest.mark.peer


@pytest.mark.parametrize(("trunk", "answer"), [("udp", "tcp"), ("tcp", "tcp"), ("tcp", "udp")])
async def test_loop_call_over_tcp(pstn_loop, trunk: str, answer: str) -> None:
    loop = pstn_loop()
    block = loop.block(transport=trunk)
    block["answer"]["transport"] = answer
    task = asyncio.ensure_future(make_probe(block).probe(target()))
    dump = dialog = ""
    while not task.done() and ("AoR:" not in dump or not dialog):  # the peers' own view, during the call
        dump = await asyncio.to_thread(loop.platform.rpc, "ul.dump")
        dialog = (await asyncio.to_thread(loop.carrier.rpc, "dlg.list")).strip()
    result = await task
    sockets = [line.split(":", 1)[1].strip() for line in dump.splitlines() if "Socket:" in line]
    assert sockets and all(s.startswith(f"{answer}:") for s in sockets), dump  # the binding's connection
    assert f"socket: {trunk}:" in dialog, dialog  # the carrier got our INVITE over the trunk's transport
    assert result.ok, (result.error, result.message)
    v = result.values
    assert v["answer_leg_invited"] is True and v["hangup_by"] == "caller"
    for d in ("a_to_b", "b_to_a"):
        assert number(v[f"rtp_packets_received_{d}"]) > 50 and v[f"packet_loss_ratio_{d}"] == 0.0
    loop.assert_clean()


async def test_answering_leg_over_tls_verifies_the_platform(pstn_loop) -> None:
    loop = pstn_loop(tls=True)
    assert loop.platform.tls is not None
    block = loop.block()
    block["answer"].update(registrar=loop.platform.uri(transport="tls"), transport="tls",
                           ca_file=str(loop.platform.tls.cert))  # fmt: skip
    task = asyncio.ensure_future(make_probe(block).probe(target()))
    dump = ""
    while not task.done() and "AoR:" not in dump:
        dump = await asyncio.to_thread(loop.platform.rpc, "ul.dump")
    result = await task
    assert result.ok, (result.error, result.message)
    assert "Socket: tls:" in dump, dump
    assert number(result.values["rtp_packets_received_a_to_b"]) > 50 and result.values["answer_leg_invited"] is True
    loop.assert_clean()


async def test_answering_leg_refuses_an_unverified_platform(pstn_loop) -> None:
    loop = pstn_loop(tls=True)
    block = loop.block()
    block["answer"].update(registrar=loop.platform.uri(transport="tls"), transport="tls")  # system CAs only
    result = await run_pstn(block)
    assert result.error == "tls_failed", (result.error, result.message)
    assert "certificate" in result.message
    loop.assert_clean()
