"""A real `dialtone run` process with basic auth on its endpoints, and the measurements the listener-isolation
tests make on it: /metrics read with the right credentials, failed probes and transitions counted."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt

from tests.core.helpers import agent_config

USER, PASSWORD = "prometheus", "right-password"


def auth_header(user: str = USER, password: str = PASSWORD) -> str:
    """An `Authorization: Basic` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def secured_config(
    tmp: Path, target_port: int, listen: int, *, extra: str = "", web_extra: str = "", interval: str = "300ms"
) -> Path:
    """The agent config of tests.core.helpers with a web.yml holding a bcrypt (cost 10) hash of PASSWORD."""
    web_yml = tmp / "web.yml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    web_yml.write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n")
    cfg = agent_config(tmp, target_port, listen, interval=interval, extra_targets=extra)
    text = cfg.read_text().replace("timeout: 150ms", "timeout: 250ms")
    cfg.write_text(
        text.replace("web: {enable_reload: true}", f"web: {{enable_reload: true, config_file: {web_yml}{web_extra}}}")
    )
    return cfg


def get(port: int, path: str, auth: str | None = None, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body) of a GET on the agent."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, line_start: str) -> float:
    """The value of the first exposition line starting with `line_start` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def probe_counts(port: int, auth: str | None = None, timeout: float = 10.0) -> tuple[float, float, float]:
    """(successful probes, failed probes, transitions) from /metrics."""
    status, text = get(port, "/metrics", auth or auth_header(), timeout=timeout)
    assert status == 200, (status, text[:200])
    return (
        sample(text, 'dialtone_probes_total{kind="http",result="success"}'),
        sample(text, 'dialtone_probes_total{kind="http",result="failure"}'),
        sum(sample(text, f'dialtone_transitions_total{{subject="{s}"}}') for s in ("target", "component")),
    )
