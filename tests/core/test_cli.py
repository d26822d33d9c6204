"""The `dialtone` command as a user runs it: a real process, real signals, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.core.helpers import agent_config
from tests.peers.base import free_port, static_http_server, tcp_listening, wait_until

ROOT = Path(__file__).parent.parent.parent


def dialtone(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def start_agent(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "-c", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        body: bytes = r.read()  # urlopen's response is typed Any
        return body.decode()


@pytest.fixture
def target_server():
    """A real HTTP target in its own process (python's http.server), stopped by PID."""
    with static_http_server(ROOT / "config") as port:
        yield port


def test_check_config_exit_codes(tmp_path: Path) -> None:
    ok = dialtone("check-config", str(ROOT / "config" / "dialtone.yaml"))
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("vantage: UPPER\nbogus: 1\n")
    r = dialtone("check-config", str(bad))
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{bad}: vantage: String should match pattern '^[a-z0-9][a-z0-9_.-]{{0,62}}$'",
        f"{bad}: bogus: unknown key",
    ]
    assert "Traceback" not in r.stderr


def test_bad_usage_exits_2_without_traceback() -> None:
    for args in (
        ["nosuchcommand"],
        ["probe"],
        ["probe", "smtp", "x"],
        ["probe", "http", "http://x", "--set", "oops"],
        ["probe", "http", "ftp://x"],
        ["probe", "http", "http://127.0.0.1/", "--timeout", "soon"],
    ):
        r = dialtone(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip(), args


def test_probe_json_ok_and_failed(target_server: int) -> None:
    r = dialtone("probe", "http", f"http://127.0.0.1:{target_server}/dialtone.yaml", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"target", "kind", "ok", "error", "message", "duration_seconds", "phases", "values"}
    assert out["ok"] is True and out["values"]["status_code"] == 200 and "connect" in out["phases"]
    r = dialtone("probe", "http", f"http://127.0.0.1:{target_server}/missing", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["ok"] is False and out["error"] == "http_status"
    r = dialtone("probe", "tcp", f"127.0.0.1:{free_port()}", "--json", "--timeout", "2s")
    assert r.returncode == 1 and json.loads(r.stdout)["error"] == "connect_refused"


def test_probe_a_configured_target(tmp_path: Path, target_server: int) -> None:
    cfg = agent_config(tmp_path, target_server, free_port())
    r = dialtone("probe", "-c", str(cfg), "portal-health", "--json")
    assert json.loads(r.stdout)["target"] == "portal-health"
    r = dialtone("probe", "-c", str(cfg), "nope")
    assert r.returncode == 2 and "no target 'nope'" in r.stderr


def test_sigterm_stops_within_two_seconds_and_sighup_survives_a_broken_config(
    tmp_path: Path, target_server: int
) -> None:
    listen = free_port()
    cfg = agent_config(tmp_path, target_server, listen)
    proc = start_agent(cfg)
    try:
        wait_until(lambda: tcp_listening(listen), timeout=20, what="agent /metrics")
        wait_until(lambda: "probe_success{" in metrics(listen), what="first probe")
        good = cfg.read_text()
        cfg.write_text(good + "\nbogus: [\n")
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: "dialtone_config_last_reload_successful 0.0" in metrics(listen), what="refused reload")
        assert "probe_success{" in metrics(listen)
        cfg.write_text(good.replace("portal-health", "portal-renamed"))
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: 'target="portal-renamed"' in metrics(listen), what="reloaded target")
        assert 'target="portal-health"' not in metrics(listen)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(5)
        assert time.monotonic() - t0 < 2.0
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    log = proc.stdout.read() if proc.stdout else ""
    assert "reload refused" in log and "invalid YAML" in log


def test_port_in_use_and_unwritable_history_exit_2_before_starting(tmp_path: Path, target_server: int) -> None:
    cfg = agent_config(tmp_path, target_server, target_server)
    r = dialtone("run", "-c", str(cfg))
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{target_server}" in r.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cfg2 = agent_config(tmp_path, target_server, free_port())
    cfg2.write_text(cfg2.read_text().replace(str(tmp_path / "history.sqlite"), str(blocker / "history.sqlite")))
    r = dialtone("run", "-c", str(cfg2), timeout=15)
    assert r.returncode == 2 and "cannot start" in r.stderr and str(blocker) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
