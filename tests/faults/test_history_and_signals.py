"""A failing history store, SIGHUP storms and a wall-clock step, each against a real `dialtone run` process."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.core.helpers import agent_config
from tests.peers.base import free_port, require_binary, static_http_server, tcp_listening, wait_until
from tests.unprivileged import readable_runtime

ROOT = Path(__file__).parent.parent.parent


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        body: bytes = r.read()  # urlopen's response is typed Any
        return body.decode()


def sample(port: int, line_start: str) -> float:
    for line in metrics(port).splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return float("nan")


@contextmanager
def target_server() -> Iterator[int]:
    """A real HTTP target in its own process whose /health answers 200."""
    root = Path(tempfile.mkdtemp(prefix="dialtone-target-"))
    (root / "health").write_text("ok\n")
    with static_http_server(root) as port:
        yield port


@contextmanager
def run_agent(
    cfg: Path,
    listen: int,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    preexec: Callable[[], object] | None = None,
    python: str = sys.executable,
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [*(prefix or []), python, "-m", "agent", "run", "-c", str(cfg)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
    )
    try:
        try:
            wait_until(lambda: proc.poll() is not None or tcp_listening(listen), timeout=30, what="agent")
        finally:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"the agent exited with {proc.returncode}: {out}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


def probes_total(port: int) -> float:
    return sample(port, 'dialtone_probes_total{kind="http",result="success"}')


def test_full_disk_rlimit_fsize_probing_goes_on(tmp_path: Path) -> None:
    """With RLIMIT_FSIZE standing in for a full disk, writes fail and are counted; probing and /metrics go on."""
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen, interval="150ms")

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

        with run_agent(cfg, listen, preexec=limit) as proc:
            wait_until(
                lambda: sample(listen, "dialtone_history_write_errors_total") >= 1,
                timeout=60,
                what="history write errors under the file-size limit",
            )
            before = probes_total(listen)
            wait_until(lambda: probes_total(listen) >= before + 5, what="probing to go on")
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
        assert "history" in out and "Traceback" not in out


def test_history_directory_turns_read_only_then_recovers(tmp_path: Path) -> None:
    """The agent runs as an unprivileged user. Its history folder is replaced by one it cannot write: writes
    fail and are counted, probing goes on; once the folder is writable again the queued records are written."""
    setpriv = require_binary("setpriv", "util-linux")
    if os.geteuid() != 0:
        pytest.skip("giving the folder to another user needs root")
    tmp_path = Path(tempfile.mkdtemp(prefix="dialtone-ro-"))  # pytest's own tmp folders are closed to others
    tmp_path.chmod(0o755)
    hist = tmp_path / "hist"
    hist.mkdir()
    os.chown(hist, 65534, 65534)
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen, interval="150ms")
        cfg.write_text(cfg.read_text().replace(str(tmp_path / "history.sqlite"), str(hist / "h.sqlite")))
        cfg.chmod(0o644)
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        python, env = readable_runtime(tmp_path / "runtime")  # the checkout may be closed to the child
        with run_agent(cfg, listen, env=env, prefix=prefix, python=python, cwd=tmp_path) as proc:
            wait_until(lambda: (hist / "h.sqlite").exists() and probes_total(listen) >= 2, what="history file")
            hist.rename(tmp_path / "hist.old")
            hist.mkdir(mode=0o755)  # owned by root: read-only for the agent
            wait_until(
                lambda: sample(listen, "dialtone_history_write_errors_total") >= 1,
                timeout=30,
                what="write errors on a read-only store",
            )
            before = probes_total(listen)
            wait_until(lambda: probes_total(listen) >= before + 5, what="probing to go on")
            assert sample(listen, "dialtone_history_queue_depth") > 0
            os.chown(hist, 65534, 65534)
            wait_until(
                lambda: sample(listen, "dialtone_history_queue_depth") == 0,
                timeout=30,
                what="the queue to drain into the writable store",
            )
            assert proc.poll() is None
        with sqlite3.connect(hist / "h.sqlite") as conn:
            assert conn.execute("SELECT count(*) FROM results").fetchone()[0] >= 5


def test_corrupt_history_at_startup_is_moved_aside(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen)
        (tmp_path / "history.sqlite").write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: probes_total(listen) >= 2, what="probing on a new store")
        out = proc.stdout.read() if proc.stdout else ""
        assert list(tmp_path.glob("history.sqlite.corrupt-*")), "the corrupt file is kept, renamed"
        assert "corrupt" in out.lower(), out
        with sqlite3.connect(tmp_path / "history.sqlite") as conn:
            assert conn.execute("SELECT count(*) FROM transitions").fetchone()[0] >= 1


def test_sighup_storm_with_a_broken_config_in_the_middle(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen)
        good = cfg.read_text()
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: probes_total(listen) >= 1, what="first probe")
            for i in range(60):
                if i == 30:
                    cfg.write_text(good + "\ntargets: [oops\n")
                elif i == 31:
                    cfg.write_text(good)
                os.kill(proc.pid, signal.SIGHUP)
                time.sleep(0.01)
            cfg.write_text(good.replace("portal-health", "after-storm"))
            os.kill(proc.pid, signal.SIGHUP)
            wait_until(lambda: 'target="after-storm"' in metrics(listen), what="the last reload")
            before = probes_total(listen)
            wait_until(lambda: probes_total(listen) >= before + 3, what="probing after the storm")
            assert sample(listen, "dialtone_config_last_reload_successful") == 1
            assert proc.poll() is None


def test_wall_clock_step_keeps_the_schedule_and_timestamps_follow(tmp_path: Path) -> None:
    """Under libfaketime the wall clock jumps a day ahead; the monotonic schedule is unmoved."""
    require_binary("faketime", "faketime")
    lib = next((p for p in Path("/usr/lib").glob("*/faketime/libfaketime.so.1")), None)
    assert lib is not None, "libfaketime.so.1 not found"
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    env = {
        "LD_PRELOAD": str(lib),
        "FAKETIME_TIMESTAMP_FILE": str(stamp),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
    with target_server() as port:
        listen = free_port()
        cfg = agent_config(tmp_path, port, listen, interval="200ms")
        with run_agent(cfg, listen, env=env):
            wait_until(lambda: probes_total(listen) >= 3, what="probing before the step")
            t_before = sample(listen, 'dialtone_probe_last_run_timestamp_seconds{target="portal-health"')
            stamp.write_text("+1d\n")
            count = probes_total(listen)
            wait_until(lambda: probes_total(listen) >= count + 5, timeout=10, what="probing after the step")
            t_after = sample(listen, 'dialtone_probe_last_run_timestamp_seconds{target="portal-health"')
            assert t_after - t_before > 86_000, "timestamps follow the wall clock"
            lateness_count = sample(listen, "dialtone_scheduler_lateness_seconds_count")
            late = sample(listen, 'dialtone_scheduler_lateness_seconds_bucket{le="0.5"}')
            assert late == lateness_count, "no probe was scheduled late because of the step"
