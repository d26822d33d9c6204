"""The `tls_config` block of a probe: verification, private CA, client certificate, SNI name.

Kept apart from agent.net.tlsinfo so that validating a config without TLS files never imports ssl.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, field_validator, model_validator

from agent.core.config_base import ConfigModel, config_relative


class TlsConfig(ConfigModel):
    """TLS settings of a probe: verification, private CA, client certificate, SNI name."""

    verify: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    key_password: SecretStr | None = None
    server_name: str | None = None

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _relative_to_config(cls, v: Path | None) -> Path | None:
        # Paths in a config file are relative to that file, like `*_file` secrets.
        return None if v is None else config_relative(v)

    @model_validator(mode="after")
    def _loadable(self) -> TlsConfig:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file (the client certificate)")
        if self.key_password is not None and self.cert_file is None:
            raise ValueError("key_password needs cert_file and its key")
        if self.ca_file is not None or self.cert_file is not None:
            # Load now so a missing file or a wrong passphrase is a config error, not a probe failure; the
            # cache means ten thousand targets sharing one client certificate load it once.
            from agent.net.tlsinfo import shared_context  # here: only a config with TLS files loads ssl

            shared_context(self)
        return self
