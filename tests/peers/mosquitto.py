"""A real Mosquitto broker (Debian `mosquitto`) on a free loopback port, configured at test time.

Variants: anonymous; with a password file made by `mosquitto_passwd`; with TLS from certificates made by
`openssl` at test time (CA, server cert for 127.0.0.1, client cert). It runs in the foreground so the PID
we hold is the broker's own; `stop()` stops it by PID and `start()` brings it back on the same port with
its persistence file, so persistent sessions and retained messages survive the restart.
"""

from __future__ import annotations

import getpass
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, tcp_listening


@dataclass(frozen=True)
class Certs:
    """PEM files made at test time."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str) -> None:
    binary = require_binary("openssl", "openssl")
    subprocess.run([binary, *args], check=True, capture_output=True, timeout=30)


def make_certs(directory: Path) -> Certs:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC P-256, fast)."""
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=dialtone test CA",
    )
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "")):
        _openssl(
            "req",
            *ec,
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
            "-subj",
            f"/CN=dialtone-test-{name}",
        )
        extfile = d / f"{name}.ext"
        extfile.write_text((ext + "\n") if ext else "basicConstraints=CA:FALSE\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            str(d / f"{name}.pem"),
            "-extfile",
            str(extfile),
        )
    return Certs(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key")


@dataclass
class Mosquitto:
    """A running broker; `users` enables the password file, `certs` enables TLS."""

    tmp: Path
    users: dict[str, str] = field(default_factory=dict)
    certs: Certs | None = None
    require_client_cert: bool = False
    port: int = 0
    proc: PeerProcess | None = None
    starts: int = 0

    def config_text(self) -> str:
        """The mosquitto.conf written at test time."""
        d = self.tmp / "mosquitto"
        lines = [
            f"listener {self.port} {LOOPBACK}",
            # Ignored unless run as root; keeps the broker able to read files in the test's tmp dir.
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {d}/",
            "max_queued_messages 100000",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if self.users:
            lines += ["allow_anonymous false", f"password_file {d / 'passwd'}"]
        else:
            lines.append("allow_anonymous true")
        if self.certs:
            c = self.certs
            lines += [f"cafile {c.ca}", f"certfile {c.server_cert}", f"keyfile {c.server_key}"]
            if self.require_client_cert:
                lines.append("require_certificate true")
        return "\n".join(lines) + "\n"

    def _write_passwords(self, directory: Path) -> None:
        binary = require_binary("mosquitto_passwd", "mosquitto")
        path = directory / "passwd"
        path.unlink(missing_ok=True)
        for i, (user, password) in enumerate(self.users.items()):
            flags = ["-b", "-c"] if i == 0 else ["-b"]
            subprocess.run([binary, *flags, str(path), user, password], check=True, capture_output=True, timeout=30)

    def start(self) -> Mosquitto:
        """Start (or start again on the same port) and wait until it accepts connections."""
        binary = require_binary("mosquitto", "mosquitto")
        if not self.port:
            self.port = free_port()
        d = self.tmp / "mosquitto"
        d.mkdir(parents=True, exist_ok=True)
        if self.users and not (d / "passwd").exists():
            self._write_passwords(d)
        conf = d / "mosquitto.conf"
        conf.write_text(self.config_text())
        self.starts += 1
        self.proc = PeerProcess([binary, "-c", str(conf)], name=f"mosquitto-{self.starts}")
        self.proc.start(d)
        self.proc.wait_ready(lambda: tcp_listening(self.port))
        return self

    def stop(self) -> None:
        """Stop by PID (SIGTERM: it saves its persistence file first)."""
        if self.proc is not None:
            self.proc.stop()

    def log(self) -> str:
        """What the broker printed in its current run."""
        return self.proc.log() if self.proc else ""

    def sub_argv(self, topic: str, *extra: str) -> list[str]:
        """A mosquitto_sub command line for this broker (TLS and credentials not included)."""
        binary = require_binary("mosquitto_sub", "mosquitto-clients")
        return [binary, "-h", LOOPBACK, "-p", str(self.port), "-t", topic, *extra]

    def pub_argv(self, topic: str, *extra: str) -> list[str]:
        """A mosquitto_pub command line for this broker."""
        binary = require_binary("mosquitto_pub", "mosquitto-clients")
        return [binary, "-h", LOOPBACK, "-p", str(self.port), "-t", topic, *extra]

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
