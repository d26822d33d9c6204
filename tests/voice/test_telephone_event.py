"""RFC 4733 events: payload layout, the send plan with its end bit and redundancy, and a receiver that counts once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.voice.rtp import RtpParseError
from agent.voice.telephone_event import (
    EVENT_CODES,
    EventReceiver,
    TelephoneEvent,
    TelephoneEventError,
    event_code,
    parse_event,
    plan_event,
)


def test_payload_layout_follows_rfc4733_figure_1() -> None:
    event = TelephoneEvent(event=11, end=True, volume=10, duration=800)
    assert event.to_bytes() == bytes([11, 0x80 | 10, 0x03, 0x20])
    assert parse_event(event.to_bytes()) == event
    assert event.digit == "#"


def test_plan_grows_the_duration_then_repeats_the_end_three_times() -> None:
    plan = [parse_event(p) for p in plan_event("7", 0.1)]
    assert [e.duration for e in plan] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in plan] == [False] * 4 + [True] * 3
    assert {e.event for e in plan} == {7}


def test_receiver_reports_each_event_once_despite_redundant_end_packets() -> None:
    receiver = EventReceiver()
    digits = []
    for ts, digit in [(1000, "1"), (3000, "1"), (5000, "#")]:
        for payload in plan_event(digit, 0.1):
            if (d := receiver.feed(ts, payload)) is not None:
                digits.append(d)
    assert digits == ["1", "1", "#"]
    assert receiver.ended == 3


def test_receiver_survives_the_loss_of_every_packet_but_one_end() -> None:
    receiver = EventReceiver()
    final = plan_event("C", 0.1)[-1]
    assert receiver.feed(42, final) == "C"
    assert receiver.feed(42, final) is None
    assert receiver.ended == 1


def test_non_dtmf_events_are_counted_not_reported() -> None:
    receiver = EventReceiver()
    assert receiver.feed(1, TelephoneEvent(16, False, 10, 160).to_bytes()) is None  # flash
    assert receiver.unknown == 1


def test_short_payload_is_a_parse_error() -> None:
    with pytest.raises(TelephoneEventError, match="payload of 3 bytes"):
        parse_event(b"\x01\x02\x03")


def test_event_codes() -> None:
    assert [event_code(d) for d in EVENT_CODES] == list(range(16))
    assert event_code("a") == 12
    with pytest.raises(ValueError, match="'x' is not a DTMF digit"):
        event_code("x")


@given(st.binary(max_size=12))
def test_parse_never_raises_anything_but_its_own_error(data: bytes) -> None:
    try:
        event = parse_event(data)
    except RtpParseError:
        return
    assert 0 <= event.volume <= 63
