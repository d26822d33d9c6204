"""Start real peers (Debian packages) on 127.0.0.1 with free ports; stop them by PID.

Under CI=true a missing peer binary is a test failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import pytest

LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 right now for this socket type (TCP by default)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def free_port_both() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (SIP, SNMP)."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free for both TCP and UDP")


def require_binary(name: str, package: str) -> str:
    """Path of a peer binary; fails under CI=true, skips elsewhere, when it is not installed."""
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found:
        return found
    why = f"{name} not installed (Debian package {package}); `make test` installs it when run as root"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(why)
    pytest.skip(why)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` until true; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def tcp_listening(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class PeerProcess:
    """A peer server process: started with Popen, stopped by its PID (SIGTERM, then SIGKILL)."""

    def __init__(self, argv: Sequence[str], *, cwd: str | Path | None = None, name: str = "") -> None:
        self.argv = list(argv)
        self.name = name or Path(argv[0]).name
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, log_dir: Path, env: dict[str, str] | None = None) -> PeerProcess:
        """Start it; stdout and stderr go to a log file in `log_dir`."""
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.name}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for it to exit on its own and return its exit status (TimeoutExpired if it does not)."""
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.wait(timeout)

    def log(self) -> str:
        """What it printed so far."""
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def wait_ready(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait for readiness; fail with the peer's log if it died or never became ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc and self.proc.returncode}:\n{self.log()}")
            if predicate():
                return
            time.sleep(0.02)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop by PID: SIGTERM, then SIGKILL after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HttpPeer:
    """A server of the Prometheus family: a config file in `workdir`, a free port, ready once `/-/ready` says so."""

    ready_timeout = 60.0

    def __init__(self, workdir: Path, config_name: str, config_text: str, argv: Sequence[str], name: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / config_name
        self.config_path.write_text(config_text)
        self.proc = PeerProcess([a.replace("{port}", str(self.port)) for a in argv], name=name)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        """Start and wait until it answers /-/ready."""
        self.proc.start(self.workdir)
        self.proc.wait_ready(lambda: tcp_listening(self.port) and self._ready(), timeout=self.ready_timeout)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop by PID."""
        self.proc.stop()


@contextmanager
def static_http_server(root: Path) -> Iterator[int]:
    """A real HTTP target: python's http.server serving `root` on 127.0.0.1 in its own process, stopped by PID.
    Yields the port; a path that is not a file under `root` answers 404."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
    )
    try:
        wait_until(lambda: tcp_listening(port), what="http.server")
        yield port
    finally:
        proc.terminate()
        proc.wait(5)
