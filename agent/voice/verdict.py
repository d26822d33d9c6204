"""Call-level judgements from media counters: one-way or no audio, and merging digits seen two ways."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


class AudioVerdict(enum.StrEnum):
    """The audio path after answer; the values are the SIP probes' failure codes (Telegraf's taxonomy)."""

    OK = "ok"
    NO_AUDIO = "no_audio"
    ONE_WAY_AUDIO = "one_way_audio"


MIN_PACKETS = 5
"""Fewer packets than this (100 ms at 20 ms) in a direction counts as no audio that way."""


def classify_audio(
    sent: int, received: int, far_end_received: int | None = None, *, min_packets: int = MIN_PACKETS
) -> AudioVerdict:
    """Judge the audio path from our sent and received packet counts and, if known, the far end's received.

    Without the far end's count only our direction can be judged: nothing received is `no_audio`. With it,
    media in neither direction is `no_audio` and media in one direction only is `one_way_audio`.
    """
    if min(sent, received, far_end_received or 0, min_packets) < 0:
        raise ValueError("packet counts cannot be negative")
    we_hear = received >= min_packets
    if far_end_received is None:
        return AudioVerdict.OK if we_hear else AudioVerdict.NO_AUDIO
    they_hear = sent >= min_packets and far_end_received >= min_packets
    if we_hear and they_hear:
        return AudioVerdict.OK
    if we_hear or they_hear:
        return AudioVerdict.ONE_WAY_AUDIO
    return AudioVerdict.NO_AUDIO


DigitSource = Literal["inband", "rfc4733"]


@dataclass(frozen=True, slots=True)
class DigitEvent:
    """One digit detected on a stream: when (monotonic seconds) and how."""

    digit: str
    at: float
    source: DigitSource


def merge_digits(events: Iterable[DigitEvent], window: float = 0.25) -> str:
    """The digits received, each once: an in-band detection and an RFC 4733 event of the same digit within
    `window` seconds of each other are the same key press."""
    ordered = sorted(events, key=lambda e: e.at)
    used = [False] * len(ordered)
    out: list[str] = []
    for i, ev in enumerate(ordered):
        if used[i]:
            continue
        used[i] = True
        for j in range(i + 1, len(ordered)):
            other = ordered[j]
            if other.at - ev.at > window:
                break
            if not used[j] and other.digit == ev.digit and other.source != ev.source:
                used[j] = True
                break
        out.append(ev.digit)
    return "".join(out)
