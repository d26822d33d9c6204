"""The MQTT broker goes down and comes back while the agent runs: probing and /metrics never wait on it,
and every transition made meanwhile reaches subscribers afterwards, in order."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from tests.faults.harness import agent_under_fault
from tests.peers.base import require_binary
from tests.peers.mosquitto import Mosquitto
from tests.probes.servers import raw_server, read_head


async def test_broker_down_and_back(tmp_path: Path) -> None:
    sub = require_binary("mosquitto_sub", "mosquitto-clients")
    broker = Mosquitto(tmp_path / "broker").start()
    state = {"fail": False}

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        status = b"503 Service Unavailable" if state["fail"] else b"200 OK"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()

    faulty = "  - {id: flappy, component: faulty, kind: http, interval: 300ms, timeout: 250ms, http: {url: '%s'}}"
    try:
        async with (
            raw_server(flaky) as port,
            agent_under_fault(
                tmp_path,
                faulty
                % f"http://127.0.0.1:{port}/"
                + f"\nmqtt: {{host: 127.0.0.1, port: {broker.port}, outbox: {tmp_path / 'outbox.sqlite'},"
                " reconnect_min: 100ms, reconnect_max: 500ms}",
            ) as h,
        ):
            await h.wait_transition("flappy", "up")
            broker.stop()

            def count(new: str) -> int:
                return sum(1 for t in h.transitions if t.id == "flappy" and t.new == new)

            for _ in range(3):  # three outages and recoveries while the broker is away
                for fail, new in ((True, "down"), (False, "up")):
                    seen = count(new)
                    state["fail"] = fail
                    async with asyncio.timeout(10):
                        while count(new) <= seen:
                            await asyncio.sleep(0.05)
                await h.healthy_keeps_probing(results=2)
                await h.metrics_answer()
            assert (h.agent.registry.get_sample_value("dialtone_mqtt_outbox_depth") or 0) > 0
            broker.start()
            async with asyncio.timeout(30):
                while h.agent.registry.get_sample_value("dialtone_mqtt_outbox_depth"):
                    await asyncio.sleep(0.1)
            topic = "dialtone/v1/faults/targets/flappy/state"
            out = await asyncio.to_thread(
                subprocess.run,
                [sub, "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "10"],
                capture_output=True,
                text=True,
            )
            assert json.loads(out.stdout)["state"] == "up"
            made = [t for t in h.transitions if t.subject == "target" and t.id == "flappy"]
            assert len(made) >= 7
            assert (h.agent.registry.get_sample_value("dialtone_mqtt_published_total") or 0) >= len(made)
        h.assert_no_transition_lost()
    finally:
        broker.stop()
