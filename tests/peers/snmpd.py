"""A real net-snmp agent (Debian `snmpd`) on a free loopback UDP port, configured at test time.

It serves a v2c community and v3 users made with createUser (authPriv SHA-256/AES, authNoPriv,
noAuthNoPriv). Extra config lines (``pass`` scripts, ``override``) can be added by the test. It runs in the
foreground (-f) so the PID we hold is snmpd's own and ``stop()`` really stops it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers.base import LOOPBACK, PeerProcess, free_port_both, require_binary


@dataclass(frozen=True)
class SnmpdUsers:
    """Credentials the agent accepts."""

    community: str = "dialtone-ro"
    v3_user: str = "opsuser"
    auth_key: str = "auth-secret-123"
    priv_key: str = "priv-secret-456"
    authonly_user: str = "authonly"
    noauth_user: str = "noauthuser"


@dataclass
class Snmpd:
    """A running snmpd; restartable on the same port with the same config (a 'reboot')."""

    tmp: Path
    users: SnmpdUsers = field(default_factory=SnmpdUsers)
    extra: Sequence[str] = ()
    port: int = 0
    proc: PeerProcess | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        """host:port of the agent."""
        return f"{LOOPBACK}:{self.port}"

    def config_text(self) -> str:
        """The snmpd.conf written at test time."""
        u = self.users
        lines = [
            f"agentaddress udp:{LOOPBACK}:{self.port}",
            "master no",
            f"rocommunity {u.community} {LOOPBACK}",
            f"createUser {u.v3_user} SHA-256 {u.auth_key} AES {u.priv_key}",
            f"rouser {u.v3_user} priv",
            f"createUser {u.authonly_user} SHA-512 {u.auth_key}",
            f"rouser {u.authonly_user} auth",
            f"createUser {u.noauth_user}",
            f"rouser {u.noauth_user} noauth",
            "sysLocation dialtone test rack",
            "sysContact ops@example.invalid",
            *self.extra,
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> Snmpd:
        """Start (or start again) and wait until it answers a v2c GET."""
        binary = require_binary("snmpd", "snmpd")
        if not self.port:
            self.port = free_port_both()
        conf_dir = self.tmp / "snmpd"
        persist = conf_dir / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        conf = conf_dir / "snmpd.conf"
        conf.write_text(self.config_text())
        argv = [
            binary,
            "-f",
            "-C",
            "-c",
            str(conf),
            "-Lf",
            str(conf_dir / "snmpd.out"),
            "-I",
            "-smux,mteTrigger,mteTriggerConf",
        ]
        self.starts += 1
        self.proc = PeerProcess(argv, name=f"snmpd-{self.starts}")
        env = {"SNMP_PERSISTENT_DIR": str(persist), "MIBS": "", "MIBDIRS": str(conf_dir)}
        self.proc.start(conf_dir, env=env)
        self.proc.wait_ready(self.answers, timeout=15)
        return self

    def answers(self) -> bool:
        """True when the agent answers a v2c GET of sysUpTime.0 (a hand-built datagram, no client lib)."""
        return udp_get_sysuptime(self.port, self.users.community)

    def stop(self) -> None:
        """Stop by PID."""
        if self.proc is not None:
            self.proc.stop()


def udp_get_sysuptime(port: int, community: str, timeout: float = 0.3) -> bool:
    """Send one v2c GET for sysUpTime.0 and report whether any response came back."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = _tlv(0x30, _tlv(0x06, oid) + b"\x05\x00")
    pdu = _tlv(0xA0, _tlv(0x02, b"\x01") + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind))
    msg = _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(msg, (LOOPBACK, port))
            return bool(s.recvfrom(4096)[0])
        except OSError:
            return False


def _tlv(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def write_pass_script(path: Path, base_oid: str, value_file: Path, kind: str = "counter") -> Path:
    """A net-snmp `pass_persist` script serving `<base_oid>.1` with the integer in `value_file` at each request.

    Lets a test move a counter (e.g. to just below 2**32, then past it) on a real agent. pass_persist, not
    pass: snmpd caches the output of plain `pass` commands for 30 s.
    """
    answer = f'echo "$BASE.1"; echo "{kind}"; cat "{value_file}"'
    path.write_text(
        "#!/bin/sh\n"
        f'BASE="{base_oid}"\n'
        "while read -r cmd; do\n"
        '  case "$cmd" in\n'
        "    PING) echo PONG ;;\n"
        f'    get) read -r oid; if [ "$oid" = "$BASE.1" ]; then {answer}; else echo NONE; fi ;;\n'
        "    getnext) read -r oid\n"
        '      if [ "$oid" = "$BASE" ] || [ "$oid" = "$BASE.0" ] || [ "${oid#"$BASE".}" = "$oid" ]; then\n'
        f"        {answer}; else echo NONE; fi ;;\n"
        "    set) read -r oid; read -r value; echo not-writable ;;\n"
        '    "") exit 0 ;;\n'
        "    *) echo NONE ;;\n"
        "  esac\n"
        "done\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def snmptrap_argv(argv: Sequence[str]) -> list[str]:
    """The command line of Debian's snmptrap with MIB loading off (numeric OIDs only)."""
    binary = require_binary("snmptrap", "snmp")
    return [binary, "-m", "", "-M", "/nonexistent-dialtone", *argv]


async def snmptrap(argv: Sequence[str], check: bool = True) -> tuple[int, str]:
    """Run snmptrap without blocking the loop (an inform waits for our receiver's answer)."""
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": "/nonexistent-dialtone", "SNMPCONFPATH": "/nonexistent"}
    proc = await asyncio.create_subprocess_exec(
        *snmptrap_argv(argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    text = out.decode(errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError(f"snmptrap {' '.join(argv)} failed ({proc.returncode}): {text}")
    return proc.returncode or 0, text
