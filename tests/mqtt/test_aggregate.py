"""The aggregator against a real Mosquitto: three agents, quorum, offline vantages, hostile payloads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from agent.aggregate.aggregator import Aggregator
from agent.aggregate.config import AggregateConfig
from agent.core.model import Status
from agent.history.reader import HistoryReader
from agent.history.writer import HistoryWriter
from agent.sinks.mqtt import MqttSink
from tests.mqtt.conftest import T0, component_transition, eventually, sink_config
from tests.peers.base import free_port
from tests.peers.mosquitto import Mosquitto

pytestmark = pytest.mark.peer
VANTAGES = ("den1", "nyc1", "sfo1")


@contextlib.asynccontextmanager
async def running(agg: Aggregator) -> AsyncIterator[Aggregator]:
    """Run the aggregator's subscriber and /metrics server for the duration of the block."""
    runner = await agg.serve()
    task = asyncio.create_task(agg.run())
    try:
        await eventually(lambda: agg.connected, what="aggregator subscribed")
        yield agg
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()


def _aggregator(broker: Mosquitto, tmp_path: Path, **kw: object) -> tuple[Aggregator, HistoryWriter, int]:
    port = free_port()
    history = HistoryWriter(tmp_path / "aggregate.sqlite", batch_interval=0.05)
    agg = Aggregator(
        sink_config(broker, tmp_path, "agg-unused"),
        AggregateConfig(quorum=2, listen=f"127.0.0.1:{port}", **kw),
        components=["voice", "portal"],
        sinks=[history],
    )
    return agg, history, port


def _shown(agg: Aggregator, component: str) -> str | None:
    for status in Status:
        if (
            agg.registry.get_sample_value("dialtone_component_status", {"component": component, "status": status.value})
            == 1
        ):
            return status.value
    return None


async def test_three_agents_one_failing_no_outage_two_failing_outage(broker: Mosquitto, tmp_path: Path) -> None:
    agg, history, port = _aggregator(broker, tmp_path)
    await history.start()
    sinks = {v: MqttSink(sink_config(broker, tmp_path, v), v) for v in VANTAGES}
    async with running(agg):
        for s in sinks.values():
            await s.start()
            s.on_transition(component_transition("voice", "operational", "unknown", 0))
        await eventually(lambda: _shown(agg, "voice") == "operational", what="operational by quorum")
        sinks["den1"].on_transition(component_transition("voice", "major_outage", i=1))
        await eventually(lambda: agg.view.reports["voice"]["den1"] is Status.MAJOR_OUTAGE, what="den1 report")
        assert _shown(agg, "voice") == "operational"
        sinks["nyc1"].on_transition(component_transition("voice", "major_outage", i=2))
        await eventually(lambda: _shown(agg, "voice") == "major_outage", what="outage by quorum")
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
        assert 'dialtone_component_status{component="voice",status="major_outage"} 1.0' in text
        assert 'dialtone_component_status{component="voice",status="operational"} 0.0' in text
        # nyc1's agent stops: its vote no longer counts, so one failing vantage is left: no outage.
        await sinks["nyc1"].aclose()
        await eventually(lambda: _shown(agg, "voice") == "operational", what="offline vantage not counted")
        for v in ("den1", "sfo1"):
            await sinks[v].aclose()
    await history.aclose()
    got = HistoryReader(tmp_path / "aggregate.sqlite").transitions(
        T0 - timedelta(days=1), T0 + timedelta(days=3650), subject="component"
    )
    assert [(t.id, t.new) for t in got] == [
        ("voice", "operational"),
        ("voice", "major_outage"),
        ("voice", "operational"),
    ]
    assert "quorum 2 of 3" in got[1].cause


def _pub(broker: Mosquitto, topic: str, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(broker.pub_argv(topic, "-q", "1", *args), input=stdin, check=True, timeout=10, capture_output=True)


async def test_hostile_payloads_are_rejected_counted_and_survived(broker: Mosquitto, tmp_path: Path) -> None:
    agg, _, _ = _aggregator(broker, tmp_path, max_payload=4096)
    topic = "dialtone/v1/evil/components/voice/status"
    async with running(agg):
        _pub(broker, topic, "-m", "not json at all")
        _pub(broker, topic, "-s", stdin=b"{" + b" " * 10_000 + b"}")
        _pub(broker, topic, "-s", stdin=b"\xff\xfe\x00garbage")
        _pub(broker, topic, "-m", json.dumps({"schema": 99}))
        _pub(broker, topic, "-s", stdin=b"[" * 1500 + b"]" * 1500)
        _pub(
            broker,
            "dialtone/v1/den1/agent",
            "-m",
            json.dumps(
                {
                    "schema": 1,
                    "type": "agent",
                    "id": "x",
                    "seq": 1,
                    "stream": "s",
                    "vantage": "den1",
                    "at": T0.isoformat(),
                    "status": "online",
                }
            ),
        )
        expected = {"not_json": 2, "oversized": 1, "not_utf8": 1, "schema_version": 1}
        await eventually(
            lambda: all(agg.rejected_count(r) == n for r, n in expected.items()), what=f"rejections {expected}"
        )
        # Still running and still applying valid events after all that.
        await eventually(lambda: agg.view.online.get("den1") is True, what="valid event applied")
        assert agg.connected
