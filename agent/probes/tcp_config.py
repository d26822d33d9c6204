"""The `tcp:` block of a target: its config models, validated without loading the probe."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, field_validator, model_validator

from agent.core.config_base import ConfigModel
from agent.net.address import IpPreference, split_host_port
from agent.net.tls_config import TlsConfig


class TcpStep(ConfigModel):
    """One step: wait for `expect` (a regex over Latin-1 text), write `send` as UTF-8 exactly (no newline
    added), then upgrade with STARTTLS if asked."""

    # Whitespace is data here ("QUIT\r\n"), so the base model's stripping is off.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    expect: str | None = None
    send: str | None = None
    starttls: bool = False

    @field_validator("expect")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {v!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _something(self) -> TcpStep:
        if self.expect is None and self.send is None and not self.starttls:
            raise ValueError("a step needs expect, send or starttls")
        return self


class TcpConfig(ConfigModel):
    """The `tcp:` block of a target."""

    address: str
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()
    query_response: list[TcpStep] = Field(default_factory=list)
    max_read_bytes: int = Field(default=64 * 1024, ge=1, le=1 << 24)
    ip_protocol: IpPreference = "any"
    ip_fallback: bool = True

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        split_host_port(v)
        return v
