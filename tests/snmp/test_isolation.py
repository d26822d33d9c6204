"""Credentials stay with their target: two real snmpd devices share a v3 user name with different keys (and
different communities), polled concurrently by one running agent. Every target with its device's own keys
succeeds; every target with the other device's keys fails, on every poll."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_cli import metrics
from tests.peers.base import free_port, tcp_listening, wait_until
from tests.peers.snmpd import Snmpd, SnmpdUsers

pytestmark = pytest.mark.peer

ROOT = Path(__file__).resolve().parents[2]
USERS = {
    "a": SnmpdUsers(community="community-a", auth_key="auth-key-device-a", priv_key="priv-key-device-a"),
    "b": SnmpdUsers(community="community-b", auth_key="auth-key-device-b", priv_key="priv-key-device-b"),
}
EXPECTED = {  # target id -> success: "x-on-y" polls device y with device x's credentials
    "v3-a-on-a": 1, "v3-b-on-b": 1, "v3-a-on-b": 0, "v3-b-on-a": 0,
    "v2c-a-on-a": 1, "v2c-b-on-b": 1, "v2c-a-on-b": 0, "v2c-b-on-a": 0,
}  # fmt: skip


def _target(tid: str, address: str, users: SnmpdUsers) -> str:
    if tid.startswith("v3"):
        block = (
            f'{{address: "{address}", version: "3", user: {users.v3_user}, auth_key: {users.auth_key}, '
            f"priv_key: {users.priv_key}}}"
        )
    else:
        block = f'{{address: "{address}", community: {users.community}}}'
    return f"  - {{id: {tid}, component: gear, kind: snmp, interval: 1s, timeout: 900ms, snmp: {block}}}\n"


def _config(tmp: Path, listen: int, devices: dict[str, Snmpd]) -> Path:
    targets = "".join(_target(tid, devices[tid[-1]].address, USERS[tid.split("-")[1]]) for tid in EXPECTED)
    path = tmp / "dialtone.yaml"
    path.write_text(
        f"vantage: test\nlisten: 127.0.0.1:{listen}\nthresholds: {{failures: 1, successes: 1}}\n"
        f"history: {{path: {tmp / 'history.sqlite'}, batch_interval: 100ms}}\n"
        "components:\n  - {id: gear, name: Gear, tier: supporting}\ntargets:\n" + targets
    )
    return path


def _successes(listen: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for m in re.finditer(r'^probe_success\{target="([^"]+)"[^}]*\} (\S+)$', metrics(listen), re.M):
        out.setdefault(m.group(1), []).append(float(m.group(2)))
    return out


@pytest.mark.parametrize("same_engine_id", [False, True], ids=["own-engine-ids", "cloned-engine-id"])
def test_devices_sharing_a_user_name_keep_their_own_keys(tmp_path: Path, same_engine_id: bool) -> None:
    # A cloned VM image keeps its snmpEngineID: keys must still not leak between the two devices.
    extra = ["engineID dialtone-clone"] if same_engine_id else []
    devices = {name: Snmpd(tmp_path / name, users=USERS[name], extra=extra).start() for name in USERS}
    listen = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "-c", str(_config(tmp_path, listen, devices))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: tcp_listening(listen), timeout=20, what="agent /metrics")
        seen: dict[str, set[float]] = {tid: set() for tid in EXPECTED}
        rounds = 0
        deadline = time.monotonic() + 30
        while rounds < 8 and time.monotonic() < deadline:  # the latest result of each target, 8 times
            time.sleep(0.5)
            current = _successes(listen)
            if all(tid in current for tid in EXPECTED):
                rounds += 1
                for tid in EXPECTED:
                    seen[tid].update(current[tid])
        assert rounds == 8, f"not every target reported: {sorted(_successes(listen))}"
        assert {tid: sorted(seen[tid]) for tid in EXPECTED} == {tid: [float(ok)] for tid, ok in EXPECTED.items()}
        text = metrics(listen)
        assert 'probe_snmp_uptime_seconds{target="v3-a-on-a"' in text
        assert 'probe_snmp_uptime_seconds{target="v3-b-on-b"' in text
    finally:
        proc.terminate()
        proc.wait(10)
        for device in devices.values():
            device.stop()
