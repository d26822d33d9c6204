"""sip_register and calls through Kamailio with digest auth (MD5 and SHA-256), over UDP, TCP and TLS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.kamailio import Kamailio, start_kamailio
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def kamailio_md5(tmp_path_factory) -> Iterator[Kamailio]:
    k = start_kamailio(tmp_path_factory.mktemp("kam-md5"), algorithm="MD5", tls=True)
    yield k
    k.stop()


@pytest.fixture(scope="module")
def kamailio_sha256(tmp_path_factory) -> Iterator[Kamailio]:
    k = start_kamailio(tmp_path_factory.mktemp("kam-sha256"), algorithm="SHA-256")
    yield k
    k.stop()


def _bindings(k: Kamailio) -> str:
    return k.process.log()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_md5_right_password(kamailio_md5, transport):
    block = {"uri": kamailio_md5.uri("alice"), "transport": transport, "username": "alice", "password": "alice-secret"}
    result = await run_probe("sip_register", block)
    assert result.ok, (result.error, result.message)
    assert result.values["status_code"] == 200
    assert {"register", "unregister"} <= set(result.phases)


async def test_register_sha256_right_password(kamailio_sha256):
    block = {"uri": kamailio_sha256.uri("bob"), "username": "bob", "password": "bob-secret"}
    result = await run_probe("sip_register", block)
    assert result.ok, (result.error, result.message)


@pytest.mark.parametrize("which", ["md5", "sha256"])
async def test_wrong_password_is_auth_failed(kamailio_md5, kamailio_sha256, which):
    k = kamailio_md5 if which == "md5" else kamailio_sha256
    block = {"uri": k.uri("alice"), "username": "alice", "password": "not-the-password"}
    result = await run_probe("sip_register", block)
    assert result.error == "auth_failed", result.message
    assert result.values["status_code"] == 401


async def test_unknown_user_is_403(kamailio_md5):
    block = {"uri": kamailio_md5.uri("mallory"), "username": "mallory", "password": "whatever"}
    result = await run_probe("sip_register", block)
    assert result.error == "error_response"
    assert result.values["status_code"] == 403


async def test_no_credentials_is_auth_required(kamailio_md5):
    result = await run_probe("sip_register", {"uri": kamailio_md5.uri("alice")})
    assert result.error == "auth_required"
    assert result.values["status_code"] == 401


async def test_password_file_is_read(kamailio_md5, tmp_path: Path):
    secret = tmp_path / "pw"
    secret.write_text("alice-secret\n")
    block = {"uri": kamailio_md5.uri("alice"), "username": "alice", "password_file": str(secret)}
    result = await run_probe("sip_register", block)
    assert result.ok, result.message


async def test_tls_with_trusted_certificate(kamailio_md5):
    k = kamailio_md5
    block = {"uri": k.uri("alice", "tls"), "transport": "tls", "username": "alice", "password": "alice-secret",
             "ca_file": str(k.cert), "server_name": "localhost"}  # fmt: skip
    result = await run_probe("sip_register", block)
    assert result.ok, (result.error, result.message)


async def test_tls_untrusted_certificate_is_tls_failed(kamailio_md5):
    k = kamailio_md5
    block = {"uri": k.uri("alice", "tls"), "transport": "tls", "username": "alice", "password": "alice-secret"}
    result = await run_probe("sip_register", block)
    assert result.error == "tls_failed", result.message
    assert "certificate" in result.message


async def test_tls_wrong_name_is_tls_failed(kamailio_md5):
    k = kamailio_md5
    block = {"uri": k.uri("alice", "tls"), "transport": "tls", "ca_file": str(k.cert),
             "server_name": "not-the-name.example"}  # fmt: skip
    result = await run_probe("sip_options", block)
    assert result.error == "tls_failed", result.message


async def test_password_never_logged(kamailio_md5, caplog):
    caplog.set_level("DEBUG")
    block = {"uri": kamailio_md5.uri("alice"), "username": "alice", "password": "alice-secret"}
    result = await run_probe("sip_register", block)
    assert result.ok
    text = caplog.text
    assert "REGISTER" in text  # the dumps were logged...
    assert "alice-secret" not in text
    assert re.search(r"Authorization: <redacted>", text)
    assert not re.search(r"response=\"[0-9a-f]+\"", text)  # ...with the digest response redacted
