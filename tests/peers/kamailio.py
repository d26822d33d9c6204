"""Start Kamailio (Debian kamailio, kamailio-tls-modules) on 127.0.0.1 as a digest-auth registrar and proxy.

Users (fixed passwords, no database): alice / alice-secret and bob / bob-secret; anyone else gets 403.
REGISTER is challenged with 401 (qop=auth), INVITE with 407 and then routed, Record-Routed, to `uas_port`.
`kamailio -DD -E` keeps the main process in the foreground, so stopping its PID stops every child.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port, free_port_both, require_binary, tcp_listening

TEMPLATE = Path(__file__).resolve().parent / "kamailio.cfg.tmpl"
IDENTITY_TEMPLATE = Path(__file__).resolve().parent / "kamailio_identity.cfg.tmpl"
"""Checks the caller's identity (digest user = From user) and answers 403 to wrong credentials."""
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


@dataclass
class Kamailio:
    """A running Kamailio: SIP port (UDP and TCP), TLS port (0 without TLS), and its certificate."""

    process: PeerProcess
    port: int
    tls_port: int
    cert: Path | None

    def uri(self, user: str = "", transport: str = "") -> str:
        """sip: URI of this proxy; `transport="tls"` gives its TLS port."""
        who = f"{user}@" if user else ""
        port = self.tls_port if transport == "tls" else self.port
        return f"sip:{who}{LOOPBACK}:{port}"

    def stop(self) -> None:
        """Stop the main process by PID (it takes its children with it)."""
        self.process.stop()


def make_certificate(directory: Path, name: str = "kamailio") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made now with openssl; (cert, key)."""
    openssl = require_binary("openssl", "openssl")
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass(frozen=True)
class KamailioTls:
    """What a Kamailio config needs to listen for TLS: its port, certificate and the two config snippets."""

    port: int
    cert: Path
    globals: str
    module: str


def kamailio_tls(work_dir: Path) -> KamailioTls:
    """A certificate, a tls.cfg and a free port for a Kamailio TLS listener (kamailio-tls-modules)."""
    if not (MODULES / "tls.so").exists():
        require_binary("kamailio-tls-modules-missing", "kamailio-tls-modules")
    port = free_port()
    cert, key = make_certificate(work_dir)
    tls_cfg = work_dir / "tls.cfg"
    tls_cfg.write_text(
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
        f"private_key = {key}\ncertificate = {cert}\n\n"
        "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
    )
    return KamailioTls(
        port, cert, f"enable_tls=yes\nlisten=tls:{LOOPBACK}:{port}",
        f'loadmodule "tls.so"\nmodparam("tls", "config", "{tls_cfg}")',
    )  # fmt: skip


def start_kamailio(
    work_dir: Path, *, algorithm: str = "MD5", uas_port: int = 9, tls: bool = False, template: Path = TEMPLATE
) -> Kamailio:
    """Start Kamailio challenging with `algorithm` (MD5 or SHA-256) and routing INVITEs to uas_port;
    `template=IDENTITY_TEMPLATE` for the proxy that checks identity and answers 403 to wrong credentials."""
    binary = require_binary("kamailio", "kamailio")
    work_dir.mkdir(parents=True, exist_ok=True)
    port = free_port_both()
    tls_port, cert = 0, None
    tls_globals = tls_module = ""
    if tls:
        setup = kamailio_tls(work_dir)
        tls_port, cert, tls_globals, tls_module = setup.port, setup.cert, setup.globals, setup.module
    text = template.read_text()
    for name, value in {
        "PORT": str(port), "UAS_PORT": str(uas_port), "ALGORITHM": algorithm,
        "TLS_GLOBALS": tls_globals, "TLS_MODULE": tls_module,
    }.items():  # fmt: skip
        text = text.replace(f"@@{name}@@", value)
    cfg = work_dir / "kamailio.cfg"
    cfg.write_text(text)
    argv = [binary, "-DD", "-E", "-f", str(cfg), "-Y", str(work_dir), "-m", "32", "-M", "8"]
    proc = PeerProcess(argv, cwd=work_dir, name=f"kamailio-{port}").start(work_dir)
    proc.wait_ready(lambda: tcp_listening(port) and (not tls or tcp_listening(tls_port)), timeout=15)
    return Kamailio(proc, port, tls_port, cert)
