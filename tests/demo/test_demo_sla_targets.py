"""`make run`'s /metrics carries every component's SLA target, after start-up and after a reload.

The shipped burn-rate rules divide by these targets; they were missing (pruned with the targets' fragments)
and, once back, the core tier read 0.9998999999999999.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.demo.shipped import ROOT, shipped_config
from tests.peers.base import tcp_listening, wait_until

pytestmark = pytest.mark.peer

EXPECTED = [
    'dialtone_component_sla_target_ratio{component="portal",tier="supporting"} 0.98',
    'dialtone_component_sla_target_ratio{component="api",tier="supporting"} 0.98',
    'dialtone_component_sla_target_ratio{component="voice",tier="voice_messaging"} 0.9995',
    'dialtone_component_sla_target_ratio{component="sip-edge",tier="core"} 0.9999',
    'dialtone_component_sla_target_ratio{component="calling",tier="core"} 0.9999',
    'dialtone_component_sla_target_ratio{component="inbound",tier="voice_messaging"} 0.9995',
]


def _targets(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text: str = r.read().decode()
    return [line for line in text.splitlines() if line.startswith("dialtone_component_sla_target_ratio{")]


def test_sla_targets_on_metrics_at_start_and_after_reload(tmp_path: Path) -> None:
    path, ports = shipped_config(tmp_path)
    log = (tmp_path / "agent.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "-c", str(path)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: tcp_listening(ports["listen"]), timeout=60, what="the agent's /metrics")
        wait_until(lambda: bool(_targets(ports["listen"])), timeout=30, what="the SLA targets on /metrics")
        assert _targets(ports["listen"]) == EXPECTED
        reload = urllib.request.Request(f"http://127.0.0.1:{ports['listen']}/-/reload", method="POST")
        with urllib.request.urlopen(reload, timeout=10) as r:
            assert r.status == 200
        assert _targets(ports["listen"]) == EXPECTED
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, (tmp_path / "agent.log").read_text()
        log.close()
