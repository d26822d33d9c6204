"""Config blocks of the SIP probe kinds (sip_options, sip_register, sip_call), apart from the probes that run them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from agent.core.config_base import DEFAULT_CODECS, Codec, ConfigModel, Duration, codec_shorthand, unique_codecs
from agent.sip.uri import SipUri

__all__ = ["ANONYMOUS_FROM", "SipCallConfig", "SipConfig", "SipOptionsConfig", "SipRegisterConfig"]

ANONYMOUS_FROM = "sip:dialtone@dialtone.invalid"


class SipConfig(ConfigModel):
    """Settings shared by every SIP probe kind."""

    model_config = ConfigDict(**ConfigModel.model_config, populate_by_name=True)

    uri: str = Field(description="sip: or sips: URI of the server or the number to call")
    transport: Literal["udp", "tcp", "tls"] | None = None
    from_: str | None = Field(
        default=None,
        alias="from",
        description="From URI (default: sip:<username>@<uri host> with credentials, else " + ANONYMOUS_FROM + ")",
    )
    to: str | None = None
    username: str = ""
    password: SecretStr | None = None
    bind: str | None = Field(default=None, description="local address to send from")
    ca_file: Path | None = None
    verify: bool = True
    server_name: str | None = None

    @field_validator("uri", "from_", "to")
    @classmethod
    def _sip_uri(cls, v: str | None) -> str | None:
        if v is not None:
            SipUri.parse(v)  # SipParseError is a ValueError: pydantic reports it with the key path
        return v

    @model_validator(mode="after")
    def _credentials(self) -> SipConfig:
        if self.password is not None and not self.username:
            raise ValueError("password given without username")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file: {self.ca_file} is not a readable file")
        return self

    @property
    def target_uri(self) -> SipUri:
        """The parsed uri."""
        return SipUri.parse(self.uri)

    @property
    def from_uri(self) -> str:
        """`from`, else the authenticated user at the uri's host: proxies that check the caller's identity
        against the digest user (Kamailio auth_check, FreeSWITCH, Asterisk) refuse any other From."""
        if self.from_ is not None:
            return self.from_
        if not self.username:
            return ANONYMOUS_FROM
        uri = self.target_uri
        if "@" in self.username:  # a username that is already user@domain is the identity itself
            return f"{uri.scheme}:{self.username}"
        return f"{uri.scheme}:{self.username}@{uri.host}"


class SipOptionsConfig(SipConfig):
    """sip_options: an OPTIONS ping; some servers answer 404 or 405 and are alive."""

    expected_codes: list[int] = Field(default_factory=lambda: [200], min_length=1)

    @field_validator("expected_codes")
    @classmethod
    def _codes(cls, v: list[int]) -> list[int]:
        for code in v:
            if not 100 <= code <= 699:
                raise ValueError(f"{code} is not a SIP status code (100-699)")
        return v


class SipRegisterConfig(SipConfig):
    """sip_register: REGISTER with credentials, then un-REGISTER so no binding is left behind."""

    expires: int = Field(default=60, ge=1, le=86400)


class SipCallConfig(SipConfig):
    """sip_call: INVITE, media for `duration`, BYE."""

    duration: Duration = 3.0
    codecs: tuple[Codec, ...] = Field(
        default=DEFAULT_CODECS, min_length=1, description="offered in this order; RFC 4733 is always offered too"
    )
    codec: Codec | None = Field(default=None, description="one codec: shorthand for codecs: [<codec>]")
    answer_timeout: Duration | None = Field(default=None, description="CANCEL when not answered by then")
    expect_echo: bool = Field(default=False, description="the far end echoes our audio: judge both ways")
    bpl: float = Field(default=25.1, gt=0, le=100, description="E-model packet-loss robustness (Bpl)")

    _codec = model_validator(mode="before")(codec_shorthand)
    _unique = field_validator("codecs")(unique_codecs)
