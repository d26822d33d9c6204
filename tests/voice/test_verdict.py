"""One-way audio classification and the merging of in-band and RFC 4733 digits."""

from __future__ import annotations

import pytest

from agent.voice.verdict import AudioVerdict, DigitEvent, classify_audio, merge_digits


@pytest.mark.parametrize(
    ("sent", "received", "far", "verdict"),
    [
        (250, 250, None, AudioVerdict.OK),
        (250, 0, None, AudioVerdict.NO_AUDIO),
        (250, 250, 250, AudioVerdict.OK),
        (250, 0, 0, AudioVerdict.NO_AUDIO),
        (250, 250, 0, AudioVerdict.ONE_WAY_AUDIO),
        (250, 0, 250, AudioVerdict.ONE_WAY_AUDIO),
        (0, 250, 0, AudioVerdict.ONE_WAY_AUDIO),
        (250, 3, None, AudioVerdict.NO_AUDIO),
    ],
)
def test_classify_audio(sent: int, received: int, far: int | None, verdict: AudioVerdict) -> None:
    assert classify_audio(sent, received, far) is verdict


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        classify_audio(-1, 0)


def test_a_key_press_seen_both_ways_counts_once() -> None:
    events = [
        DigitEvent("5", 1.00, "rfc4733"),
        DigitEvent("5", 1.04, "inband"),
        DigitEvent("5", 1.20, "rfc4733"),
        DigitEvent("5", 1.24, "inband"),
        DigitEvent("#", 1.44, "inband"),
    ]
    assert merge_digits(events) == "55#"


def test_the_same_digit_twice_from_one_source_is_two_presses() -> None:
    assert merge_digits([DigitEvent("1", 0.0, "inband"), DigitEvent("1", 0.2, "inband")]) == "11"
