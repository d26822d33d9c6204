"""Secret audit: distinctive secrets in every secret field of one config, exercised against real peers on
127.0.0.1, never appear in debug logs, /metrics, /probe, `dialtone probe --json`, MQTT payloads, the rendered
site, the history and outbox files, or the error messages for bad config.

Peers: an aiohttp server that records the credentials it receives (HTTP basic auth and bearer token), a TLS
listener that the TCP probe reaches with a client key encrypted by a passphrase, a real Mosquitto with a
password file (a second user captures everything under the prefix with mosquitto_sub). SIP and SNMP probes
go to closed ports on 127.0.0.1: their secrets are loaded and used to build requests, and must not leak in
the failures they report. The web endpoints use a web.yml with a bcrypt hash; the client's plain password is
audited too.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from agent.cli.entry import main
from agent.runtime.app import Agent
from agent.runtime.config import ConfigError, iter_secrets, load_config, load_config_text
from tests.peers.base import LOOPBACK, free_port, free_port_both, require_binary, wait_until
from tests.peers.mosquitto import Mosquitto

SECRETS = {
    "http_password": "Zq7-http-basic-pass-4417",
    "bearer_token": "Zq7-bearer-token-5521",
    "sip_password": "Zq7-sip-digest-pass-6634",
    "snmp_community": "Zq7-snmp-community-7748",
    "snmp_auth_key": "Zq7-snmp-v3-auth-8852",
    "snmp_priv_key": "Zq7-snmp-v3-priv-9966",
    "trap_community": "Zq7-trap-community-1073",
    "trap_auth_key": "Zq7-trap-v3-auth-2184",
    "trap_priv_key": "Zq7-trap-v3-priv-3295",
    "mqtt_password": "Zq7-mqtt-pass-4306",
    "tls_key_password": "Zq7-tls-key-pass-5417",
    "web_password": "Zq7-web-basic-pass-6528",
}
HTTP_USER, MQTT_USER, WEB_USER = "prober", "agent1", "scraper"


def forbidden() -> dict[str, str]:
    """Each secret, and the encodings in which it would leave the process (basic auth is base64)."""
    out = dict(SECRETS)
    for name, user, secret in (
        ("http", HTTP_USER, SECRETS["http_password"]),
        ("web", WEB_USER, SECRETS["web_password"]),
    ):
        out[f"{name}_basic_b64"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return out


def assert_clean(where: str, text: str | bytes) -> None:
    data = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    leaked = [name for name, value in forbidden().items() if value in data]
    assert not leaked, f"{where} contains {leaked}"


def make_tls_files(d: Path) -> tuple[Path, Path, Path]:
    """A self-signed cert, its key encrypted with the passphrase (the probe's), and a plain copy (the server's)."""
    openssl = require_binary("openssl", "openssl")
    cert, key, plain = d / "client.pem", d / "client.key", d / "server.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-passout",
            f"pass:{SECRETS['tls_key_password']}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    subprocess.run(
        [openssl, "pkey", "-in", str(key), "-passin", f"pass:{SECRETS['tls_key_password']}", "-out", str(plain)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key, plain


@asynccontextmanager
async def credential_server(cert: Path, plain_key: Path) -> AsyncIterator[tuple[int, int, list[str]]]:
    """HTTP on one port (records Authorization headers), TLS on another; yields (http, tls, seen)."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    http_port, tls_port = free_port(), free_port()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, plain_key)
    await web.TCPSite(runner, LOOPBACK, http_port).start()
    await web.TCPSite(runner, LOOPBACK, tls_port, ssl_context=ctx).start()
    try:
        yield http_port, tls_port, seen
    finally:
        await runner.cleanup()


def config_text(tmp: Path, *, http: int, tls: int, broker: int, listen: int, traps: int, cert: Path, key: Path) -> str:
    s = SECRETS
    closed = free_port_both()
    return f"""
vantage: audit
listen: {LOOPBACK}:{listen}
thresholds: {{failures: 1, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
web: {{config_file: web.yml, enable_reload: true}}
site: {{out: {tmp / "site-unused"}}}
mqtt:
  port: {broker}
  username: {MQTT_USER}
  password: "{s["mqtt_password"]}"
  publish_results: true
  outbox: {tmp / "outbox.sqlite"}
  reconnect_min: 50ms
snmp_traps:
  listen: {LOOPBACK}:{traps}
  communities: ["{s["trap_community"]}"]
  users: [{{user: trapper, auth_key: "{s["trap_auth_key"]}", priv_key: "{s["trap_priv_key"]}"}}]
components:
  - {{id: web, name: Web, tier: supporting}}
  - {{id: voice, name: Voice, tier: voice_messaging}}
targets:
  - id: http-basic
    component: web
    kind: http
    interval: 300ms
    timeout: 250ms
    http: {{url: "http://{LOOPBACK}:{http}/basic", basic_auth: {{username: {HTTP_USER},
            password: "{s["http_password"]}"}}}}
  - id: http-bearer
    component: web
    kind: http
    interval: 300ms
    timeout: 250ms
    http: {{url: "http://{LOOPBACK}:{http}/bearer", bearer_token: "{s["bearer_token"]}"}}
  - id: tls-client-key
    component: web
    kind: tcp
    interval: 300ms
    timeout: 250ms
    tcp: {{address: "{LOOPBACK}:{tls}", tls: true,
           tls_config: {{verify: false, cert_file: {cert}, key_file: {key}, key_password: "{s["tls_key_password"]}"}}}}
  - id: sip-register
    component: voice
    kind: sip_register
    interval: 500ms
    timeout: 400ms
    sip_register: {{uri: "sip:{LOOPBACK}:{closed}", username: alice, password: "{s["sip_password"]}"}}
  - id: snmp-v2c
    component: voice
    kind: snmp
    interval: 500ms
    timeout: 400ms
    snmp: {{address: "{LOOPBACK}:{closed}", community: "{s["snmp_community"]}", retries: 0}}
  - id: snmp-v3
    component: voice
    kind: snmp
    interval: 500ms
    timeout: 400ms
    snmp: {{address: "{LOOPBACK}:{closed}", version: "3", user: poller, auth_key: "{s["snmp_auth_key"]}",
            priv_key: "{s["snmp_priv_key"]}", retries: 0}}
"""


@pytest.fixture
def debug_log() -> Iterator[list[str]]:
    """Every log record at DEBUG, from every logger, formatted with its traceback if any."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


async def run_cli(*argv: str) -> str:
    """`python -m agent ARGS` in a subprocess (the agent's own loop is running here); stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        *argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": "."},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode(errors="replace")


async def test_no_secret_leaves_the_agent(tmp_path: Path, debug_log: list[str]) -> None:
    cert, key, plain = make_tls_files(tmp_path)
    hashed = bcrypt.hashpw(SECRETS["web_password"].encode(), bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  {WEB_USER}: {hashed}\n")
    broker = Mosquitto(tmp_path, users={MQTT_USER: SECRETS["mqtt_password"], "auditor": "auditor-pass"})
    listen = free_port()
    with broker:
        async with credential_server(cert, plain) as (http_port, tls_port, seen):
            path = tmp_path / "dialtone.yaml"
            path.write_text(
                config_text(
                    tmp_path,
                    http=http_port,
                    tls=tls_port,
                    broker=broker.port,
                    listen=listen,
                    traps=free_port_both(),
                    cert=cert,
                    key=key,
                )
            )
            config = load_config(path)
            assert set(iter_secrets(config)) >= {v for k, v in SECRETS.items() if k != "web_password"}
            capture = tmp_path / "mqtt.txt"
            with capture.open("wb") as out:
                sub = subprocess.Popen(
                    broker.sub_argv("dialtone/#", "-v", "-u", "auditor", "-P", "auditor-pass"),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                await audit_running_agent(config, path, listen, seen, capture)
            finally:
                sub.terminate()
                sub.wait(5)
    captured = capture.read_text(errors="replace")
    assert "/audit/agent " in captured and "/audit/results/" in captured, f"captured: {captured[:500]}"
    assert_clean("MQTT payloads", captured)
    render_out = tmp_path / "site"
    assert "rendered" in await run_cli("render", "-c", str(path), "--out", str(render_out))
    for f in render_out.rglob("*"):
        if f.is_file():
            assert_clean(f"site file {f.relative_to(render_out)}", f.read_bytes())
    for name in ("history.sqlite", "history.sqlite-wal", "outbox.sqlite", "outbox.sqlite-wal"):
        if (tmp_path / name).exists():
            assert_clean(name, (tmp_path / name).read_bytes())
    assert debug_log, "nothing was logged at DEBUG: the handler is not attached"
    assert_clean("debug log", "\n".join(debug_log))


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def audit_running_agent(config: object, path: Path, listen: int, seen: list[str], capture: Path) -> None:
    agent = Agent(config, config_path=path)  # type: ignore[arg-type]
    await agent.start()
    base = f"http://{LOOPBACK}:{listen}"
    auth = basic(WEB_USER, SECRETS["web_password"])
    try:
        # The credentials really went out: the HTTP server saw both.
        await asyncio.to_thread(wait_until, lambda: len(seen) >= 4, 10, "the HTTP probes")
        assert f"Basic {forbidden()['http_basic_b64']}" in seen
        assert f"Bearer {SECRETS['bearer_token']}" in seen
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/metrics") as r:
                assert r.status == 401  # the web.yml's basic auth is on
                assert_clean("/metrics 401", await r.text())
            async with s.get(base + "/metrics", headers=basic(WEB_USER, "wrong")) as r:
                assert r.status == 401
                assert_clean("/metrics wrong password", await r.text())
            await asyncio.sleep(1.5)  # every target has results, MQTT has published
            async with s.get(base + "/metrics", headers=auth) as r:
                assert r.status == 200
                metrics = await r.text()
            assert 'target="snmp-v3"' in metrics and 'target="sip-register"' in metrics
            for target in ("http-basic", "http-bearer", "tls-client-key"):  # key decrypted with its passphrase
                assert re.search(r'probe_success\{[^}]*target="' + target + r'"[^}]*\} 1', metrics), target
            assert_clean("/metrics", metrics)
            for target in [t.id for t in agent.config.targets]:
                async with s.get(base + "/probe", params={"target": target}, headers=auth) as r:
                    assert_clean(f"/probe?target={target}", await r.text())
        for target in [t.id for t in agent.config.targets]:
            out = await run_cli("probe", "-c", str(path), target, "--json", "--log-level", "debug")
            assert '"target"' in out, out
            assert_clean(f"dialtone probe {target} --json", out)
        await asyncio.to_thread(wait_until, lambda: capture.stat().st_size > 0, 10, "MQTT messages")
    finally:
        await agent.stop()


# --- error messages for bad config --------------------------------------------------------------------------


def broken_configs() -> dict[str, str]:
    s = SECRETS
    good = f"""
components: [{{id: web, name: Web, tier: supporting}}]
mqtt: {{username: u, password: "{s["mqtt_password"]}"}}
targets:
  - id: h
    component: web
    kind: http
    http: {{url: "http://127.0.0.1:1/", basic_auth: {{username: u, password: "{s["http_password"]}"}},
           bearer_token: "{s["bearer_token"]}"}}
"""
    return {
        "unknown key beside the secrets": good.replace("bearer_token:", "bogus: 1, bearer_token:"),
        "secret in a typed field": good + f"vantage: {s['sip_password']}\n",
        "secret as a duration": good.replace("kind: http", f"kind: http\n    interval: {s['sip_password']}"),
        "secret and secret_file": good.replace("bearer_token:", "bearer_token_file: /nonexistent, bearer_token:"),
        "YAML error after a secret": good + f'x: "{s["mqtt_password"]}\n  - : [\n',
        "tagged secret": good + f"y: !!float {s['snmp_community']}\n",
        "date-like secret": good + "z: 2001-02-30\n",
        "short v3 key": good + f"snmp_traps: {{users: [{{user: t, auth_key: '{s['trap_auth_key'][:6]}'}}]}}\n",
        "v2c community given to v3": "components: [{id: v, name: V, tier: core}]\ntargets:\n"
        f"  - {{id: s, component: v, kind: snmp, snmp: {{address: 127.0.0.1, version: '3', user: u, "
        f"community: '{s['snmp_community']}', auth_key: '{s['snmp_auth_key']}'}}}}\n",
        "sip password without user": "components: [{id: v, name: V, tier: core}]\ntargets:\n"
        f"  - {{id: s, component: v, kind: sip_options, sip_options: {{uri: 'sip:127.0.0.1', "
        f"password: '{s['sip_password']}'}}}}\n",
        "MQTT key password without key": good.replace(
            "mqtt: {", f"mqtt: {{tls: {{key_password: '{s['tls_key_password']}'}}, "
        ),
    }


@pytest.mark.parametrize("case", sorted(broken_configs()))
def test_bad_config_errors_carry_no_secret(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = broken_configs()[case]
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "audit.yaml")
    assert_clean(f"ConfigError ({case})", str(caught.value))
    path = tmp_path / "audit.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err.strip()
    assert_clean(f"check-config ({case})", out + err)


@pytest.mark.parametrize("sets", [
    [f"basic_auth.password={SECRETS['http_password']}"],
    [f"bearer_token={SECRETS['bearer_token']}", "bearer_token_file=/nonexistent"],
    [f"basic_auth={SECRETS['http_password']}"],
    [f"tls_config.key_password={SECRETS['tls_key_password']}"],
])  # fmt: skip
def test_bad_adhoc_probe_arguments_carry_no_secret(sets: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["probe", "http", "http://127.0.0.1:1/", "--timeout", "200ms"]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.strip()
    assert_clean(f"dialtone probe --set {sets}", out + err)
