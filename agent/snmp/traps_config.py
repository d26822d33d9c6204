"""The `snmp_traps:` block: the trap receiver's config models, validated without loading pysnmp."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agent.core.config_base import ConfigModel
from agent.snmp.mibs import parse_oid

TrapState = Literal["down", "up", "degraded", "info"]


class TrapUserConfig(ConfigModel):
    """A v3 user allowed to send traps (give engine_id) and informs (the receiver's own engine ID)."""

    user: str = Field(min_length=1, max_length=32)
    auth_protocol: Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"] = "SHA-256"
    auth_key: SecretStr | None = None
    priv_protocol: Literal["AES", "AES-192", "AES-256"] = "AES"
    priv_key: SecretStr | None = None
    engine_id: str | None = Field(default=None, description="the sender's snmpEngineID in hex, for traps")

    @field_validator("engine_id")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.lower().removeprefix("0x").replace(":", "")
        try:
            raw = bytes.fromhex(v)
        except ValueError:
            raise ValueError("engine_id must be hexadecimal, e.g. 0x80001f8880...") from None
        if not 5 <= len(raw) <= 32:
            raise ValueError("engine_id must be 5 to 32 bytes (RFC 3411)")
        return v

    @model_validator(mode="after")
    def _keys(self) -> TrapUserConfig:
        for name in ("auth_key", "priv_key"):
            secret = getattr(self, name)
            if secret is not None and len(secret.get_secret_value()) < 8:
                raise ValueError(f"{name} must have at least 8 characters")
        if self.priv_key is not None and self.auth_key is None:
            raise ValueError("priv_key needs auth_key (there is no privacy without authentication)")
        return self


class TrapOidConfig(ConfigModel):
    """A vendor (or overridden standard) trap OID, its name and the state it signals."""

    oid: str
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    state: TrapState = "info"

    @field_validator("oid")
    @classmethod
    def _oid(cls, v: str) -> str:
        parse_oid(v)
        return v


class TrapReceiverConfig(ConfigModel):
    """The `snmp_traps:` block: where to listen, whom to believe, which trap OIDs matter."""

    listen: str = Field(default="127.0.0.1:9162", pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$")
    communities: list[SecretStr] = Field(default_factory=list)
    users: list[TrapUserConfig] = Field(default_factory=list)
    sources: dict[str, str] = Field(default_factory=dict, description="sender IP -> target id")
    trap_oids: list[TrapOidConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _someone(self) -> TrapReceiverConfig:
        if not self.communities and not self.users:
            raise ValueError("give at least one community or v3 user, or no trap would ever be accepted")
        return self

    def host_port(self) -> tuple[str, int]:
        """(host, port) to bind."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)
