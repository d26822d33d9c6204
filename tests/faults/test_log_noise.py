"""Issue 16, break 11: hostile or broken input must not flood the log. Against a real `dialtone run`:
malformed requests to /metrics and the status page, SNMP traps from an unknown source, and a status page that
cannot be rendered; each gives a few one-line messages, the rest is counted."""

from __future__ import annotations

import http.server
import re
import resource
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.faults.agent_process import auth_header, get, sample, secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, require_binary, wait_until
from tests.peers.mosquitto import Mosquitto

MALFORMED = [
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)) + b"\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n\r\n",
]


def _malformed(port: int, rounds: int) -> None:
    for _ in range(rounds):
        for payload in MALFORMED:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                try:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass


def _trap_datagram() -> bytes:
    """A v2c linkDown trap as net-snmp's snmptrap sends it, caught on a UDP socket."""
    snmptrap = require_binary("snmptrap", "snmp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(5)
        subprocess.run(
            [snmptrap, "-v", "2c", "-c", "public", f"127.0.0.1:{sink.getsockname()[1]}", "", "1.3.6.1.6.3.1.1.5.3"],
            check=True,
            timeout=10,
        )
        return sink.recv(65536)


def _noise_config(tmp: Path, target_port: int, listen: int, site_port: int, trap_port: int) -> Path:
    blocker = tmp / "not-a-folder"
    blocker.write_text("the site cannot be written under a file\n")
    cfg = secured_config(tmp, target_port, listen)
    cfg.write_text(
        cfg.read_text()
        + f"""
site: {{out: {blocker / "site"}, listen: 127.0.0.1:{site_port}, render_interval: 1s, incidents: {tmp / "inc"}}}
snmp_traps: {{listen: 127.0.0.1:{trap_port}, communities: [public]}}
"""
    )
    (tmp / "inc").mkdir()
    return cfg


def test_hostile_input_and_failed_renders_log_a_few_lines(tmp_path: Path) -> None:
    datagram = _trap_datagram()
    with target_server() as port:
        listen, site_port, trap_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
        cfg = _noise_config(tmp_path, port, listen, site_port, trap_port)
        with run_agent(cfg, listen) as proc:
            _malformed(listen, 20)
            _malformed(site_port, 20)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for i in range(2000):
                    s.sendto(datagram, ("127.0.0.1", trap_port))
                    if i % 20 == 0:
                        time.sleep(0.01)  # paced so the socket buffer keeps them: each must be counted
            time.sleep(8)  # renders are retried every second
            wait_until(lambda: get(listen, "/-/healthy")[0] == 200, what="the agent to answer")
            text = get(listen, "/metrics", auth_header())[1]
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
    lines = out.splitlines()
    assert "Traceback" not in out, "\n".join(lines[:60])
    counted = sample(text, 'dialtone_snmp_traps_total{result="unknown_source"}')
    assert counted >= 1000, f"only {counted:.0f} traps were counted"
    unknown = [ln for ln in lines if "unknown source" in ln]
    renders = [ln for ln in lines if "render failed" in ln]
    assert 1 <= len(unknown) <= 6, f"{len(unknown)} lines for traps from an unknown source"
    assert 1 <= len(renders) <= 6, f"{len(renders)} lines for failed renders"
    assert sample(text, 'dialtone_log_messages_suppressed_total{logger="dialtone.snmp.traps"}') >= counted - 6
    assert len(lines) < 60, f"{len(lines)} log lines:\n" + "\n".join(lines[:80])
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:", ln) for ln in lines), "a record spans lines:\n" + out


class _Flapping(http.server.BaseHTTPRequestHandler):
    """Answers 200 and 503 in turn: with thresholds of 1, every probe is a transition, every transition an
    MQTT event."""

    count = 0

    def do_GET(self) -> None:
        _Flapping.count += 1
        self.send_response(200 if _Flapping.count % 2 else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _full_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like ENOSPC
    resource.setrlimit(resource.RLIMIT_FSIZE, (160 * 1024, 160 * 1024))


def test_mqtt_outbox_on_a_full_disk_logs_a_few_lines(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    flapping = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flapping)
    threading.Thread(target=flapping.serve_forever, daemon=True).start()
    try:
        listen = free_port()
        cfg = secured_config(tmp_path, flapping.server_address[1], listen, interval="100ms")
        cfg.write_text(
            cfg.read_text().replace("timeout: 250ms", "timeout: 90ms")
            + f"""
mqtt: {{host: 127.0.0.1, port: {broker.port}, outbox: {tmp_path / "outbox.sqlite"}}}
"""
        )
        with run_agent(cfg, listen, preexec=_full_disk) as proc:
            wait_until(
                lambda: (
                    sample(get(listen, "/metrics", auth_header())[1], 'dialtone_transitions_total{subject="target"}')
                    >= 150
                ),
                timeout=60,
                what="150 transitions",
            )
            text = get(listen, "/metrics", auth_header())[1]
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
    finally:
        flapping.shutdown()
        broker.stop()
    outbox = [ln for ln in out.splitlines() if "MQTT outbox" in ln]
    assert outbox, "the outbox never failed: the disk was not full"
    assert len(outbox) <= 6, f"{len(outbox)} outbox lines:\n" + "\n".join(outbox[:20])
    assert "Traceback" not in out
    assert sample(text, 'dialtone_log_messages_suppressed_total{logger="dialtone.mqtt.outbox"}') >= 100
