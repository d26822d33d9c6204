"""A target that echoes its credentials back (issue 16, break 10), against a real `dialtone run` with a real
Mosquitto and the status page on, and the real `dialtone probe --json`: the Authorization header (bearer,
basic) and a secret custom header come back in a malformed status line, a malformed header line and a bad
`Location`. No output of the agent may carry them: not the log, not `--json`, not the history file, not
the retained MQTT messages, not the rendered site."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers.base import LOOPBACK, free_port, tcp_listening, wait_until
from tests.peers.mosquitto import Mosquitto
from tests.probes.servers import raw_server, read_head

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "Zq7-echoed-bearer-token-0123456789abcdef-long-enough-to-straddle-a-cut"
API_KEY = "Zq7-echoed-api-key-4455"
USER, PASSWORD = "prober", "Zq7-echoed-basic-pass-7788"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FORBIDDEN = {
    "token": TOKEN,
    "api_key": API_KEY,
    "password": PASSWORD,
    "basic": BASIC,
    "token_prefix": TOKEN[:24],
    "basic_prefix": BASIC[:16],
}

pytestmark = pytest.mark.peer


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo the request's credentials back where the path says: status line, header line or Location."""
    head = (await read_head(reader)).decode("latin-1")
    path = head.split(" ", 2)[1]
    creds = " ".join(
        line.split(":", 1)[1].strip()
        for line in head.split("\r\n")[1:]
        if line.lower().startswith(("authorization:", "x-api-key:"))
    )
    if path.startswith("/status"):
        raw = f"HTTP/1.1 2x0 {creds}\r\nContent-Length: 0\r\n\r\n"
    elif path.startswith("/header"):
        raw = f"HTTP/1.1 200 OK\r\nX-You-Sent {creds}\r\nContent-Length: 0\r\n\r\n"
    else:
        raw = f"HTTP/1.1 302 Found\r\nLocation: http://echo.invalid/a b?{creds}\r\nContent-Length: 0\r\n\r\n"
    writer.write(raw.encode("latin-1"))
    await writer.drain()
    writer.close()


def config(tmp: Path, port: int, listen: int, broker: int) -> Path:
    (tmp / "api-key").write_text(API_KEY + "\n")
    targets = []
    for where in ("status", "header", "location"):
        for auth, block in (
            ("bearer", "bearer_token: '${ECHO_TOKEN}'"),
            ("basic", f"basic_auth: {{username: {USER}, password: {PASSWORD}}}"),
            ("key", "headers: {X-Api-Key: {value_file: api-key}}"),
        ):
            targets.append(
                f"  - {{id: {where}-{auth}, component: web, kind: http, interval: 300ms, timeout: 250ms,"
                f" http: {{url: 'http://{LOOPBACK}:{port}/{where}', {block}}}}}"
            )
    path = tmp / "dialtone.yaml"
    path.write_text(
        f"""
vantage: echo
listen: {LOOPBACK}:{listen}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
mqtt: {{host: {LOOPBACK}, port: {broker}, outbox: {tmp / "outbox.sqlite"}, publish_results: true}}
site: {{out: {tmp / "site"}, listen: "{LOOPBACK}:{free_port()}", render_interval: 1s, incidents: {tmp / "inc"}}}
components:
  - {{id: web, name: Web, tier: supporting}}
targets:
"""
        + "\n".join(targets)
        + "\n"
    )
    return path


def leaks(where: str, data: bytes | str) -> list[str]:
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    return [f"{where}: {name}" for name, value in FORBIDDEN.items() if value in text]


async def test_echoed_credentials_reach_no_output(tmp_path: Path) -> None:
    env = {**os.environ, "ECHO_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    with Mosquitto(tmp_path / "broker") as broker:
        async with raw_server(echo) as port:
            listen = free_port()
            cfg = config(tmp_path, port, listen, broker.port)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agent",
                "run",
                "-c",
                str(cfg),
                "--log-level",
                "debug",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                await asyncio.to_thread(wait_until, lambda: tcp_listening(listen), 30, "agent")
                await asyncio.sleep(4)  # a dozen failing runs per target, transitions, renders, publishes
                retained = await asyncio.to_thread(
                    subprocess.run,
                    broker.sub_argv("dialtone/v1/#", "-v", "-W", "3"),
                    capture_output=True,
                    text=True,
                    timeout=15,
                )
                probes = [
                    await asyncio.to_thread(
                        subprocess.run,
                        [
                            sys.executable,
                            "-m",
                            "agent",
                            "probe",
                            "-c",
                            str(cfg),
                            target,
                            "--json",
                            "--log-level",
                            "debug",
                        ],
                        cwd=ROOT,
                        env=env,
                        capture_output=True,
                        timeout=60,
                    )
                    for target in ("status-bearer", "header-basic", "location-key")
                ]
            finally:
                proc.send_signal(signal.SIGTERM)
                log, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert b"2x0" in probes[0].stdout and b"X-You-Sent" in probes[1].stdout  # the echoes did come back
    assert retained.stdout.count("dialtone/v1/echo/") >= 9
    found = leaks("log", log) + leaks("mqtt", retained.stdout)
    for p in probes:
        found += leaks("probe --json", p.stdout) + leaks("probe stderr", p.stderr)
    for f in tmp_path.glob("history.sqlite*"):
        found += leaks(f.name, f.read_bytes())
    for f in (tmp_path / "site").rglob("*"):
        if f.is_file():
            found += leaks(f"site {f.name}", f.read_bytes())
    assert not found, found
    assert b"<redacted>" in probes[0].stdout


async def test_credentials_stop_at_a_cross_origin_redirect_unless_the_target_opts_in(tmp_path: Path) -> None:
    """A redirect to another port: Authorization and a secret header go no further, unless
    `cross_origin_credentials: true`; a plain header goes on either way."""
    seen: list[str] = []

    async def there(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await read_head(reader)).decode("latin-1").lower())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(there) as other:

        async def here(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_head(reader)
            writer.write(
                f"HTTP/1.1 302 Found\r\nLocation: http://{LOOPBACK}:{other}/x\r\nContent-Length: 0\r\n\r\n".encode()
            )
            await writer.drain()
            writer.close()

        async with raw_server(here) as port:
            (tmp_path / "api-key").write_text(API_KEY)
            cfg = tmp_path / "redirect.yaml"
            block = (
                f"url: 'http://{LOOPBACK}:{port}/', bearer_token: '{TOKEN}',"
                " headers: {X-Api-Key: {value_file: api-key}, X-Plain: visible}"
            )
            cfg.write_text(
                "components: [{id: web, name: Web, tier: core}]\ntargets:\n"
                f"  - {{id: strict, component: web, kind: http, http: {{{block}}}}}\n"
                f"  - {{id: opted, component: web, kind: http, http: {{{block},"
                " cross_origin_credentials: true}}\n"
            )
            for target in ("strict", "opted"):
                done = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "agent", "probe", "-c", str(cfg), target],
                    cwd=ROOT,
                    capture_output=True,
                    timeout=60,
                )
                assert done.returncode == 0, done.stderr
    strict, opted = seen
    assert "x-plain: visible" in strict and "authorization" not in strict and "x-api-key" not in strict
    assert f"authorization: bearer {TOKEN.lower()}" in opted and f"x-api-key: {API_KEY.lower()}" in opted
