"""The relay over STARTTLS and implicit TLS with AUTH: a private CA from `ca_file`, the password from a
`password_file` (a secret), and a relay whose certificate is not trusted refused (retried, never plain)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from agent.notify.config import SmtpConfig
from agent.notify.smtp import SmtpUnavailable, send_batch
from agent.runtime.config import iter_secrets, load_config_text
from tests.peers.base import LOOPBACK, require_binary
from tests.peers.smtp import SmtpServer
from tests.probes.servers import Certs, make_certs

PASSWORD = "relay-pass-4f9c1d"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    require_binary("openssl", "openssl")
    return make_certs(tmp_path_factory.mktemp("smtp-certs"))


def _server_context(certs: Certs) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    return ctx


def _smtp(tmp_path: Path, port: int, security: str, ca: Path | None) -> SmtpConfig:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    ca_line = f", ca_file: {ca}" if ca else ""
    cfg = load_config_text(
        f"site: {{out: {tmp_path}/site}}\nnotify:\n  sender: status@example.com\n"
        f"  smtp: {{host: {LOOPBACK}, port: {port}, security: {security}, username: status,"
        f" password_file: {tmp_path}/pw{ca_line}}}\n",
        base_dir=tmp_path,
    )
    assert cfg.notify is not None and cfg.notify.smtp is not None
    assert PASSWORD in set(iter_secrets(cfg))  # redacted and audited like every other secret
    return cfg.notify.smtp


def _mail(to: str) -> bytes:
    local = to.split("@")[0]
    head = f"From: status@example.com\r\nTo: {to}\r\nSubject: t\r\nMessage-ID: <m.{local}@example.com>"
    return f"{head}\r\n\r\nx\r\n".encode()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_auth_with_a_private_ca(tmp_path: Path, certs: Certs, security: str) -> None:
    ctx = _server_context(certs)
    server = (
        SmtpServer(starttls=ctx, auth=("status", PASSWORD))
        if security == "starttls"
        else SmtpServer(implicit_tls=ctx, auth=("status", PASSWORD))
    ).start()
    try:
        sent: list[int] = []
        send_batch(
            _smtp(tmp_path, server.port, security, certs.ca),
            [(1, "a@x.example", _mail("a@x.example"))],
            "status@example.com",
            sent.append,
            lambda *a: None,
        )
    finally:
        server.stop()
    assert sent == [1] and server.logins == ["status"] and server.ids() == ["<m.a@example.com>"]


def test_untrusted_relay_certificate_is_refused(tmp_path: Path, certs: Certs) -> None:
    server = SmtpServer(starttls=_server_context(certs), auth=("status", PASSWORD)).start()
    try:
        with pytest.raises(SmtpUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            send_batch(
                _smtp(tmp_path, server.port, "starttls", None),
                [(1, "a@x.example", _mail("a"))],
                "status@example.com",
                lambda i: None,
                lambda *a: None,
            )
    finally:
        server.stop()
    assert server.messages == [] and server.logins == []  # the password never went out
