"""A real Alertmanager (Debian `prometheus-alertmanager`) on a free loopback port, clustering off."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, tcp_listening


def amtool() -> str:
    """Path of amtool (same Debian package)."""
    return require_binary("amtool", "prometheus-alertmanager")


class Alertmanager:
    """Start with a config text; post alerts and read them back through the v2 API; stop by PID."""

    def __init__(self, workdir: Path, config_text: str) -> None:
        binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "alertmanager.yml").write_text(config_text)
        self.proc = PeerProcess([
            binary,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.port}",
            "--cluster.listen-address=",  # no gossip port: nothing listens outside 127.0.0.1
            "--log.level=debug",
        ], name="alertmanager")

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Alertmanager:
        """Start and wait until it answers /-/ready."""
        self.proc.start(self.workdir)
        self.proc.wait_ready(lambda: tcp_listening(self.port) and self._ready(), timeout=30)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts (each alert: labels, annotations, startsAt...)."""
        req = urllib.request.Request(
            f"{self.url}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
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

    def stop(self) -> None:
        """Stop by PID."""
        self.proc.stop()
