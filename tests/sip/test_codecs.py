"""Codecs against SIPp far ends: an A-law-only answer is taken (values.codec, probe_sip_codec), an answer
with a codec we did not offer is bad_response, and 488/606 is codec_rejected."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prometheus_client import CollectorRegistry

from agent.probes import PROBE_METRICS
from agent.sinks.prometheus import PrometheusSink, TargetMeta
from agent.sip.sdp import build_offer
from agent.voice.session import RtpSession
from tests.peers.base import LOOPBACK
from tests.readings import number
from tests.sip.conftest import run_probe
from tests.sip.sipp import SCENARIOS

pytestmark = pytest.mark.peer


def test_offer_lists_every_codec_in_order_and_telephone_event():
    offer = build_offer("127.0.0.1", 40000).decode()
    assert "m=audio 40000 RTP/AVP 0 8 101\r\n" in offer
    assert "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000" in offer
    assert "m=audio 40000 RTP/AVP 8 0 101\r\n" in build_offer("127.0.0.1", 40000, ["pcma", "pcmu"]).decode()


async def test_a_law_only_far_end_is_taken_by_default(sipp):
    uas = sipp("pcma_only", echo=True)
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.6s", "expect_echo": True})
    assert result.ok, (result.error, result.message)
    assert result.values["codec"] == "pcma" and result.values["codec_pcma"] == 1
    assert number(result.values["rtp_packets_received"]) > 10 and number(result.values["round_trip_seconds"]) > 0
    sink = PrometheusSink("pop1", PROBE_METRICS, CollectorRegistry(), dict, dict)
    sink.set_targets([TargetMeta("t1", "voice", "sip_call", {}, 60.0)])
    sink.on_result(result)
    labels = 'target="t1",component="voice",kind="sip_call",vantage="pop1"'
    assert f'probe_sip_codec{{{labels},codec="pcma"}} 1' in sink.exposition().decode()


async def test_answer_with_a_codec_not_offered_is_bad_response(sipp):
    uas = sipp("pcma_only", echo=True)
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.3s", "codec": "pcmu"})
    assert result.error == "bad_response", result.message
    assert result.message == "the far end answered pcma, not offered (pcmu)"


@pytest.mark.parametrize(("status", "reason"), [(488, "Not Acceptable Here"), (606, "Not Acceptable")])
async def test_488_and_606_are_codec_rejected(sipp, tmp_path, status, reason):
    scenario = tmp_path / f"sipp_{status}_uas.xml"
    text = (SCENARIOS / "sipp_not_acceptable_uas.xml").read_text()
    scenario.write_text(text.replace("488 Not Acceptable Here", f"{status} {reason}"))
    uas = sipp(str(status), scenario_file=scenario)
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.3s"})
    assert result.error == "codec_rejected", result.message
    assert result.values["status_code"] == status
    assert result.message == f"{status} {reason}: none of the codecs offered (pcmu, pcma)"


async def test_use_codec_sends_the_chosen_payload_type():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far:
        far.bind((LOOPBACK, 0))
        far.setblocking(False)
        async with RtpSession(LOOPBACK, codec="pcmu") as rtp:
            rtp.use_codec("pcma")
            rtp.set_remote(LOOPBACK, far.getsockname()[1])
            rtp.start_sending()
            data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(far, 2048), 2)
            rtp.stop_sending()
    assert data[1] & 0x7F == 8  # PCMA
    assert data[-100:] == b"\xd5" * 100  # A-law digital silence (mu-law's is 0xff); the head carries RTT marks
