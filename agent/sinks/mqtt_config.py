"""Config of the MQTT connection (shared by the agent's sink and the aggregator) and its TLS context."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, field_validator, model_validator

from agent.core.config_base import ConfigModel, Duration, config_relative

if TYPE_CHECKING:
    import ssl

DEFAULT_PREFIX = "dialtone/v1"


def _resolve(path: Path | None) -> Path | None:
    return None if path is None else config_relative(path)


class MqttTlsConfig(ConfigModel):
    """TLS to the broker: the CA that signed it, and optionally this agent's client certificate."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    key_password: SecretStr | None = None
    verify_hostname: bool = True

    @model_validator(mode="after")
    def _pair(self) -> MqttTlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both or neither")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_absolute():
                object.__setattr__(self, name, _resolve(path))
        return self


class MqttConfig(ConfigModel):
    """Connection to the MQTT broker and what the agent publishes."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="1883, or 8883 with tls")
    prefix: str = DEFAULT_PREFIX
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    username: str | None = None
    password: SecretStr | None = None
    tls: MqttTlsConfig | None = None
    keepalive: Duration = 30.0
    timeout: Duration = 10.0
    publish_results: bool = False
    outbox: Path = Path("var/mqtt-outbox.sqlite")
    reconnect_min: Duration = 0.5
    reconnect_max: Duration = 30.0
    inflight: int = Field(default=100, ge=1, le=65535)
    results_queue: int = Field(default=10_000, ge=1)
    close_timeout: Duration = 5.0

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or v.startswith("/") or v.endswith("/") or "//" in v:
            raise ValueError("prefix is topic levels joined by '/', with no leading, trailing or empty level")
        if any(c in v for c in "+#\0"):
            raise ValueError("prefix cannot contain the MQTT wildcards + and # or NUL")
        return v

    @model_validator(mode="after")
    def _checks(self) -> MqttConfig:
        if self.password is not None and self.username is None:
            raise ValueError("password needs a username")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("reconnect_min must be > 0 and not above reconnect_max")
        if self.timeout <= 0 or self.keepalive < 1:
            raise ValueError("timeout must be > 0 and keepalive at least 1s")
        return self

    @property
    def broker_port(self) -> int:
        """The port to connect to: the configured one, else 8883 with TLS or 1883 without."""
        return self.port or (8883 if self.tls else 1883)


class MqttSetupError(ValueError):
    """The sink cannot be built: unreadable TLS files or outbox."""


def tls_context(tls: MqttTlsConfig) -> ssl.SSLContext:
    """An SSL context trusting `ca_file` (else the system CAs), with the client certificate when given."""
    import ssl  # here: validating the `mqtt:` block never loads ssl

    try:
        ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file and tls.key_file:
            password = tls.key_password.get_secret_value() if tls.key_password else None
            ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file), password)
    except (OSError, ssl.SSLError) as exc:
        raise MqttSetupError(f"mqtt.tls: cannot load certificates: {exc}") from None
    if not tls.verify_hostname:
        ctx.check_hostname = False
    return ctx
