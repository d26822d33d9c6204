"""What one PSTN test call needs, already validated by the probe's config: the legs and the plan.

Plain data, shared by the call (loop.py) and its media session (session.py) without either importing the other.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Literal

from agent.probes.pstn.media import MediaExpectation
from agent.probes.pstn.screen import Correlate
from agent.sip.ua import Identity
from agent.sip.uri import SipUri
from agent.voice.g711 import Codec

Value = float | int | str | bool


@dataclass(frozen=True, slots=True)
class Leg:
    """Where one leg's signalling goes and who it is there."""

    uri: SipUri
    identity: Identity
    transport: Literal["udp", "tcp", "tls"] | None = None
    bind: str | None = None
    ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True, slots=True)
class AnswerLeg:
    """The extension the agent registers on the platform to answer the call itself."""

    leg: Leg
    registrar: str
    aor: str
    expires: int
    extension: str = ""
    correlate: Correlate = "auto"


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Everything one test call needs, already validated by the probe's config."""

    trunk: Leg
    request_uri: str
    to: str
    headers: tuple[tuple[str, str], ...]
    codecs: tuple[Codec, ...]
    bpl: float
    duration: float
    max_duration: float
    answer_timeout: float | None
    settle: float
    token_length: int
    expect: MediaExpectation
    tone_hz: float
    hangup_by: Literal["caller", "callee"]
    answer: AnswerLeg | None
