"""Issue 16, break 2: a thousand idle and half-sent connections must not take the descriptors the probes
need. The real `dialtone run` runs under a 1024 descriptor limit (soft and hard, so raising it cannot help);
the attacker connects from 127.0.0.2, the scraper from 127.0.0.1."""

from __future__ import annotations

import os
import resource
import signal
import socket
import time
from pathlib import Path

from tests.faults.agent_process import auth_header, get, probe_counts, sample, secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, wait_until

SLOW_CLIENTS = 1000
IDLE_TIMEOUT = 3.0


def _limit_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def _open_slow(port: int, n: int) -> list[socket.socket]:
    """`n` connections from 127.0.0.2, each sending the start of a request and never its end."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.2", 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        try:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    return socks


def _trickle(socks: list[socket.socket]) -> int:
    """Send one more header byte on each connection still open; returns how many are still open."""
    alive = 0
    for s in socks:
        try:
            s.send(b"X")
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            pass
        except OSError:
            continue
        alive += 1
    return alive


def test_a_thousand_slow_connections_do_not_starve_probing(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))  # this test holds 1,000
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen, web_extra=f", idle_timeout: {IDLE_TIMEOUT:g}s")
        with run_agent(cfg, listen, preexec=_limit_nofile) as proc:
            wait_until(lambda: probe_counts(listen)[0] >= 3, what="probing before the attack")
            ok0, failed0, transitions0 = probe_counts(listen)
            socks = _open_slow(listen, SLOW_CLIENTS)
            try:
                t0 = time.monotonic()
                alive = []
                while time.monotonic() - t0 < 3 * IDLE_TIMEOUT:
                    alive.append(_trickle(socks))
                    ok1, failed1, transitions1 = probe_counts(listen, timeout=5.0)
                    assert failed1 == failed0, f"{failed1 - failed0:.0f} probes failed under the attack"
                    time.sleep(0.5)
            finally:
                for s in socks:
                    s.close()
            ok1, failed1, transitions1 = probe_counts(listen)
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
        assert "Too many open files" not in out, out[-2000:]
        assert transitions1 == transitions0, "the attack caused state transitions"
        assert ok1 - ok0 >= 0.5 * 3 * IDLE_TIMEOUT / 0.3, f"only {ok1 - ok0:.0f} probes ran under the attack"
        assert alive[-1] == 0, f"{alive[-1]} half-sent connections still open after {3 * IDLE_TIMEOUT:g} s"


def _soft_512() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))


def test_soft_descriptor_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen)
        with run_agent(cfg, listen, preexec=_soft_512) as proc:
            limits = Path(f"/proc/{proc.pid}/limits").read_text()
            status, text = get(listen, "/metrics", auth_header())
        assert status == 200, text
        soft, hard = next(line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files"))
        assert soft == hard, limits
        cap = sample(text, "dialtone_listener_connections_limit ")
        assert 8 <= cap <= 512, f"the listeners' cap {cap} leaves no reserve for probing"


def test_the_reserve_follows_the_targets_on_reload(tmp_path: Path) -> None:
    """Under a 1024 limit, reloading from 1 to 301 targets lowers the listeners' cap: 2 descriptors are kept
    for each probe that may run at once."""
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen)
        base = cfg.read_text()

        def cap() -> float:
            return sample(get(listen, "/metrics", auth_header())[1], "dialtone_listener_connections_limit ")

        with run_agent(cfg, listen, preexec=_limit_nofile) as proc:
            before = cap()
            many = "".join(
                f"  - {{id: t{i}, component: portal, kind: http, interval: 60s, "
                f"http: {{url: 'http://127.0.0.1:{port}/health'}}}}\n"
                for i in range(300)
            )
            cfg.write_text(base + many)
            os.kill(proc.pid, signal.SIGHUP)
            wait_until(lambda: cap() < before, timeout=15, what="the cap to follow the targets")
            after = cap()
        assert before == 512 and 8 <= after <= 1024 - 64 - 2 * 301, (before, after)
