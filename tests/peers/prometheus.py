"""A real Prometheus server (Debian `prometheus`) on a free loopback port, scraping what a test gives it."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.peers.base import LOOPBACK, HttpPeer, require_binary


class Prometheus(HttpPeer):
    """Start with a config text; `query()` the HTTP API; stop by PID."""

    def __init__(self, workdir: Path, config_text: str, extra_args: list[str] | None = None) -> None:
        binary = require_binary("prometheus", "prometheus")
        super().__init__(
            workdir,
            "prometheus.yml",
            config_text,
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{{port}}",
                "--web.enable-lifecycle",
                *(extra_args or []),
            ],
            "prometheus",
        )

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
