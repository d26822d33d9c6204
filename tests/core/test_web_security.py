"""The agent's own endpoints: TLS with client certificates and bcrypt basic auth from a web.yml, reload off
unless enabled, /probe rate-limited and limited to configured ids."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from agent.runtime.app import Agent, StartupError
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.peers.base import free_port, require_binary
from tests.probes.servers import Certs, make_certs

PASSWORD = "correct horse battery staple"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    require_binary("openssl", "openssl")
    return make_certs(tmp_path_factory.mktemp("web-certs"))


def write_config(tmp: Path, target_port: int, listen: int, web_yml: str | None, reload: bool = True) -> Path:
    cfg = agent_config(tmp, target_port, listen)
    text = cfg.read_text()
    file_key = ", config_file: web.yml" if web_yml is not None else ""
    web = f"web: {{enable_reload: {'true' if reload else 'false'}{file_key}}}"
    cfg.write_text(text.replace("web: {enable_reload: true}", web))
    if web_yml is not None:
        (tmp / "web.yml").write_text(web_yml)
    return cfg


async def test_basic_auth_with_bcrypt_and_open_health(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")
    async with http_target({"code": 200}) as port:
        listen = free_port()
        cfg = write_config(tmp_path, port, listen, f"basic_auth_users:\n  prometheus: '{hashed}'\n")
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        base = f"http://127.0.0.1:{listen}"
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(base + "/metrics") as r:
                    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
                async with s.get(base + "/metrics", headers=basic("prometheus", "wrong")) as r:
                    assert r.status == 401
                async with s.get(base + "/metrics", headers=basic("nobody", PASSWORD)) as r:
                    assert r.status == 401
                for _ in range(2):  # the second time comes from the verified-credential cache
                    async with s.get(base + "/metrics", headers=basic("prometheus", PASSWORD)) as r:
                        assert r.status == 200 and "dialtone_build_info" in await r.text()
                async with s.get(base + "/probe?target=portal-health") as r:
                    assert r.status == 401
                async with s.post(base + "/-/reload") as r:
                    assert r.status == 401
                async with s.get(base + "/-/healthy") as r:
                    assert r.status == 200
        finally:
            await agent.stop()


async def test_tls_with_required_client_certificate(tmp_path: Path, certs: Certs) -> None:
    web_yml = (
        f"tls_server_config:\n  cert_file: {certs.server_cert}\n  key_file: {certs.server_key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n"
    )
    async with http_target({"code": 200}) as port:
        listen = free_port()
        cfg = write_config(tmp_path, port, listen, web_yml)
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        try:
            trusted = ssl.create_default_context(cafile=str(certs.ca))
            async with aiohttp.ClientSession() as s:
                with pytest.raises(aiohttp.ClientError):  # plain HTTP to a TLS listener
                    async with s.get(f"http://127.0.0.1:{listen}/metrics") as r:
                        await r.read()
                with pytest.raises(aiohttp.ClientError):  # TLS without a client certificate
                    async with s.get(f"https://127.0.0.1:{listen}/metrics", ssl=trusted) as r:
                        await r.read()
                password = certs.client_key_password_file.read_text().strip()
                trusted.load_cert_chain(certs.client_cert, certs.client_key_encrypted, password=password)
                async with s.get(f"https://127.0.0.1:{listen}/metrics", ssl=trusted) as r:
                    assert r.status == 200
        finally:
            await agent.stop()


async def test_reload_is_off_unless_enabled_and_probe_is_rate_limited(tmp_path: Path) -> None:
    async with http_target({"code": 200}) as port:
        listen = free_port()
        cfg = write_config(tmp_path, port, listen, None, reload=False)
        cfg.write_text(
            cfg.read_text().replace("web: {enable_reload: false}", "web: {enable_reload: false, probe_rate_limit: 2}")
        )
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        base = f"http://127.0.0.1:{listen}"
        try:
            async with aiohttp.ClientSession() as s:
                async with s.post(base + "/-/reload") as r:
                    assert r.status == 403 and "disabled" in await r.text()
                codes = []
                for _ in range(5):
                    async with s.get(base + "/probe?target=portal-health") as r:
                        codes.append(r.status)
                assert codes.count(200) >= 2 and 429 in codes
        finally:
            await agent.stop()


@pytest.mark.parametrize(
    ("web_yml", "message"),
    [
        (
            "basic_auth_users: {prometheus: hunter2}\n",
            "basic_auth_users: Value error, user 'prometheus': the password "
            "must be a bcrypt hash ($2y$...), not plain text",
        ),
        ("tls_server_config: {cert_file: nope.pem, key_file: nope.key}\n", "cannot load"),
        ("colour: red\n", "colour: unknown key"),
    ],
)
async def test_bad_web_config_is_a_startup_error(tmp_path: Path, web_yml: str, message: str) -> None:
    async with http_target({"code": 200}) as port:
        cfg = write_config(tmp_path, port, free_port(), web_yml)
        agent = Agent(load_config(cfg), config_path=cfg)
        with pytest.raises(StartupError) as info:
            await agent.start()
        await agent.stop()
        assert message in str(info.value)
        assert "hunter2" not in str(info.value)
