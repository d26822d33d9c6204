"""Shared TLS helpers for probes: SSL context building (for the `tls_config` block), certificate expiry."""

from __future__ import annotations

import calendar
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent.core.model import MetricSpec

if TYPE_CHECKING:
    from pydantic import SecretStr


class TlsSettings(Protocol):
    """What a client context is built from: `agent.net.tls_config.TlsConfig` (the `tls_config` block) is one.

    A protocol, so that the config block can load its files through this module (only when it names some)
    without this module importing the config back.
    """

    @property
    def verify(self) -> bool:
        """Verify the peer's certificate and name."""

    @property
    def ca_file(self) -> Path | None:
        """A private CA bundle instead of the system roots."""

    @property
    def cert_file(self) -> Path | None:
        """The client certificate."""

    @property
    def key_file(self) -> Path | None:
        """The client certificate's key."""

    @property
    def key_password(self) -> SecretStr | None:
        """The key's passphrase."""


SSL_EXPIRY = MetricSpec(
    "ssl_earliest_cert_expiry",
    "probe_ssl_earliest_cert_expiry",
    "Unix time when the peer's certificate expires (leaf certificate).",
)
"""The metric both HTTP and TCP probes export for ssl_earliest_cert_expiry."""


_SHARED: dict[tuple[object, ...], ssl.SSLContext] = {}


def shared_context(cfg: TlsSettings, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """build_context, cached: ten thousand targets with one TLS setup share one context (and one CA store)."""
    password = cfg.key_password.get_secret_value() if cfg.key_password else None
    # File mtimes are part of the key so a rotated CA or client certificate is picked up without a restart.
    files = tuple((p, _mtime(p)) for p in (cfg.ca_file, cfg.cert_file, cfg.key_file) if p is not None)
    key = (cfg.verify, files, password, alpn)
    ctx = _SHARED.get(key)
    if ctx is None:
        if len(_SHARED) > 256:
            _SHARED.clear()
        ctx = _SHARED[key] = build_context(cfg, alpn)
    return ctx


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def build_context(cfg: TlsSettings, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """A client SSLContext for `cfg`; raises ValueError naming the file that could not be loaded."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cfg.verify:
        try:
            if cfg.ca_file is not None:
                # A private CA replaces the system roots, as in blackbox_exporter's tls_config.
                ctx.load_verify_locations(cafile=str(cfg.ca_file))
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"ca_file: cannot load {cfg.ca_file}: {_reason(exc)}") from None
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.cert_file is not None:
        password = cfg.key_password.get_secret_value() if cfg.key_password else None
        try:
            ctx.load_cert_chain(str(cfg.cert_file), str(cfg.key_file) if cfg.key_file else None, password=password)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"cert_file/key_file: cannot load {cfg.cert_file}"
                f"{' / ' + str(cfg.key_file) if cfg.key_file else ''}: {_reason(exc)}"
            ) from None
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


# OpenSSL X509_V_ERR_* codes -> the short detail carried in a tls_failed message.
_VERIFY_DETAIL = {
    9: "cert_not_yet_valid",
    10: "cert_expired",
    18: "cert_untrusted",
    19: "cert_untrusted",
    20: "cert_untrusted",
    21: "cert_untrusted",
    23: "cert_revoked",
    62: "cert_hostname_mismatch",
    64: "cert_hostname_mismatch",
}


def describe_tls_error(exc: ssl.SSLError) -> str:
    """A tls_failed message starting with a stable detail word: 'cert_expired: certificate has expired'."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = _VERIFY_DETAIL.get(exc.verify_code, "cert_invalid")
        return f"{detail}: {exc.verify_message}"
    reason = str(exc.reason or exc).lower()
    if "alert" in reason and "certificate" in reason:
        # The server refused our client certificate (or its absence).
        return f"client_cert_rejected: {reason.replace('_', ' ')}"
    return f"handshake_failed: {reason.replace('_', ' ')}"


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """The peer certificate's notAfter as unix seconds (leaf only: Python 3.11 exposes no chain)."""
    if ssl_object is None:
        return None
    try:
        der = ssl_object.getpeercert(binary_form=True)
        return cert_not_after(der) if der else None
    except ValueError:  # no completed handshake, or not a certificate we can read
        return None


# --- a minimal DER reader: just enough of RFC 5280 to reach tbsCertificate.validity.notAfter ---------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `pos`."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def cert_not_after(der: bytes) -> float:
    """notAfter of a DER X.509 certificate, as unix seconds; ValueError if it is not one."""
    tag, start, _ = _tlv(der, 0)
    if tag != 0x30:
        raise ValueError("not a certificate")
    tag, pos, _ = _tlv(der, start)  # tbsCertificate
    if tag != 0x30:
        raise ValueError("not a certificate")
    if der[pos : pos + 1] == b"\xa0":  # [0] EXPLICIT version
        pos = _tlv(der, pos)[2]
    for _ in range(3):  # serialNumber, signature, issuer
        pos = _tlv(der, pos)[2]
    tag, vpos, _ = _tlv(der, pos)  # validity
    if tag != 0x30:
        raise ValueError("no validity")
    not_after = _tlv(der, _tlv(der, vpos)[2])
    return _der_time(der[not_after[1] : not_after[2]], not_after[0])


def _der_time(raw: bytes, tag: int) -> float:
    text = raw.decode("ascii")
    if not text.endswith("Z"):
        raise ValueError("certificate time is not UTC")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY >= 50 is 19YY
        yy = int(text[0:2])
        year, rest = (1900 + yy if yy >= 50 else 2000 + yy), text[2:]
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        year, rest = int(text[0:4]), text[4:]
    else:
        raise ValueError("unknown time type")
    month, day, hour, minute, sec = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    return float(calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0)))
