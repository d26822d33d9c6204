"""`dialtone aggregate -c FILE` as a real process: quorum over real agents, /metrics, clean stop, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agent.sinks.mqtt import MqttSink
from tests.mqtt.conftest import component_transition, eventually, sink_config
from tests.peers.base import LOOPBACK, free_port, wait_until
from tests.peers.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, broker_port: int, metrics_port: int) -> Path:
    path = tmp_path / "aggregate.yaml"
    path.write_text(f"""
vantage: aggregator
history: {{path: {tmp_path / "agg.sqlite"}, batch_interval: 100ms}}
mqtt: {{port: {broker_port}, reconnect_min: 50ms, reconnect_max: 400ms}}
aggregate: {{quorum: 2, listen: "{LOOPBACK}:{metrics_port}", vantages: [den1, nyc1, sfo1]}}
site: {{out: {tmp_path / "site"}, render_interval: 1s}}
components:
  - {{id: voice, name: Voice, tier: voice_messaging}}
""")
    return path


def _metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=2) as resp:
            return str(resp.read().decode())
    except OSError:
        return ""


def _page_status(site: Path) -> list[tuple[str, str]]:
    try:
        components = json.loads((site / "api/v2/components.json").read_text())["components"]
    except (OSError, ValueError):
        return []
    return [(c["id"], c["status"]) for c in components]


@pytest.mark.peer
async def test_aggregate_command_shows_quorum_outage_and_stops_cleanly(broker: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "agg.log").open("wb")
    argv = [sys.executable, "-m", "agent", "aggregate", "-c", str(_config(tmp_path, broker.port, port))]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    sinks = [MqttSink(sink_config(broker, tmp_path, v), v) for v in ("den1", "nyc1", "sfo1")]
    try:
        wait_until(lambda: "dialtone_aggregate_mqtt_connected 1.0" in _metrics(port), 20, "aggregator up")
        for i, s in enumerate(sinks):
            await s.start()
            s.on_transition(component_transition("voice", "major_outage" if i < 2 else "operational", i=i))
        outage = 'dialtone_component_status{component="voice",status="major_outage"} 1.0'
        await eventually(lambda: outage in _metrics(port), 20, "aggregated outage on /metrics")
        assert 'dialtone_aggregate_vantage_online{vantage="sfo1"} 1.0' in _metrics(port)
        # The page is rendered by the aggregator from its own (aggregated) history.
        await eventually(
            lambda: _page_status(tmp_path / "site") == [("voice", "major_outage")],
            20,
            "status page showing the aggregated outage",
        )
    finally:
        for s in sinks:
            await s.aclose()
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(15)
        log.close()
    assert code == 0, (tmp_path / "agg.log").read_text()


def test_aggregate_without_mqtt_block_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("vantage: x\n")
    out = subprocess.run(
        [sys.executable, "-m", "agent", "aggregate", "-c", str(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 2
    assert "mqtt: the aggregator needs an mqtt: block" in out.stderr


async def test_status_page_is_rendered_from_the_aggregated_history(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from agent.cli.commands._aggregate import _page_renderer
    from agent.core.model import Transition
    from agent.history.writer import HistoryWriter
    from agent.runtime.config import load_config_text
    from statuspage.config import SiteConfig

    config = load_config_text(
        f"history: {{path: {tmp_path / 'agg.sqlite'}}}\nmqtt: {{}}\n"
        "components: [{id: voice, name: Voice Calls, tier: voice_messaging}]\n"
    )
    history = HistoryWriter(tmp_path / "agg.sqlite", batch_interval=0.05)
    await history.start()
    history.on_transition(
        Transition(
            "component",
            "voice",
            datetime.now(UTC) - timedelta(minutes=5),
            "unknown",
            "major_outage",
            "quorum 2 of 3 online vantages",
            "voice",
        )
    )
    await history.aclose()
    _page_renderer(config, SiteConfig(out=tmp_path / "site"))()
    components = json.loads((tmp_path / "site/api/v2/components.json").read_text())["components"]
    assert [(c["id"], c["status"]) for c in components] == [("voice", "major_outage")]
    assert "Voice Calls" in (tmp_path / "site/index.html").read_text()
