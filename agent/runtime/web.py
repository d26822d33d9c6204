"""Security of the agent's own endpoints: a web config file in the format of the Prometheus exporter-toolkit's
`web.yml` (TLS, client certificates, bcrypt basic auth), so existing tooling and habits carry over.

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), RequireAnyClientCert
      client_ca_file: ca.crt
      min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...   # bcrypt hashes only, never plain passwords

The checks themselves run off the event loop: agent.runtime.web_auth.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from agent.core.config_base import ConfigModel


class WebConfigError(Exception):
    """The web config file is unreadable or invalid; `errors` holds one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class TlsServerConfig(ConfigModel):
    """TLS for the agent's listener."""

    cert_file: Path
    key_file: Path
    client_auth_type: Literal["NoClientCert", "RequireAnyClientCert", "RequireAndVerifyClientCert"] = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: Literal["TLS12", "TLS13"] = "TLS12"


class WebFile(ConfigModel):
    """The web config file."""

    tls_server_config: TlsServerConfig | None = None
    basic_auth_users: dict[str, str] = Field(default_factory=dict)

    @field_validator("basic_auth_users")
    @classmethod
    def _bcrypt_only(cls, users: dict[str, str]) -> dict[str, str]:
        for user, hashed in users.items():
            if not hashed.startswith(("$2a$", "$2b$", "$2y$")) or len(hashed) != 60:
                raise ValueError(f"user {user!r}: the password must be a bcrypt hash ($2y$...), not plain text")
        return users


def load_web_file(path: Path) -> WebFile:
    """Read and validate a web config file (paths inside it are relative to it)."""
    from agent.runtime.config import format_loc, parse_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WebConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        data = parse_yaml(text, str(path)) or {}
        web_file = WebFile.model_validate(data)
    except ValidationError as exc:
        raise WebConfigError(
            [
                f"{path}: {format_loc(e['loc'])}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            ]
        ) from None
    except Exception as exc:  # ConfigError from parse_yaml
        raise WebConfigError(getattr(exc, "errors", [str(exc)])) from None
    tls = web_file.tls_server_config
    if tls is not None:
        fix = {
            k: (path.parent / v if v is not None and not v.is_absolute() else v)
            for k, v in (
                ("cert_file", tls.cert_file),
                ("key_file", tls.key_file),
                ("client_ca_file", tls.client_ca_file),
            )
        }
        web_file = web_file.model_copy(update={"tls_server_config": tls.model_copy(update=fix)})
    return web_file


def server_ssl_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """An SSL context for the listener; raises WebConfigError naming the file that is wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls.min_version == "TLS13" else ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError([f"tls_server_config: cannot load {tls.cert_file} / {tls.key_file}: {exc}"]) from None
    if tls.client_auth_type != "NoClientCert":
        ctx.verify_mode = ssl.CERT_REQUIRED
        if tls.client_ca_file is None:
            raise WebConfigError([f"tls_server_config: client_auth_type {tls.client_auth_type} needs client_ca_file"])
        try:
            ctx.load_verify_locations(tls.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise WebConfigError([f"tls_server_config: cannot load {tls.client_ca_file}: {exc}"]) from None
    return ctx
