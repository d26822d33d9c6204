"""The `snmp:` block of a target: its config models, validated without loading pysnmp."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from agent.core.config_base import ConfigModel
from agent.snmp.mibs import parse_oid

if TYPE_CHECKING:
    from agent.snmp.client import Credentials
    from agent.snmp.device import CheckSpec, PollSpec

_NAME = r"^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_/-]+)*$"


class SnmpCheckConfig(ConfigModel):
    """A threshold check on any OID (e.g. an SBC's active calls) or on a built-in reading."""

    name: str = Field(pattern=_NAME, max_length=100, description="reading name: values key snmp.<name>")
    oid: str | None = Field(default=None, description="numeric OID or a known name such as ifNumber.0")
    reading: str | None = Field(default=None, description="a built-in reading, e.g. cpu.load_ratio")
    rate: bool = Field(default=False, description="per-second rate of a counter OID")
    scale: float = 1.0
    warn: float | None = None
    crit: float | None = None
    below: bool = Field(default=False, description="thresholds are lower bounds (e.g. UPS charge)")

    @field_validator("oid")
    @classmethod
    def _oid(cls, v: str | None) -> str | None:
        if v is not None:
            parse_oid(v)
        return v

    @model_validator(mode="after")
    def _one_source(self) -> SnmpCheckConfig:
        if (self.oid is None) == (self.reading is None):
            raise ValueError("a check reads exactly one of oid or reading")
        if self.rate and self.oid is None:
            raise ValueError("rate applies to an oid, not to a reading")
        if self.warn is not None and self.crit is not None:
            warn_later = self.warn < self.crit if self.below else self.warn > self.crit
            if warn_later:
                raise ValueError(f"warn must be reached before crit ({'above' if self.below else 'below'} it)")
        return self

    def spec(self) -> CheckSpec:
        """The poller's view of this check."""
        from agent.snmp.device import CheckSpec  # imported here: validating a config never loads pysnmp

        return CheckSpec(
            self.name,
            parse_oid(self.oid) if self.oid else None,
            self.reading,
            self.rate,
            self.scale,
            self.warn,
            self.crit,
            self.below,
        )


class SnmpConfig(ConfigModel):
    """The `snmp:` block of a target."""

    address: str = Field(
        pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+)(:\d{1,5})?$", description="host or host:port (default port 161)"
    )
    version: Literal["2c", "3"] = "2c"
    community: SecretStr | None = None
    user: str = ""
    security_level: Literal["noAuthNoPriv", "authNoPriv", "authPriv"] = "authPriv"
    auth_protocol: Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"] = "SHA-256"
    auth_key: SecretStr | None = None
    priv_protocol: Literal["AES", "AES-192", "AES-256"] = "AES"
    priv_key: SecretStr | None = None
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=25, ge=1, le=200)
    bulk: bool = Field(default=True, description="walk with GETBULK (else GETNEXT)")
    interfaces: list[str] = Field(default_factory=list, description="by ifName, else ifDescr")
    processor: bool = False
    storage: list[str] = Field(default_factory=list, description="by hrStorageDescr, e.g. / or Physical memory")
    ups: bool = False
    checks: list[SnmpCheckConfig] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return {2: "2c", "2": "2c", 3: "3", "v2c": "2c", "v3": "3"}.get(v, v)

    @model_validator(mode="after")
    def _credentials(self) -> SnmpConfig:
        if self.version == "2c":
            if self.community is None or not self.community.get_secret_value():
                raise ValueError("SNMP v2c needs a community")
            if self.user or self.auth_key or self.priv_key:
                raise ValueError("user, auth_key and priv_key are for version 3, not 2c")
            return self
        if not self.user:
            raise ValueError("SNMP v3 needs a user")
        if self.community is not None:
            raise ValueError("community is for version 2c, not 3")
        need_auth = self.security_level != "noAuthNoPriv"
        need_priv = self.security_level == "authPriv"
        for key, needed in (("auth_key", need_auth), ("priv_key", need_priv)):
            secret = getattr(self, key)
            if needed and (secret is None or len(secret.get_secret_value()) < 8):
                raise ValueError(f"security_level {self.security_level} needs {key} of at least 8 characters")
            if not needed and secret is not None:
                raise ValueError(f"security_level {self.security_level} takes no {key}")
        names = [c.name for c in self.checks]
        if len(set(names)) != len(names):
            raise ValueError("check names must be unique")
        return self

    def host_port(self) -> tuple[str, int]:
        """(host, port) from address."""
        host, sep, port = self.address.rpartition(":")
        if not sep or host.endswith(":") or (host.startswith("[") != host.endswith("]")):
            return self.address.strip("[]"), 161
        return host.strip("[]"), int(port)

    def credentials(self) -> Credentials:
        """The client's plain-string credentials (kept out of repr and logs by the caller)."""
        from agent.snmp.client import Credentials  # imported here: validating a config never loads pysnmp

        def plain(s: SecretStr | None) -> str:
            return s.get_secret_value() if s is not None else ""

        return Credentials(
            self.version,
            plain(self.community),
            self.user,
            self.auth_protocol,
            plain(self.auth_key),
            self.priv_protocol,
            plain(self.priv_key),
        )

    def poll_spec(self) -> PollSpec:
        """The poller's view of this block."""
        from agent.snmp.device import PollSpec  # imported here: validating a config never loads pysnmp

        return PollSpec(
            tuple(self.interfaces),
            self.processor,
            tuple(self.storage),
            self.ups,
            tuple(c.spec() for c in self.checks),
            self.bulk,
        )


def trap_sources(targets: Iterable[tuple[str, BaseModel]]) -> dict[str, str]:
    """Device host -> the id of its snmp target, for the trap receiver: a trap names its sender by address."""
    return {_host_of(block.address): tid for tid, block in targets if isinstance(block, SnmpConfig)}


def _host_of(address: str) -> str:
    """The host of `host`, `host:port` or `[v6]:port`."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address
