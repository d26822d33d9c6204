"""sip_call against SIPp UAS scenarios: answered with RTP echo, pcap audio, busy, no answer, no audio."""

from __future__ import annotations

import asyncio

import pytest

from tests.readings import number
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_answered_call_with_echo_measures_media(sipp, transport):
    uas = sipp("answer", transport=transport, echo=True, extra=("-m", "1"))
    block = {"uri": uas.uri("100"), "transport": transport, "duration": "1s", "expect_echo": True}
    result = await run_probe("sip_call", block, timeout=4.0)
    assert result.ok, (result.error, result.message)
    v = result.values
    assert v["status_code"] == 200
    # SIPp rings for 200 ms before answering: 180 comes first, the 200 after it.
    assert 0 <= number(v["post_dial_delay_seconds"]) < number(v["answer_seconds"])
    assert number(v["answer_seconds"]) >= 0.2
    assert number(v["rtp_packets_sent"]) >= 25  # 1 s at 20 ms, allowing a slow start
    assert number(v["rtp_packets_received"]) >= 0.8 * number(v["rtp_packets_sent"])
    assert 0 <= number(v["packet_loss_ratio"]) < 0.2
    assert number(v["jitter_seconds"]) >= 0
    assert number(v["round_trip_seconds"]) > 0
    assert 1.0 <= number(v["mos"]) <= 4.5
    assert {"invite", "media", "bye"} <= set(result.phases)
    assert uas.process.wait(5) == 0, uas.process.log()  # SIPp's scenario completed: ACK and BYE came
    for key in ("status_code", "post_dial_delay_seconds", "answer_seconds", "rtp_packets_sent",
                "rtp_packets_received", "packet_loss_ratio", "jitter_seconds", "mos"):  # fmt: skip
        assert key in v


async def test_pcma_call_with_pcap_audio(sipp):
    uas = sipp("answer_pcap", echo=True)
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "codec": "pcma", "duration": "1s"}, timeout=4.0)
    assert result.ok, (result.error, result.message)
    assert number(result.values["rtp_packets_received"]) > 0


async def test_busy_is_error_response_486(sipp):
    uas = sipp("busy", extra=("-m", "1"))
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.5s"})
    assert result.error == "error_response"
    assert result.values["status_code"] == 486
    assert "486 Busy Here" in result.message
    assert "post_dial_delay_seconds" not in result.values  # it never rang
    assert uas.process.wait(5) == 0, uas.process.log()  # the 486 was ACKed


async def test_ringing_forever_is_cancelled(sipp):
    uas = sipp("ring_forever", extra=("-m", "1"))
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.5s", "answer_timeout": "0.6s"})
    assert result.error == "timeout"
    assert "cancelled" in result.message
    # The UAS answered our CANCEL by terminating the INVITE: the final status is the 487.
    assert result.values["status_code"] == 487
    assert number(result.values["post_dial_delay_seconds"]) >= 0
    assert uas.process.wait(5) == 0, uas.process.log()  # CANCEL, 487 and its ACK all happened


async def test_answered_without_rtp_is_no_audio(sipp):
    uas = sipp("answer", echo=False)
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.6s"}, timeout=3.0)
    assert result.error == "no_audio", result.message
    assert result.values["status_code"] == 200
    assert number(result.values["rtp_packets_sent"]) > 0
    assert result.values["rtp_packets_received"] == 0


async def test_audio_from_far_end_without_echo_is_one_way(sipp):
    # The far end plays its pcap but does not echo ours: with expect_echo that is one-way audio.
    uas = sipp("answer_pcap", echo=False)
    block = {"uri": uas.uri("100"), "codec": "pcma", "duration": "1s", "expect_echo": True}
    result = await run_probe("sip_call", block, timeout=4.0)
    assert result.error == "one_way_audio", result.message
    assert number(result.values["rtp_packets_received"]) > 0


async def test_far_end_hangup_is_answered_and_reported(sipp):
    # The far end sends an in-dialog OPTIONS and then BYE; SIPp (-m 1) exits 0 only if both got our 200.
    uas = sipp("hangup", echo=True, extra=("-m", "1"))
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "3s"}, timeout=5.0)
    assert result.error == "call_dropped", result.message
    assert result.phases["media"] < 3.0  # the call ended when the BYE came, not at the planned 3 s
    assert "bye" not in result.phases  # we did not send a BYE of our own
    assert uas.process.wait(5) == 0, uas.process.log()


async def test_short_deadline_cancels_in_time_and_leaves_nothing_running(sipp):
    uas = sipp("ring_forever")
    # No answer_timeout: the timeout leaves no room for 2 s of media, so the ringing call is CANCELled.
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "2s"}, timeout=1.0)
    assert result.error == "timeout"
    assert "cancelled" in result.message
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert pending == []
