"""The PSTN loop on 127.0.0.1: a Kamailio platform (registrar, DIDs to extensions, voicemail fallback, an
optional media relay like an SBC's) and a Kamailio carrier (trunk auth, routes +1801555xxxx to the platform,
answers 404/486/503 for three test numbers). Their own state is read with kamcmd over a ctl socket.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port, free_port_both, require_binary, tcp_listening
from tests.peers.kamailio import KamailioTls, kamailio_tls
from tests.sip.sipp import Sipp, udp_bound

PEERS = Path(__file__).resolve().parent.parent / "peers"
TRUNK_USER, TRUNK_PASSWORD = "trunk", "trunk-secret"
DID = "+18015550100"


def extension_password(extension: str) -> str:
    """The platform's password rule for an extension."""
    return f"secret-{extension}"


@dataclass
class KamailioPeer:
    """A running Kamailio with its SIP port and ctl socket."""

    process: PeerProcess
    port: int
    ctl: Path
    tls: KamailioTls | None = None

    def uri(self, user: str = "", transport: str = "") -> str:
        """sip: URI of this proxy; `transport="tls"` gives its TLS port."""
        port = self.tls.port if transport == "tls" and self.tls is not None else self.port
        return f"sip:{user + '@' if user else ''}{LOOPBACK}:{port}"

    def rpc(self, *command: str) -> str:
        """Run one kamcmd command against this instance's ctl socket; its output."""
        kamcmd = require_binary("kamcmd", "kamailio")
        done = subprocess.run(
            [kamcmd, "-s", f"unix:{self.ctl}", *command], capture_output=True, text=True, timeout=10, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"kamcmd {' '.join(command)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def dialogs(self) -> str:
        """`dlg.list`: empty text when no dialog is tracked."""
        return self.rpc("dlg.list").strip()

    def registrations(self) -> list[str]:
        """The AORs with a binding in the location table (from `ul.dump`)."""
        return [line.split(":", 1)[1].strip() for line in self.rpc("ul.dump").splitlines() if "AoR:" in line]

    def stop(self) -> None:
        """Stop by PID."""
        self.process.stop()


def _start(template: str, work_dir: Path, values: Mapping[str, str], port: int, tls: bool = False) -> KamailioPeer:
    binary = require_binary("kamailio", "kamailio")
    work_dir.mkdir(parents=True, exist_ok=True)
    ctl = work_dir / "kamailio.ctl"
    setup = kamailio_tls(work_dir) if tls else None
    snippets = {"TLS_GLOBALS": setup.globals if setup else "", "TLS_MODULE": setup.module if setup else ""}
    text = (PEERS / template).read_text()
    for name, value in {**values, **snippets, "PORT": str(port), "CTL": str(ctl)}.items():
        text = text.replace(f"@@{name}@@", value)
    cfg = work_dir / "kamailio.cfg"
    cfg.write_text(text)
    argv = [binary, "-DD", "-E", "-f", str(cfg), "-Y", str(work_dir), "-m", "32", "-M", "8"]
    proc = PeerProcess(argv, cwd=work_dir, name=f"kamailio-{port}").start(work_dir)
    ready = lambda: tcp_listening(port) and ctl.exists() and (setup is None or tcp_listening(setup.port))  # noqa: E731
    proc.wait_ready(ready, timeout=15)
    return KamailioPeer(proc, port, ctl, setup)


def start_platform(
    work_dir: Path,
    dids: Mapping[str, str],
    *,
    voicemail_port: int = 0,
    relay: tuple[int, int] | None = None,
    tls: bool = False,
) -> KamailioPeer:
    """The platform: `dids` maps each DID to an extension; an unregistered extension goes to voicemail
    (a SIPp UAS on `voicemail_port`) or gets 480. `relay` (port_a, port_b) rewrites the SDP so that media
    runs through an ImpairmentRelay: the callee sends to port_b, the caller to port_a."""
    did_map = "\n".join(f'    if ($rU == "{did}") {{ $rU = "{ext}"; }}' for did, ext in dids.items())
    if voicemail_port:
        voicemail = f'        $du = "sip:{LOOPBACK}:{voicemail_port}";'
    else:
        voicemail = '        sl_send_reply("480", "Temporarily Unavailable");\n        exit;'
    to_b, to_a = "", "    return;"
    if relay is not None:
        to_b = f'    subst_body("/m=audio [0-9]+ /m=audio {relay[1]} /");\n    t_on_reply("MEDIA");'
        to_a = f'    if (has_body("application/sdp")) subst_body("/m=audio [0-9]+ /m=audio {relay[0]} /");'
    values = {"DID_MAP": did_map, "VOICEMAIL": voicemail, "MEDIA_TO_B": to_b, "MEDIA_TO_A": to_a}
    return _start("kamailio_pstn_platform.cfg.tmpl", work_dir, values, free_port_both(), tls)


def start_carrier(work_dir: Path, platform_port: int) -> KamailioPeer:
    """The carrier: trunk digest auth, +1801555xxxx to the platform, 404/486/503 on +18015550404/486/503."""
    values = {"PLATFORM_PORT": str(platform_port), "TRUNK_USER": TRUNK_USER, "TRUNK_PASSWORD": TRUNK_PASSWORD}
    return _start("kamailio_pstn_carrier.cfg.tmpl", work_dir, values, free_port_both())


def start_ringing_phone(log_dir: Path) -> Sipp:
    """A SIPp phone that rings forever and takes one CANCEL (tests/pstn/sipp_ring_forever_uas.xml), then exits."""
    binary = require_binary("sipp", "sip-tester")
    port = free_port_both()
    argv = [
        binary, "-sf", str(Path(__file__).resolve().parent / "sipp_ring_forever_uas.xml"),
        "-i", LOOPBACK, "-p", str(port), "-t", "u1", "-ci", LOOPBACK, "-cp", str(free_port(socket.SOCK_DGRAM)),
        "-mi", LOOPBACK, "-mp", str(free_port(socket.SOCK_DGRAM)), "-nostdin", "-trace_err", "-m", "1",
    ]  # fmt: skip
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = PeerProcess(argv, cwd=log_dir, name=f"sipp-ringing-{port}").start(log_dir)
    proc.wait_ready(lambda: udp_bound(port), timeout=10)
    return Sipp(proc, port, 0, "udp")
