"""DTMF on G.711: all 16 digits detected in PCMU and PCMA; noise, silence, test tones and speech-like sound rejected."""

from __future__ import annotations

import math
import random

import pytest

from agent.voice import g711
from agent.voice.tones import (
    DTMF_DIGITS,
    DtmfDetector,
    ToneDetector,
    detect_digit,
    digit_frequencies,
    dtmf_frames,
    goertzel_power,
    tone_frames,
    tone_samples,
    tone_shares,
    validate_digits,
)


def _detect(frames: list[bytes], codec: g711.Codec) -> str:
    detector = DtmfDetector(codec)
    return "".join(d for f in frames if (d := detector.feed(f)) is not None)


@pytest.mark.parametrize("codec", g711.CODECS)
def test_all_sixteen_digits_are_detected_in_order(codec: g711.Codec) -> None:
    assert _detect(list(dtmf_frames(DTMF_DIGITS, codec)), codec) == DTMF_DIGITS


@pytest.mark.parametrize("codec", g711.CODECS)
def test_repeated_digits_are_reported_once_per_key_press(codec: g711.Codec) -> None:
    assert _detect(list(dtmf_frames("5500#", codec)), codec) == "5500#"


@pytest.mark.parametrize("codec", g711.CODECS)
def test_shortest_standard_tones_and_quiet_tones_are_detected(codec: g711.Codec) -> None:
    # ITU-T Q.24: 40 ms tones with 40 ms pauses; and a level 20 dB below our default
    assert _detect(list(dtmf_frames("159D", codec, duration=0.04, gap=0.04)), codec) == "159D"
    assert _detect(list(dtmf_frames("*0#", codec, amplitude=700)), codec) == "*0#"


@pytest.mark.parametrize("codec", g711.CODECS)
def test_a_single_frame_blip_is_not_a_digit(codec: g711.Codec) -> None:
    assert _detect(list(dtmf_frames("7", codec, duration=0.02, gap=0.1)), codec) == ""


@pytest.mark.parametrize("codec", g711.CODECS)
def test_silence_noise_and_test_tones_are_rejected(codec: g711.Codec) -> None:
    rng = random.Random(7)
    noise = [g711.encode([rng.randint(-9000, 9000) for _ in range(160)], codec) for _ in range(50)]
    assert _detect(noise, codec) == ""
    assert _detect([g711.silence(codec)] * 50, codec) == ""
    for freq in (440.0, 1004.0, 2600.0):
        frames = tone_frames(freq, codec)
        assert _detect([next(frames) for _ in range(50)], codec) == ""


def test_a_single_dtmf_row_tone_is_not_a_digit() -> None:
    assert detect_digit(tone_samples((697.0,), 160)) is None
    assert detect_digit(tone_samples((1336.0,), 160)) is None


def test_speech_like_harmonics_are_rejected() -> None:
    # A 150 Hz voice with harmonics lands near DTMF rows but spreads its energy over many partials
    samples = [
        round(sum(3000 / k * math.sin(2 * math.pi * 150 * k * n / 8000) for k in range(1, 15))) for n in range(160)
    ]
    assert detect_digit(samples) is None


def test_excessive_twist_is_rejected() -> None:
    low, high = digit_frequencies("5")
    strong = tone_samples((low,), 160, amplitude=8000)
    weak = tone_samples((high,), 160, amplitude=800)  # 20 dB twist
    assert detect_digit([a + b for a, b in zip(strong, weak, strict=True)]) is None


def test_goertzel_and_the_correlation_form_agree() -> None:
    samples = tone_samples(digit_frequencies("9"), 160)
    energy = sum(x * x for x in samples)
    shares = tone_shares(samples)
    assert shares is not None
    for freq, share in zip((697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0), shares, strict=True):
        assert 2 * goertzel_power(samples, freq) / (160 * energy) == pytest.approx(share, rel=1e-6, abs=1e-9)


def test_invalid_digits_are_named() -> None:
    assert validate_digits("12ab*#") == "12AB*#"
    with pytest.raises(ValueError, match="'E' is not a DTMF digit"):
        validate_digits("12E")


def test_tone_frames_are_phase_continuous() -> None:
    frames = tone_frames(1000.0, "pcmu")
    joined = b"".join(next(frames) for _ in range(5))
    expected = g711.encode(tone_samples((1000.0,), 800), "pcmu")
    assert joined == expected


# --- the test-tone detector (pstn_call expect: tone) ----------------------------------------------------------


def _tone_count(frames: list[bytes], codec: g711.Codec, freq: float = 1004.0) -> int:
    detector = ToneDetector(freq, codec)
    for frame in frames:
        detector.feed(frame)
    assert detector.frames == len(frames)
    return detector.tone_frames


@pytest.mark.parametrize("codec", g711.CODECS)
@pytest.mark.parametrize("freq", [1004.0, 1000.0, 1012.0])
def test_a_milliwatt_tone_is_found_in_every_frame(codec: g711.Codec, freq: float) -> None:
    frames = tone_frames(freq, codec)
    assert _tone_count([next(frames) for _ in range(50)], codec) == 50


@pytest.mark.parametrize("codec", g711.CODECS)
def test_a_quiet_tone_counts_and_silence_does_not(codec: g711.Codec) -> None:
    frames = tone_frames(1004.0, codec, amplitude=400)  # about -38 dBm0, above the -47 dBm0 floor
    assert _tone_count([next(frames) for _ in range(20)], codec) == 20
    assert _tone_count([g711.silence(codec)] * 20, codec) == 0


@pytest.mark.parametrize("codec", g711.CODECS)
def test_other_sounds_are_not_the_tone(codec: g711.Codec) -> None:
    rng = random.Random(11)
    noise = [g711.encode([rng.randint(-9000, 9000) for _ in range(160)], codec) for _ in range(30)]
    assert _tone_count(noise, codec) == 0
    for freq in (440.0, 950.0, 1050.0, 2600.0):  # 950 and 1050 Hz: a bin away, must not pass as 1004
        frames = tone_frames(freq, codec)
        assert _tone_count([next(frames) for _ in range(30)], codec) == 0, freq
    assert _tone_count(list(dtmf_frames("0123456789", codec, gap=0.02)), codec) == 0
    speech = [round(sum(3000 / k * math.sin(2 * math.pi * 200 * k * n / 8000) for k in range(1, 15)))
              for n in range(160)]  # fmt: skip
    assert _tone_count([g711.encode(speech, codec)] * 10, codec) == 0  # 1000 Hz is one of its partials


def test_tone_share_agrees_with_goertzel() -> None:
    rng = random.Random(3)
    samples = [round(5000 * math.sin(2 * math.pi * 1004 * n / 8000)) + rng.randint(-2000, 2000) for n in range(160)]
    frame = g711.encode(samples, "pcmu")
    decoded = g711.decode(frame, "pcmu")
    energy = sum(v * v for v in decoded)
    expected = 2.0 * goertzel_power(decoded, 1004.0) / (len(decoded) * energy)
    assert ToneDetector(1004.0, "pcmu").share(frame) == pytest.approx(expected, rel=1e-6)


def test_tone_frequency_outside_the_band_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.4000 Hz"):
        ToneDetector(4500.0, "pcmu")
