"""A real Alertmanager (Debian `prometheus-alertmanager`) on a free loopback port, clustering off."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.peers.base import LOOPBACK, HttpPeer, require_binary


def amtool() -> str:
    """Path of amtool (same Debian package)."""
    return require_binary("amtool", "prometheus-alertmanager")


class Alertmanager(HttpPeer):
    """Start with a config text; post alerts and read them back through the v2 API; stop by PID."""

    ready_timeout = 30.0

    def __init__(self, workdir: Path, config_text: str) -> None:
        binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
        super().__init__(
            workdir,
            "alertmanager.yml",
            config_text,
            [
                binary,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{{port}}",
                "--cluster.listen-address=",  # no gossip port: nothing listens outside 127.0.0.1
                "--log.level=debug",
            ],
            "alertmanager",
        )

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts (each alert: labels, annotations, startsAt...)."""
        req = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"POST /api/v2/alerts: {r.status}")

    def alerts(self, *filters: str) -> list[dict[str, Any]]:
        """GET /api/v2/alerts, optionally with label matchers such as 'component="voice"'."""
        query = urllib.parse.urlencode([("filter", f) for f in filters])
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts?{query}", timeout=10) as r:
            return list(json.loads(r.read()))
