"""Media checks of a PSTN test call: DTMF tokens, per-direction readings and the audio verdict.

Directions are named from the originating leg (A, the agent calling out) to the answering leg (B, the
extension the agent registered, or the external answer point): `a_to_b` is what B received of A's audio,
`b_to_a` what A received of B's. Value keys end in the direction, so one LabelledSpec exports each reading
as `probe_rtp_<reading>{direction="a_to_b"}`.
"""

from __future__ import annotations

import secrets
from typing import Literal

from agent.voice.media_stats import MediaStats
from agent.voice.verdict import AudioVerdict, classify_audio

Direction = Literal["a_to_b", "b_to_a"]
MediaExpectation = Literal["loop", "echo", "tone", "any"]
Failure = tuple[str, str] | None
_ALPHABET = "0123456789*#"


def new_tokens(length: int) -> tuple[str, str]:
    """Two different random DTMF tokens, no digit repeated back to back (each key press stays distinct)."""
    tokens: list[str] = []
    while len(tokens) < 2:
        digits = [secrets.choice(_ALPHABET)]
        while len(digits) < length:
            d = secrets.choice(_ALPHABET)
            if d != digits[-1]:
                digits.append(d)
        token = "".join(digits)
        if token not in tokens:
            tokens.append(token)
    return tokens[0], tokens[1]


def direction_values(
    direction: Direction, sender: MediaStats | None, receiver: MediaStats, answered_at: float | None
) -> dict[str, float | int]:
    """One direction's readings: the sender's count, the receiver's loss, jitter, MOS, first audio."""
    out: dict[str, float | int] = {
        f"rtp_packets_received_{direction}": receiver.packets_received,
        f"rtp_packets_lost_{direction}": receiver.lost,
        f"packet_loss_ratio_{direction}": round(receiver.loss_ratio, 6),
        f"jitter_seconds_{direction}": round(receiver.jitter_seconds, 6),
    }
    if sender is not None:
        out[f"rtp_packets_sent_{direction}"] = sender.packets_sent
    if receiver.mos is not None:
        out[f"mos_{direction}"] = receiver.mos
    if receiver.first_packet_monotonic is not None and answered_at is not None:
        out[f"first_audio_seconds_{direction}"] = round(max(0.0, receiver.first_packet_monotonic - answered_at), 6)
    return out


def judge_loop(a: MediaStats, b: MediaStats, a_heard: str, b_heard: str, token_a: str, token_b: str) -> Failure:
    """The verdict of a loop call where the agent is both ends: packets first, then each token."""
    verdict = classify_audio(a.packets_sent, a.packets_received, b.packets_received)
    if verdict is AudioVerdict.NO_AUDIO:
        return "no_audio", f"no audio either way (A received {a.packets_received}, B {b.packets_received} packets)"
    if verdict is AudioVerdict.ONE_WAY_AUDIO:
        way = "B to A only" if a.packets_received >= b.packets_received else "A to B only"
        return "one_way_audio", f"audio flows {way} (A received {a.packets_received}, B {b.packets_received})"
    if token_a not in b_heard or token_b not in a_heard:
        return "wrong_destination", (
            f"audio flows but the tokens do not match: B heard {b_heard or 'nothing'} (sent {token_a}), "
            f"A heard {a_heard or 'nothing'} (sent {token_b})"
        )
    return None


MIN_TONE_SECONDS = 0.2
"""`expect: tone` passes when at least this much of the received audio carried the tone (ten 20 ms frames)."""


def judge_external(
    expect: MediaExpectation, a: MediaStats, a_heard: str, token_a: str, tone_hz: float = 1004.0
) -> Failure:
    """The verdict of a call answered elsewhere: an echo must return our token, a tone line must play its tone
    (MIN_TONE_SECONDS of it), any answer point must send audio."""
    if classify_audio(a.packets_sent, a.packets_received) is AudioVerdict.NO_AUDIO:
        return "no_audio", f"sent {a.packets_sent} RTP packets, received {a.packets_received}"
    if expect == "tone" and (a.tone_frames or 0) * 0.02 < MIN_TONE_SECONDS - 1e-9:
        return "wrong_destination", (
            f"audio arrives but no steady {tone_hz:g} Hz tone: {a.tone_frames or 0} of {a.packets_received} "
            f"packets carried it (need {MIN_TONE_SECONDS * 1000:.0f} ms); not the test tone line we dialled"
        )
    if expect == "echo" and token_a not in a_heard:
        return "wrong_destination", (
            f"audio arrives but our token {token_a} never came back (heard {a_heard or 'nothing'}): "
            "not the echo we dialled, or our audio does not reach it"
        )
    return None
