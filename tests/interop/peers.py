"""Independent SIP and media stacks on 127.0.0.1: baresip (an echo extension), rtpengine (userspace media
relay) and a Kamailio registrar/proxy that can anchor media in that rtpengine. Free ports; stopped by PID.
"""

from __future__ import annotations

import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port, free_port_both, require_binary, tcp_listening
from tests.pstn.peers import PEERS, KamailioPeer, extension_password
from tests.sip.sipp import udp_bound

BARESIP_MODULES = Path("/usr/lib/baresip/modules")


def free_udp_range(size: int) -> tuple[int, int]:
    """A run of `size` consecutive UDP ports free on 127.0.0.1 right now."""
    for _ in range(200):
        first = free_port(socket.SOCK_DGRAM)
        if first + size > 65535:
            continue
        if not any(udp_bound(p) for p in range(first, first + size)):
            return first, first + size - 1
    raise RuntimeError(f"no {size} consecutive free UDP ports")


def free_port_pair() -> int:
    """A port P with P (TCP and UDP) and P+1 (TCP) free: baresip listens for TLS on the port after its SIP port."""
    for _ in range(100):
        port = free_port_both()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((LOOPBACK, port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


@dataclass
class Rtpengine:
    """A running rtpengine: its ng control port and the RTP port range it relays on."""

    process: PeerProcess
    ng_port: int
    ports: tuple[int, int]

    def ng(self, command: bytes) -> bytes:
        """Send one bencoded ng command; the bencoded reply without the cookie."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2.0)
            # rtpengine answers a repeated cookie from its cache (a retransmission): every command needs its own.
            s.sendto(secrets.token_hex(8).encode() + b" " + command, (LOOPBACK, self.ng_port))
            reply = s.recv(65535)
        return reply.split(b" ", 1)[1]

    def statistics(self) -> dict[str, int]:
        """rtpengine's own counters (ng `statistics`, current and total): sessions, media, packets relayed."""
        reply = self.ng(b"d7:command10:statisticse")
        return {k.decode(): int(v) for k, v in re.findall(rb"\d+:([a-z_]+)i(-?\d+)e", reply)}

    def stop(self) -> None:
        """Stop by PID."""
        self.process.stop()


def start_rtpengine(work_dir: Path) -> Rtpengine:
    """rtpengine in userspace only (`--table=-1`: no kernel forwarding), RTP and control on loopback."""
    binary = require_binary("rtpengine", "rtpengine-daemon")
    ng_port = free_port_both()
    low, high = free_udp_range(40)
    argv = [
        binary, "--foreground", "--log-stderr", "--table=-1", f"--interface={LOOPBACK}",
        f"--listen-ng={LOOPBACK}:{ng_port}", f"--port-min={low}", f"--port-max={high}", "--log-level=6",
        f"--pidfile={work_dir / 'rtpengine.pid'}",
    ]  # fmt: skip
    proc = PeerProcess(argv, cwd=work_dir, name=f"rtpengine-{ng_port}").start(work_dir)
    engine = Rtpengine(proc, ng_port, (low, high))
    proc.wait_ready(lambda: _pongs(engine), timeout=15)
    return engine


def _pongs(engine: Rtpengine) -> bool:
    try:
        return engine.ng(b"d7:command4:pinge") == b"d6:result4:ponge"
    except OSError:
        return False


def start_echo_proxy(work_dir: Path, rtpengine: Rtpengine | None = None) -> KamailioPeer:
    """Kamailio: registrar and digest-authenticating proxy for extensions; media through `rtpengine` if given."""
    binary = require_binary("kamailio", "kamailio")
    work_dir.mkdir(parents=True, exist_ok=True)
    port, ctl = free_port_both(), work_dir / "kamailio.ctl"
    values = {"PORT": str(port), "CTL": str(ctl), "RTPENGINE_MODULE": "", "MEDIA_OFFER": "    return;",
              "MEDIA_DELETE": "    return;", "MEDIA_ANSWER": "    return;"}  # fmt: skip
    if rtpengine is not None:
        # replace-origin and replace-session-connection: the SDP each side sees names rtpengine, not the peer.
        flags = '"replace-origin replace-session-connection ICE=remove"'
        values.update({
            "RTPENGINE_MODULE": f'loadmodule "rtpengine.so"\n'
                                f'modparam("rtpengine", "rtpengine_sock", "udp:{LOOPBACK}:{rtpengine.ng_port}")',
            "MEDIA_OFFER": f'    rtpengine_offer({flags});\n    t_on_reply("MEDIA_ANSWER");',
            "MEDIA_DELETE": "    rtpengine_delete();",
            "MEDIA_ANSWER": f'    if (has_body("application/sdp")) rtpengine_answer({flags});',
        })  # fmt: skip
    text = (PEERS / "kamailio_echo.cfg.tmpl").read_text()
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    cfg = work_dir / "kamailio.cfg"
    cfg.write_text(text)
    argv = [binary, "-DD", "-E", "-f", str(cfg), "-Y", str(work_dir), "-m", "32", "-M", "8"]
    proc = PeerProcess(argv, cwd=work_dir, name=f"kamailio-{port}").start(work_dir)
    proc.wait_ready(lambda: tcp_listening(port) and ctl.exists(), timeout=15)
    return KamailioPeer(proc, port, ctl)


@dataclass
class Baresip:
    """A running baresip registered as `extension`, answering every call with its echo module."""

    process: PeerProcess
    port: int
    extension: str
    rtp_ports: tuple[int, int]

    def stop(self) -> None:
        """Stop by PID."""
        self.process.stop()


def start_baresip(work_dir: Path, registrar: KamailioPeer, extension: str) -> Baresip:
    """baresip, headless with its own config dir, registered as `extension` on `registrar` (digest auth).

    Audio goes through the echo module: it answers each incoming call and plays back what it hears
    (aubridge joins the call's player to its source), RFC 4733 events too.
    """
    binary = require_binary("baresip", "baresip")
    work_dir.mkdir(parents=True, exist_ok=True)
    port = free_port_pair()
    rtp = free_udp_range(20)
    (work_dir / "config").write_text("\n".join([
        "poll_method epoll", f"sip_listen {LOOPBACK}:{port}", f"net_interface {LOOPBACK}",
        "audio_player aubridge,none", "audio_source aubridge,none", "audio_alert aubridge,none",
        f"rtp_ports {rtp[0]}-{rtp[1]}", f"module_path {BARESIP_MODULES}",
        "module g711.so", "module aubridge.so", "module_app account.so", "module_app echo.so", "",
    ]))  # fmt: skip
    aor = f"sip:{extension}@{LOOPBACK}:{registrar.port};transport=udp"
    (work_dir / "accounts").write_text(f"<{aor}>;auth_pass={extension_password(extension)};regint=600\n")
    (work_dir / "contacts").write_text("")
    proc = PeerProcess([binary, "-f", str(work_dir)], cwd=work_dir, name=f"baresip-{port}").start(work_dir)
    proc.wait_ready(lambda: extension in registrar.registrations(), timeout=15)
    return Baresip(proc, port, extension, rtp)
