"""Hostile config files against the real `dialtone` CLI and a running `dialtone run` (issue 16, break 4):
an alias bomb is refused at once with the limit it broke, a huge file is refused by size, and a reload that
parses for seconds runs beside the loop, so /-/healthy keeps answering and probing goes on."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from agent.core.config_yaml import MAX_CONFIG_BYTES, MAX_NODES
from tests.core.helpers import agent_config
from tests.faults.test_history_and_signals import ROOT, probes_total, run_agent, sample, target_server
from tests.peers.base import free_port, wait_until


def bomb(levels: int) -> str:
    """The billion laughs: each level is nine aliases of the one before (9**levels strings, a few hundred bytes)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def check_config(path: Path, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "check-config", str(path)],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def test_alias_bomb_is_refused_at_once_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(9))  # 9**9 = 387 million strings once expanded
    assert path.stat().st_size < 500
    started = time.monotonic()
    done = check_config(path)
    assert time.monotonic() - started < 20
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"{path}: invalid YAML: too many nodes: more than {MAX_NODES} once aliases are expanded, the limit"
    )


def test_a_file_over_the_size_limit_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as fh:
        fh.write("# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    done = check_config(path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"{path}: too large: over {MAX_CONFIG_BYTES} bytes (16 MiB), the limit for a config file"
    )


def _healthy_latencies(port: int, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=30) as r:
                r.read()
        except OSError:
            out.append(float("inf"))
            return
        out.append(time.monotonic() - started)
        time.sleep(0.02)


def test_reload_of_a_bomb_or_a_slow_config_never_freezes_the_agent(tmp_path: Path) -> None:
    """SIGHUP with a 9-level bomb (refused by the limit) and then a 6-level one (half a million nodes: under
    the limits, seconds to expand and validate, then refused for its unknown keys): /-/healthy answers within
    half a second throughout, probing goes on, and the running config is kept."""
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen, interval="150ms")
        good = cfg.read_text()
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: probes_total(listen) >= 2, what="first probes")
            latencies: list[float] = []
            stop = threading.Event()
            watcher = threading.Thread(target=_healthy_latencies, args=(listen, stop, latencies))
            watcher.start()
            try:
                for text, ok in ((bomb(9), 0), (good, 1), (bomb(6), 0)):
                    cfg.write_text(text)
                    before = probes_total(listen)
                    proc.send_signal(signal.SIGHUP)
                    wait_until(
                        lambda ok=ok: (
                            sample(  # type: ignore[misc]  # the default binds the loop variable
                                listen, "dialtone_config_last_reload_successful"
                            )
                            == ok
                        ),
                        timeout=60,
                        what=f"the reload to end with success={ok}",
                    )
                    wait_until(
                        lambda before=before: probes_total(listen) >= before + 3,  # type: ignore[misc]
                        what="probing to go on",
                    )
            finally:
                stop.set()
                watcher.join(40)
            cfg.write_text(good)
            assert max(latencies) < 0.5, f"/-/healthy took {max(latencies):.2f}s during a reload"
            assert len(latencies) > 20
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=15)
        assert "too many nodes" in out
        assert "unknown key" in out
