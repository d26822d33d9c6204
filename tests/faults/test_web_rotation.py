"""Issue 16, break 6: rotating the password in web.yml takes effect on SIGHUP and on /-/reload, without a
restart, and a broken web.yml is refused with its own metric while the running credentials stay."""

from __future__ import annotations

import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt

from tests.faults.agent_process import PASSWORD, USER, auth_header, get, sample, secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, wait_until

RELOADED = "dialtone_web_config_last_reload_successful"


def _write_users(web_yml: Path, password: str) -> None:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    web_yml.write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n")


def _status(port: int, password: str) -> int:
    return get(port, "/metrics", auth_header(USER, password))[0]


def _reload_over_http(port: int, password: str) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/-/reload", method="POST", headers={"Authorization": auth_header(USER, password)}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status: int = r.status  # urlopen's response is typed Any
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_password_rotation_on_sighup_and_reload_endpoint(tmp_path: Path) -> None:
    with target_server() as port:
        listen = free_port()
        cfg = secured_config(tmp_path, port, listen)
        web_yml = tmp_path / "web.yml"
        with run_agent(cfg, listen) as proc:
            assert _status(listen, PASSWORD) == 200
            _write_users(web_yml, "second-password")
            os.kill(proc.pid, signal.SIGHUP)
            wait_until(lambda: _status(listen, "second-password") == 200, timeout=15, what="the new password")
            assert _status(listen, PASSWORD) == 401, "the old password still works after SIGHUP"

            _write_users(web_yml, "third-password")
            assert _reload_over_http(listen, "second-password") == 200
            assert _status(listen, "third-password") == 200
            assert _status(listen, "second-password") == 401, "the old password still works after /-/reload"
            text = get(listen, "/metrics", auth_header(USER, "third-password"))[1]
            assert sample(text, RELOADED + " ") == 1

            web_yml.write_text("basic_auth_users:\n  prometheus: plain-text-password\n")
            assert _reload_over_http(listen, "third-password") == 400
            text = get(listen, "/metrics", auth_header(USER, "third-password"))[1]
            assert sample(text, RELOADED + " ") == 0, "a refused web.yml is not reported"
            assert sample(text, "dialtone_config_last_reload_successful ") == 1, "the main config did reload"
            assert proc.poll() is None
        out = proc.stdout.read() if proc.stdout else ""
        assert "bcrypt hash" in out and "Traceback" not in out, out[-2000:]
