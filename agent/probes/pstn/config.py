"""The `pstn_call:` block of a target: its config models, validated without loading the SIP stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agent.core.config_base import (
    DEFAULT_CODECS,
    Codec,
    ConfigModel,
    Duration,
    Identifier,
    codec_shorthand,
    unique_codecs,
)
from agent.sip.uri import SipUri

E164 = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{1,14}$")]
Transport = Literal["udp", "tcp", "tls"]


def _sip_uri(value: str) -> str:
    SipUri.parse(value)  # SipParseError is a ValueError: pydantic reports it with the key path
    return value


class PstnAnswerConfig(ConfigModel):
    """The answering leg: the extension the DID routes to, registered by the agent for the call."""

    registrar: str = Field(description="sip: URI of the platform's registrar")
    transport: Transport | None = None
    extension: str = Field(pattern=r"^[A-Za-z0-9+._-]{1,64}$")
    domain: str | None = Field(default=None, description="domain of the address of record (default: registrar host)")
    username: str = ""
    password: SecretStr | None = None
    expires: int = Field(default=60, ge=10, le=3600)
    bind: str | None = None
    ca_file: Path | None = Field(default=None, description="CA bundle that verifies the registrar over TLS")
    verify: bool = True
    correlate: Literal["auto", "header"] = Field(
        default="auto",
        description="which INVITE is ours: the X-Dialtone-Call token; auto also takes one without the header "
        "(a carrier stripped it) from our from_number, the DTMF tokens proving it afterwards",
    )

    @field_validator("registrar")
    @classmethod
    def _registrar(cls, v: str) -> str:
        return _sip_uri(v)

    @model_validator(mode="after")
    def _files(self) -> PstnAnswerConfig:
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file: {self.ca_file} is not a readable file")
        return self


class PstnCallConfig(ConfigModel):
    """pstn_call: the originating leg's trunk and numbers, media checks, limits, the optional answering leg."""

    route: Identifier = Field(description="route label (carrier / trunk); one call at a time per route")
    number: E164 = Field(description="the E.164 number to call (the DID)")
    trunk: str = Field(description="sip: URI of the trunk or outbound proxy")
    transport: Transport | None = None
    username: str = ""
    password: SecretStr | None = None
    from_number: E164 = Field(description="caller number in From and P-Asserted-Identity")
    from_domain: str | None = Field(default=None, description="host of the From URI (default: the trunk's host)")
    assert_identity: bool = Field(default=True, description="send P-Asserted-Identity")
    bind: str | None = None
    ca_file: Path | None = None
    verify: bool = True
    codecs: tuple[Codec, ...] = Field(
        default=DEFAULT_CODECS, min_length=1, description="offered in this order; RFC 4733 is always offered too"
    )
    codec: Codec | None = Field(default=None, description="one codec: shorthand for codecs: [<codec>]")
    bpl: float = Field(default=25.1, gt=0, le=100)
    duration: Duration = Field(default=3.0, description="media after the answer (token exchange included)")
    max_duration: Duration = Field(default=30.0, description="no call ever lasts longer than this after answer")
    answer_timeout: Duration | None = Field(default=None, description="CANCEL when not answered by then")
    settle: Duration = Field(default=0.3, description="wait after answer before the tokens (cut-through)")
    token_length: int = Field(default=4, ge=2, le=12)
    expect: Literal["echo", "tone", "any"] = Field(default="any", description="without answer: the far end")
    tone_hz: float = Field(
        default=1004.0, ge=300, le=3400, description="expect: tone: the test tone's frequency (milliwatt 1004 Hz)"
    )
    hangup_by: Literal["caller", "callee"] = "caller"
    answer: PstnAnswerConfig | None = None

    _codec = model_validator(mode="before")(codec_shorthand)
    _unique = field_validator("codecs")(unique_codecs)

    @field_validator("trunk")
    @classmethod
    def _trunk(cls, v: str) -> str:
        return _sip_uri(v)

    @model_validator(mode="after")
    def _limits(self) -> PstnCallConfig:
        if self.password is not None and not self.username:
            raise ValueError("password given without username")
        needed = self.settle + 0.2 * self.token_length + 0.3
        if self.duration < needed:
            raise ValueError(f"duration {self.duration:g}s is too short for the token exchange (>= {needed:g}s)")
        if self.max_duration < self.duration + 1.0:
            raise ValueError("max_duration must exceed duration by at least 1s (room for the BYE)")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file: {self.ca_file} is not a readable file")
        return self
