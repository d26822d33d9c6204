"""A forged seq on the broker against the real `dialtone aggregate` process (issue 16, break 8): a retained
publish with an agent's own stream and a huge seq is refused, and a forged seq inside the bound cannot
make the aggregator drop the real agent's later events as duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.sinks.mqtt import MqttSink
from tests.mqtt.conftest import broker, component_transition, eventually, sink_config  # noqa: F401
from tests.mqtt.test_command import ROOT, _config, _metrics
from tests.peers.base import free_port, wait_until
from tests.peers.mosquitto import Mosquitto

TOPIC = "dialtone/v1/den1/components/voice/status"
OUTAGE = 'dialtone_component_status{component="voice",status="major_outage"} 1.0'
OPERATIONAL = 'dialtone_component_status{component="voice",status="operational"} 1.0'


def _rejected(port: int, reason: str) -> float:
    for line in _metrics(port).splitlines():
        if line.startswith(f'dialtone_aggregate_rejected_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _forge(b: Mosquitto, **changes: object) -> None:
    """Publish, retained, den1's own last status message with `changes` (its stream kept)."""
    real = subprocess.run(b.sub_argv(TOPIC, "-C", "1", "-W", "5"), capture_output=True, text=True, timeout=10)
    payload = {**json.loads(real.stdout), "id": "f" * 32, **changes}
    subprocess.run(b.pub_argv(TOPIC, "-r", "-q", "1", "-m", json.dumps(payload)), check=True, timeout=10)


@pytest.mark.peer
async def test_a_forged_seq_neither_flips_the_status_nor_silences_the_agent(
    broker: Mosquitto,  # noqa: F811
    tmp_path: Path,
) -> None:
    port = free_port()
    log = (tmp_path / "agg.log").open("wb")
    argv = [sys.executable, "-m", "agent", "aggregate", "-c", str(_config(tmp_path, broker.port, port))]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    sinks = {v: MqttSink(sink_config(broker, tmp_path, v), v) for v in ("den1", "nyc1", "sfo1")}
    try:
        wait_until(lambda: "dialtone_aggregate_mqtt_connected 1.0" in _metrics(port), 20, "aggregator up")
        for v, s in sinks.items():
            await s.start()
            s.on_transition(component_transition("voice", "operational" if v == "sfo1" else "major_outage", i=1))
        await eventually(lambda: OUTAGE in _metrics(port), 20, "the real outage")
        # The reported attack: den1's stream, a huge seq, operational. Refused; the outage stays.
        _forge(broker, seq=2**62, status="operational")
        await eventually(lambda: _rejected(port, "seq_jump") >= 1, 10, "the huge seq to be refused")
        assert OUTAGE in _metrics(port)
        # Inside the bound a forged event is taken (only the broker ACL can stop that, see
        # test_broker_acl.py), but den1's next real event still counts: it is later in time.
        _forge(broker, seq=900_000, status="operational")
        await eventually(lambda: OPERATIONAL in _metrics(port), 10, "the forged status to be applied")
        sinks["den1"].on_transition(component_transition("voice", "major_outage", old="operational", i=2))
        await eventually(lambda: OUTAGE in _metrics(port), 10, "den1's real event to be applied, not dropped")
    finally:
        for s in sinks.values():
            await s.aclose()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(15)
        log.close()
