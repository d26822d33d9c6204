"""Start SIPp (Debian sip-tester) as a UAS on 127.0.0.1 with one of the scenarios in tests/peers/."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port, free_port_both, require_binary, tcp_listening

SCENARIOS = Path(__file__).resolve().parent.parent / "peers"


def udp_bound(port: int) -> bool:
    """True when some socket is bound to UDP 127.0.0.1:port (it cannot be bound again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


@dataclass
class Sipp:
    """A running SIPp: its SIP port and media port."""

    process: PeerProcess
    port: int
    media_port: int
    transport: str

    def uri(self, user: str = "") -> str:
        """sip: URI of this UAS."""
        who = f"{user}@" if user else ""
        return f"sip:{who}{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        """Stop by PID."""
        self.process.stop()


def start_sipp(
    scenario: str,
    log_dir: Path,
    *,
    transport: str = "udp",
    echo: bool = False,
    extra: tuple[str, ...] = (),
    scenario_file: Path | None = None,
) -> Sipp:
    """Start a SIPp UAS running tests/peers/sipp_<scenario>_uas.xml (or `scenario_file`); every socket on
    127.0.0.1."""
    binary = require_binary("sipp", "sip-tester")
    port = free_port_both()
    media = free_port(socket.SOCK_DGRAM)
    argv = [
        binary, "-sf", str(scenario_file or SCENARIOS / f"sipp_{scenario}_uas.xml"),
        "-i", LOOPBACK, "-p", str(port), "-t", "u1" if transport == "udp" else "t1",
        # Without these SIPp binds 0.0.0.0:8888 for control and media ports from 6000.
        "-ci", LOOPBACK, "-cp", str(free_port(socket.SOCK_DGRAM)),
        "-mi", LOOPBACK, "-mp", str(media),
        "-nostdin", "-trace_err", "-max_socket", "64",
        *(["-rtp_echo"] if echo else []),
        *extra,
    ]  # fmt: skip
    proc = PeerProcess(argv, cwd=log_dir, name=f"sipp-{scenario}-{port}").start(log_dir)
    check = (lambda: udp_bound(port)) if transport == "udp" else (lambda: tcp_listening(port))
    proc.wait_ready(check, timeout=10)
    return Sipp(proc, port, media, transport)
