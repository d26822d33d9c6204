"""The `notify:` block: SMTP, sender, webhooks, Apprise targets, the subscription form and its rate limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agent.core.config_base import ConfigModel, Duration, Identifier, config_relative

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


class SmtpConfig(ConfigModel):
    """The mail relay: plain with STARTTLS (587), implicit TLS (465) or none (a local relay only)."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = Field(default=None, description="CA of a private relay (default: the system CAs)")
    timeout: Duration = Field(default=30.0, gt=0, le=300)

    @field_validator("ca_file")
    @classmethod
    def _ca(cls, v: Path | None) -> Path | None:
        return None if v is None else config_relative(v)

    @model_validator(mode="after")
    def _credentials(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        return self


class WebhookConfig(ConfigModel):
    """One operator-configured webhook: JSON POSTs signed with HMAC-SHA256 over timestamp + body."""

    id: Identifier
    url: str
    secret: SecretStr
    components: list[str] = Field(default_factory=list, description="empty: every component")
    timeout: Duration = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not _URL.match(v):
            raise ValueError(f"url {v!r} is not an http:// or https:// URL")
        return v

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("secret must be at least 16 characters (it keys the HMAC)")
        return v


class AppriseConfig(ConfigModel):
    """One Apprise target (Slack, Microsoft Teams, Mattermost...): its URL is a secret (it holds the token)."""

    id: Identifier
    url: SecretStr
    components: list[str] = Field(default_factory=list, description="empty: every component")


class RateLimits(ConfigModel):
    """Limits on the subscription form, so it cannot be used to mail-bomb anyone."""

    per_address: int = Field(default=3, ge=1, le=1000, description="confirmation mails per address per window")
    per_client: int = Field(default=10, ge=1, le=100000, description="form posts per client address per window")
    window: Duration = Field(default=3600.0, ge=1, le=86400 * 7)


class SubscriptionsConfig(ConfigModel):
    """E-mail subscriptions through the form served beside the page."""

    enabled: bool = True
    database: Path = Path("subscribers.db")
    public_url: str = Field(description="where customers reach the form, e.g. https://status.example.com/")
    token_ttl: Duration = Field(default=86400.0, ge=60, le=86400 * 30)
    rate_limits: RateLimits = RateLimits()
    trust_forwarded_for: bool = False

    @field_validator("database")
    @classmethod
    def _database(cls, v: Path) -> Path:
        return config_relative(v)

    @field_validator("public_url")
    @classmethod
    def _public(cls, v: str) -> str:
        if not _URL.match(v):
            raise ValueError(f"public_url {v!r} is not an http:// or https:// URL")
        return v if v.endswith("/") else v + "/"


class NotifyConfig(ConfigModel):
    """Everything about sending notices; absent, nothing is sent and nothing is exposed."""

    outbox: Path = Path("notices.db")
    sender: str | None = Field(default=None, description="From: address, e.g. status@example.com")
    smtp: SmtpConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    apprise: list[AppriseConfig] = Field(default_factory=list)
    subscriptions: SubscriptionsConfig | None = None
    retry_min: Duration = Field(default=30.0, gt=0, le=3600)
    retry_max: Duration = Field(default=1800.0, gt=0, le=86400)
    give_up_after: Duration = Field(default=86400.0 * 3, gt=0)
    reminder: Duration = Field(default=86400.0, ge=0, description="reminder this long before maintenance; 0: none")
    horizon: Duration = Field(default=86400.0 * 90, ge=86400 * 8, description="how far ahead maintenance is read")

    @field_validator("outbox")
    @classmethod
    def _outbox(cls, v: Path) -> Path:
        return config_relative(v)

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str | None) -> str | None:
        if v is not None and not _ADDRESS.match(v):
            raise ValueError(f"sender {v!r} is not an e-mail address")
        return v

    @model_validator(mode="after")
    def _check(self) -> NotifyConfig:
        subs = self.subscriptions
        if subs is not None and subs.enabled and (self.smtp is None or self.sender is None):
            raise ValueError("subscriptions need smtp and sender (confirmation mails are sent by e-mail)")
        ids = [w.id for w in self.webhooks] + [a.id for a in self.apprise]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate webhook/apprise id {dup[0]!r}")
        if self.retry_min > self.retry_max:
            raise ValueError("retry_min must not exceed retry_max")
        return self

    @property
    def domain(self) -> str:
        """The domain of Message-IDs: the sender's, else `dialtone.invalid`."""
        return self.sender.rsplit("@", 1)[1] if self.sender else "dialtone.invalid"
