"""The PSTN probe's pure parts: outcome classes, Q.850 causes, counters, tokens, config rules, metrics."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from agent.core.model import ProbeResult, Value
from agent.probes import PROBE_CONFIGS, PROBE_METRICS
from agent.probes.calls import CallCounters, outcome, q850_cause, register_call_metrics
from agent.probes.pstn.media import new_tokens
from agent.sinks.prometheus import PrometheusSink, TargetMeta
from agent.sip.message import SipMessage

BASE = {"route": "tier1-a", "number": "+18015550100", "trunk": "sip:127.0.0.1:5070", "from_number": "+18015559999"}


@pytest.mark.parametrize(
    ("status", "result"),
    [(200, "answered"), (486, "busy"), (600, "busy"), (487, "no_answer"), (480, "no_answer"), (404, "not_found"),
     (503, "unavailable"), (603, "rejected"), (488, "failed"), (None, "error")],
)  # fmt: skip
def test_outcome_classes(status, result):
    assert outcome(status) == result


def test_q850_cause_from_reason_header():
    msg = SipMessage(method="BYE", uri="sip:a@b")
    assert q850_cause(msg) is None
    msg.add("reason", 'SIP;cause=200;text="Call completed elsewhere"')
    msg.add("reason", 'Q.850 ;cause=17;text="User busy"')
    assert q850_cause(msg) == 17


def test_counters_export_asr_inputs():
    counters = CallCounters()
    registry = CollectorRegistry()
    register_call_metrics(registry, counters)
    for result in ("answered", "answered", "busy"):
        counters.record("tier1-a", result)
    assert registry.get_sample_value("dialtone_call_attempts_total", {"route": "tier1-a", "result": "answered"}) == 2
    assert registry.get_sample_value("dialtone_call_attempts_total", {"route": "tier1-a", "result": "busy"}) == 1
    assert registry.get_sample_value("dialtone_call_answered_total", {"route": "tier1-a"}) == 2
    with pytest.raises(ValueError, match="unknown call result"):
        counters.record("tier1-a", "sip_503")


def test_tokens_differ_and_never_repeat_a_key():
    for _ in range(200):
        a, b = new_tokens(4)
        assert a != b and len(a) == len(b) == 4
        assert all(x != y for token in (a, b) for x, y in itertools.pairwise(token))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"number": "18015550100"}, "should match pattern"), ({"duration": "0.5s"}, "too short for the token"),
     ({"duration": "5s", "max_duration": "5.5s"}, "max_duration must exceed"), ({"password": "x"}, "without username"),
     ({"trunk": "http://x"}, "not a sip"), ({"route": "Bad Route"}, "should match pattern"),
     ({"expect": "tone", "tone_hz": 4000}, "less than or equal to 3400"),
     ({"expect": "tone", "tone_hz": 100}, "greater than or equal to 300")],
)  # fmt: skip
def test_config_rules(change, message):
    with pytest.raises(ValidationError, match=message):
        PROBE_CONFIGS["pstn_call"].model_validate({**BASE, **change})


def test_secrets_stay_secret():
    cfg = PROBE_CONFIGS["pstn_call"].model_validate(
        {**BASE, "username": "trunk", "password": "hunter2",
         "answer": {"registrar": "sip:127.0.0.1", "extension": "1001", "password": "ext-pass"}}
    )  # fmt: skip
    assert "hunter2" not in repr(cfg) and "ext-pass" not in repr(cfg)


def test_per_direction_gauges_carry_a_direction_label():
    sink = PrometheusSink("pop1", PROBE_METRICS, CollectorRegistry(), dict, dict)
    sink.set_targets([TargetMeta("loop", "voice", "pstn_call", {}, 300.0)])
    values: dict[str, Value] = {
        "jitter_seconds_a_to_b": 0.002,
        "jitter_seconds_b_to_a": 0.003,
        "mos_a_to_b": 4.4,
        "result": "answered",
    }
    sink.on_result(ProbeResult("loop", "pstn_call", datetime.now(UTC), 2.0, True, values=values))
    text = sink.exposition().decode()
    labels = 'target="loop",component="voice",kind="pstn_call",vantage="pop1"'
    assert f'probe_rtp_jitter_seconds{{{labels},direction="a_to_b"}} 0.002' in text
    assert f'probe_rtp_jitter_seconds{{{labels},direction="b_to_a"}} 0.003' in text
    assert f'probe_voice_mos{{{labels},direction="a_to_b"}} 4.4' in text
