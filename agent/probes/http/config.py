"""The `http:` block of a target: its config model, validated without loading the probe."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Discriminator, Field, SecretStr, Tag, field_validator, model_validator

from agent.core.config_base import ConfigModel
from agent.net.address import IpPreference, parse_endpoint
from agent.net.tls_config import TlsConfig

if TYPE_CHECKING:
    from agent.net.httpwire import Plan

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS_CLASS = re.compile(r"^[1-5]xx$")


class BasicAuth(ConfigModel):
    """HTTP basic authentication; `password_file` reads the password from a file."""

    username: str = Field(min_length=1)
    password: SecretStr


class HeaderSecret(ConfigModel):
    """A header value that is a secret: `value_file` (read from a file) or `value` (e.g. `${ENV}`)."""

    value: SecretStr


def _header_kind(value: object) -> str:
    return "secret" if isinstance(value, Mapping | HeaderSecret) else "text"


# A plain string, or a mapping read as HeaderSecret: one branch is tried, so an error names one problem.
HeaderValue = Annotated[
    Annotated[str, Tag("text")] | Annotated[HeaderSecret, Tag("secret")], Discriminator(_header_kind)
]


def _check_value(where: str, value: str) -> None:
    # A CR or LF would end the header early and let the rest inject headers or a request of its own.
    prefix = f"{where}: " if where else ""
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{prefix}value must not contain CR, LF or NUL")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{prefix}value must be Latin-1 text") from None


CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Headers dropped on a redirect to another origin (with every secret header), unless a target opts in."""


class HttpConfig(ConfigModel):
    """The `http:` block of a target."""

    # A body, a header value or a regex may rely on its whitespace, so the base model's stripping is off.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    url: str
    method: str = Field(default="GET", pattern=r"^[A-Z]{1,20}$")
    headers: dict[str, HeaderValue] = Field(
        default_factory=dict, description="name: value, or name: {value_file: path} for a secret value"
    )
    body: str = ""
    valid_status_codes: list[int | str] = Field(default_factory=list, description="default: any 2xx")
    fail_if_body_matches_regexp: list[str] = Field(default_factory=list)
    fail_if_body_not_matches_regexp: list[str] = Field(default_factory=list)
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=1, le=100)
    cross_origin_credentials: bool = Field(
        default=False,
        description="keep Authorization, Cookie and secret headers on a redirect to another host or port",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1, le=1 << 30)
    accept_truncated_body: bool = False
    ip_protocol: IpPreference = "any"
    ip_fallback: bool = True
    tls_config: TlsConfig = TlsConfig()
    basic_auth: BasicAuth | None = None
    bearer_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parse_endpoint(v.strip())
        return v.strip()

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, HeaderValue]) -> dict[str, HeaderValue]:
        for name, value in v.items():
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP token")
            text = value.value.get_secret_value() if isinstance(value, HeaderSecret) else value
            _check_value(f"header {name}", text)
        return v

    @field_validator("bearer_token")
    @classmethod
    def _bearer(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            _check_value("", v.get_secret_value())
        return v

    @field_validator("valid_status_codes")
    @classmethod
    def _codes(cls, v: list[int | str]) -> list[int | str]:
        for i, code in enumerate(v):
            if isinstance(code, int) and not 100 <= code <= 599:
                raise ValueError(f"[{i}]: {code} is not an HTTP status code (100-599)")
            if isinstance(code, str) and not _STATUS_CLASS.match(code):
                raise ValueError(f"[{i}]: {code!r} is neither a status code nor a class like 2xx")
        return v

    @field_validator("fail_if_body_matches_regexp", "fail_if_body_not_matches_regexp")
    @classmethod
    def _regexps(cls, v: list[str]) -> list[str]:
        for i, pattern in enumerate(v):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"[{i}]: invalid regular expression {pattern!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _auth(self) -> HttpConfig:
        given = {k.lower() for k in self.headers}
        if self.basic_auth is not None and self.bearer_token is not None:
            raise ValueError("give basic_auth or bearer_token, not both")
        if (self.basic_auth or self.bearer_token) and "authorization" in given:
            raise ValueError("an Authorization header conflicts with basic_auth/bearer_token")
        return self

    def status_codes(self) -> frozenset[int]:
        """The accepted status codes, with classes like 2xx expanded."""
        spec = self.valid_status_codes or ["2xx"]
        out: set[int] = set()
        for code in spec:
            if isinstance(code, int):
                out.add(code)
            else:
                first = int(code[0]) * 100
                out.update(range(first, first + 100))
        return frozenset(out)

    def plan(self) -> Plan:
        """The prepared request (headers with credentials, encoded body, limits)."""
        from agent.net.httpwire import Plan  # here: validating a config never loads the asyncio client

        headers = [
            (k, v.value.get_secret_value() if isinstance(v, HeaderSecret) else v) for k, v in self.headers.items()
        ]
        secret = {k.lower() for k, v in self.headers.items() if isinstance(v, HeaderSecret)}
        if self.basic_auth is not None:
            pair = f"{self.basic_auth.username}:{self.basic_auth.password.get_secret_value()}"
            headers.append(("Authorization", "Basic " + base64.b64encode(pair.encode()).decode("ascii")))
        if self.bearer_token is not None:
            headers.append(("Authorization", f"Bearer {self.bearer_token.get_secret_value()}"))
        return Plan(
            method=self.method,
            endpoint=parse_endpoint(self.url),
            headers=tuple(headers),
            body=self.body.encode("utf-8"),
            max_redirects=self.max_redirects if self.follow_redirects else 0,
            max_body=self.max_body_bytes,
            keep_body=bool(self.fail_if_body_matches_regexp or self.fail_if_body_not_matches_regexp),
            accept_truncated=self.accept_truncated_body,
            preference=self.ip_protocol,
            fallback=self.ip_fallback,
            tls=self.tls_config,
            cross_origin_drop=frozenset() if self.cross_origin_credentials else CREDENTIAL_HEADERS | secret,
        )
