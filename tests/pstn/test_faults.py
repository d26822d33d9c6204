"""Faults on the PSTN loop, each injected by a real peer: RTP loss in the relay (like an SBC's media path),
carrier rejections, a DID routed to the wrong extension, a call nobody answers, an agent shutting down."""

from __future__ import annotations

import asyncio

import pytest

from agent.probes.calls import CallCounters
from agent.voice.mos import mos
from agent.voice.tones import tone_frames
from tests.peers.pcap import write_rtp_pcap
from tests.pstn.conftest import make_probe, run_pstn, target
from tests.pstn.peers import DID, start_ringing_phone
from tests.readings import number
from tests.sip.sipp import SCENARIOS
from tests.voice.relay import Impairment, ImpairmentRelay

pytestmark = pytest.mark.peer

LOSS_TOLERANCE = 0.03
"""Measured loss vs injected share: 1.5 s of media is ~75 packets a way, so one packet is 1.3 %."""
MOS_TOLERANCE = 0.15


async def _relayed_call(pstn_loop, a_to_b: Impairment, b_to_a: Impairment, **kw):
    relay = await ImpairmentRelay(a_to_b, b_to_a).start()
    try:
        loop = pstn_loop(relay=(relay.port_a, relay.port_b))
        result = await run_pstn(loop.block(**kw))
        loop.assert_clean()
        return result
    finally:
        await relay.close()


async def test_loss_in_one_direction_is_measured(pstn_loop):
    result = await _relayed_call(pstn_loop, Impairment(drop_ratio=0.10), Impairment(), duration="2s")
    assert result.ok, (result.error, result.message)  # 10 % loss: tokens still pass (RFC 4733 redundancy)
    v = result.values
    assert v["packet_loss_ratio_a_to_b"] == pytest.approx(0.10, abs=LOSS_TOLERANCE)
    assert v["packet_loss_ratio_b_to_a"] == 0.0
    assert v["mos_a_to_b"] == pytest.approx(mos(0.10, 0.0), abs=MOS_TOLERANCE)
    assert v["mos_b_to_a"] > 4.3


async def test_all_audio_dropped_one_way_is_one_way_audio(pstn_loop):
    result = await _relayed_call(pstn_loop, Impairment(), Impairment(drop_all=True))
    assert result.error == "one_way_audio", result.message
    assert result.values["rtp_packets_received_b_to_a"] == 0
    assert result.values["rtp_packets_received_a_to_b"] > 50


async def test_all_audio_dropped_both_ways_is_no_audio(pstn_loop):
    result = await _relayed_call(pstn_loop, Impairment(drop_all=True), Impairment(drop_all=True))
    assert result.error == "no_audio", result.message


@pytest.mark.parametrize(
    ("number", "error", "status", "cause"),
    [
        ("+18015550404", "not_found", 404, 1),
        ("+18015550486", "busy", 486, 17),
        ("+18015550503", "unavailable", 503, 34),
    ],
)
async def test_carrier_rejections_have_their_class(pstn_loop, number, error, status, cause):
    loop = pstn_loop()
    counters = CallCounters()
    result = await run_pstn(loop.block(number), counters=counters)
    assert (result.error, result.values["status_code"], result.values["q850_cause"]) == (error, status, cause)
    assert counters.attempts == {("carrier-a", error): 1} and counters.answered == {"carrier-a": 0}
    assert result.values.get("retry_after") == (30 if status == 503 else None)
    loop.assert_clean()


async def test_did_routed_to_the_wrong_extension(pstn_loop, sipp):
    voicemail = sipp("answer", echo=True)  # 1002 is not registered: the platform sends the call to voicemail
    loop = pstn_loop({DID: "1002"}, voicemail_port=voicemail.port)
    result = await run_pstn(loop.block())
    assert result.error == "wrong_destination", result.message
    assert result.values["status_code"] == 200 and result.values["answer_leg_invited"] is False
    loop.assert_clean()


async def test_unanswered_call_is_cancelled_within_the_deadline(pstn_loop, tmp_path):
    ringing = start_ringing_phone(tmp_path / "phone")  # 1003 is not registered: voicemail rings forever
    loop = pstn_loop({DID: "1003"}, voicemail_port=ringing.port)
    result = await run_pstn(loop.block(answer_timeout="1s"), timeout=4.0)
    assert result.error == "no_answer", result.message
    assert result.values["status_code"] == 487 and result.values["result"] == "no_answer"
    assert result.duration < 4.0
    try:
        assert ringing.process.wait(5) == 0, ringing.process.log()  # the phone got the CANCEL, 487 was ACKed
    finally:
        ringing.stop()
    loop.assert_clean()


async def test_external_echo_returns_our_token(pstn_loop, sipp):
    echo = sipp("answer", echo=True)
    loop = pstn_loop({DID: "1009"}, voicemail_port=echo.port)
    result = await run_pstn(loop.block(answer=False, expect="echo"))
    assert result.ok, (result.error, result.message)
    assert number(result.values["round_trip_seconds"]) > 0
    assert "mos_b_to_a" in result.values
    loop.assert_clean()


def _playing(sipp, tmp_path, frames, payload_type: int):
    """A SIPp answer point that plays `frames` (a pcap we write) after the ACK, like a carrier's test line."""
    pcap = tmp_path / "line.pcap"
    write_rtp_pcap(pcap, frames, payload_type)
    template = (SCENARIOS / "sipp_answer_pcap_uas.xml").read_text()
    scenario = tmp_path / "sipp_tone_line_uas.xml"
    scenario.write_text(template.replace("/usr/share/sip-tester/g711a.pcap", str(pcap)))
    return sipp("tone_line", scenario_file=scenario)


async def test_external_tone_line_plays_its_tone(pstn_loop, sipp, tmp_path):
    tone = tone_frames(1004.0, "pcmu")
    line = _playing(sipp, tmp_path, (next(tone) for _ in range(150)), payload_type=0)  # 3 s of milliwatt
    loop = pstn_loop({DID: "1009"}, voicemail_port=line.port)
    result = await run_pstn(loop.block(answer=False, expect="tone", duration="2s"))
    assert result.ok, (result.error, result.message)
    assert number(result.values["tone_seconds_b_to_a"]) >= 1.0  # most of the 2 s of media, after cut-through
    loop.assert_clean()


async def test_external_line_playing_speech_is_not_the_tone(pstn_loop, sipp):
    speech = sipp("answer_pcap")  # SIPp's own G.711 A-law recording: audio, but no 1004 Hz tone
    loop = pstn_loop({DID: "1009"}, voicemail_port=speech.port)
    result = await run_pstn(loop.block(answer=False, expect="tone", duration="2s"))
    assert result.error == "wrong_destination", (result.error, result.message)
    assert "no steady 1004 Hz tone" in result.message
    assert number(result.values["rtp_packets_received_b_to_a"]) > 20
    assert number(result.values["tone_seconds_b_to_a"]) < 0.2
    loop.assert_clean()


async def test_external_tone_line_of_another_frequency_is_refused(pstn_loop, sipp, tmp_path):
    tone = tone_frames(2600.0, "pcmu")
    line = _playing(sipp, tmp_path, (next(tone) for _ in range(150)), payload_type=0)
    loop = pstn_loop({DID: "1009"}, voicemail_port=line.port)
    result = await run_pstn(loop.block(answer=False, expect="tone", duration="2s"))
    assert result.error == "wrong_destination", (result.error, result.message)
    # and the same line passes when the probe is told its real frequency
    result = await run_pstn(loop.block(answer=False, expect="tone", tone_hz=2600, duration="2s"))
    assert result.ok, (result.error, result.message)
    loop.assert_clean()


async def test_external_answer_without_audio_is_no_audio(pstn_loop, sipp):
    silent = sipp("answer")  # answers but sends no RTP
    loop = pstn_loop({DID: "1009"}, voicemail_port=silent.port)
    result = await run_pstn(loop.block(answer=False, expect="any"))
    assert result.error == "no_audio", result.message
    loop.assert_clean()


async def test_shutdown_tears_down_a_call_in_progress(pstn_loop):
    loop = pstn_loop()
    probe = make_probe(loop.block(duration="8s", max_duration="10s"))
    task = asyncio.ensure_future(probe.probe(target(12.0)))
    while not task.done() and not await asyncio.to_thread(loop.platform.dialogs):
        pass
    await probe.aclose()
    result = await task
    assert result.error == "shutdown"
    loop.assert_clean()
    assert (await probe.probe(target())).error == "shutdown"


async def test_cancelled_probe_still_hangs_up(pstn_loop):
    """The scheduler's own timeout cancels the probe task: the call is still ended, not left up."""
    loop = pstn_loop()
    probe = make_probe(loop.block(duration="8s", max_duration="10s"))
    task = asyncio.ensure_future(probe.probe(target(12.0)))
    while not task.done() and not await asyncio.to_thread(loop.platform.dialogs):
        pass
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await probe.aclose()  # waits for the teardown that the cancellation started
    loop.assert_clean()
