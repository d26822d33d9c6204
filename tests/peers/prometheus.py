"""A real Prometheus server (Debian `prometheus`) on a free loopback port, scraping what a test gives it."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, tcp_listening


class Prometheus:
    """Start with a config text; `query()` the HTTP API; stop by PID."""

    def __init__(self, workdir: Path, config_text: str, extra_args: list[str] | None = None) -> None:
        binary = require_binary("prometheus", "prometheus")
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(config_text)
        self.proc = PeerProcess([
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.port}",
            "--web.enable-lifecycle",
            *(extra_args or []),
        ], name="prometheus")

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Prometheus:
        """Start and wait until it is ready to answer queries (/-/ready, after the TSDB opened)."""
        self.proc.start(self.workdir)
        self.proc.wait_ready(lambda: tcp_listening(self.port) and self._ready(), timeout=60)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET an API path; returns the `data` member, raising on an error status."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        return list(self.api("/api/v1/query", query=promql)["result"])

    def stop(self) -> None:
        """Stop by PID."""
        self.proc.stop()
