"""Certificate expiry from DER, checked against the openssl CLI, and TLS context building."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.net.tls_config import TlsConfig
from agent.net.tlsinfo import build_context, cert_not_after, shared_context
from tests.probes.servers import Certs, openssl_not_after


def _der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


@pytest.mark.parametrize("name", ["ca", "server_cert", "expired_cert", "self_signed_cert", "client_cert"])
def test_not_after_matches_openssl(certs: Certs, name: str) -> None:
    path = getattr(certs, name)
    assert cert_not_after(_der(path)) == openssl_not_after(path)


@given(st.binary(max_size=300))
def test_garbage_der_is_a_value_error(data: bytes) -> None:
    try:
        cert_not_after(data)
    except ValueError:
        pass
    except (IndexError, UnicodeDecodeError) as exc:  # pragma: no cover - the failure we guard against
        raise AssertionError(f"{type(exc).__name__} leaked for {data!r}") from exc


def test_truncated_certificate_is_a_value_error(certs: Certs) -> None:
    der = _der(certs.server_cert)
    for n in (0, 1, 5, 40, len(der) // 2):
        with pytest.raises(ValueError):
            cert_not_after(der[:n])
    with pytest.raises(ValueError):
        cert_not_after(b"\x30\x02\x30\x00")  # an empty tbsCertificate


def test_contexts(certs: Certs) -> None:
    strict = build_context(TlsConfig(ca_file=certs.ca))
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    loose = build_context(TlsConfig(verify=False))
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    cfg = TlsConfig(ca_file=certs.ca)
    assert shared_context(cfg) is shared_context(TlsConfig(ca_file=certs.ca))
    assert shared_context(cfg) is not shared_context(TlsConfig(verify=False))
