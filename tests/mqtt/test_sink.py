"""MqttSink against a real Mosquitto: retained state, Last Will, outages, restarts, credentials, TLS."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest

from agent.sinks.mqtt import MqttSink
from tests.mqtt.conftest import collect, eventually, mosquitto_sub, sink_config, target_transition
from tests.peers.base import wait_until
from tests.peers.mosquitto import Mosquitto, make_certs

pytestmark = pytest.mark.peer
ROOT = Path(__file__).resolve().parents[2]


class AgentProcess:
    """tests/mqtt/agent_proc.py in a subprocess; its output goes to a file the test polls."""

    def __init__(self, tmp: Path, port: int, outbox: Path, first: int, count: int, name: str) -> None:
        self.out = tmp / f"{name}.out"
        with self.out.open("wb") as f:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.mqtt.agent_proc", str(port), str(outbox), "den1", str(first), str(count)],
                cwd=ROOT,
                stdout=f,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )

    def saw(self, line: str) -> bool:
        """True once the process printed `line`."""
        return line in self.out.read_text().splitlines()

    def wait_for(self, line: str, timeout: float = 20.0) -> None:
        """Wait until it prints `line`; fail with its output otherwise."""
        try:
            wait_until(lambda: self.saw(line) or self.proc.poll() is not None, timeout, line)
        finally:
            assert self.saw(line), f"agent never printed {line!r}:\n{self.out.read_text()}"

    def kill(self) -> None:
        """SIGKILL by PID: no clean shutdown, no offline message, whatever is in flight is cut."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def _payloads(messages: list[aiomqtt.Message]) -> list[dict[str, object]]:
    return [json.loads(bytes(m.payload)) for m in messages]


def _dedupe(payloads: list[dict[str, object]]) -> list[dict[str, object]]:
    """What a consumer keeps: the first copy of each (stream, seq)."""
    seen: set[tuple[object, object]] = set()
    out = []
    for p in payloads:
        if (p["stream"], p["seq"]) not in seen:
            seen.add((p["stream"], p["seq"]))
            out.append(p)
    return out


async def _register_session(port: int, client_id: str, topic: str) -> None:
    # A persistent session (clean_session=False) makes the broker queue QoS 1 messages while we are away.
    async with aiomqtt.Client("127.0.0.1", port, identifier=client_id, clean_session=False) as c:
        await c.subscribe(topic, qos=1)


def test_retained_state_and_last_will_read_by_mosquitto_sub(broker: Mosquitto, tmp_path: Path) -> None:
    agent = AgentProcess(tmp_path, broker.port, tmp_path / "o.sqlite", 1, 3, "agent")
    try:
        agent.wait_for("depth 0 connected 1")
        lines = mosquitto_sub(broker.sub_argv("dialtone/v1/den1/#", "-v", "-C", "2", "-W", "10"))
        by_topic = {ln.split(" ", 1)[0]: json.loads(ln.split(" ", 1)[1]) for ln in lines}
        state = by_topic["dialtone/v1/den1/targets/sip-edge/state"]
        assert (state["state"], state["previous"], state["cause"]) == ("down", "up", "n=3")
        assert state["schema"] == 1 and state["component"] == "voice" and state["vantage"] == "den1"
        assert by_topic["dialtone/v1/den1/agent"]["status"] == "online"
        watcher = tmp_path / "will.out"
        with watcher.open("wb") as f:
            sub = subprocess.Popen(broker.sub_argv("dialtone/v1/den1/agent", "-C", "2", "-W", "15"), stdout=f)
        wait_until(lambda: b"online" in watcher.read_bytes(), 10, "the retained online message")
        agent.kill()
        sub.wait(15)
        last = json.loads(watcher.read_text().splitlines()[-1])
        assert last["status"] == "offline" and last["type"] == "agent"
    finally:
        agent.kill()


async def test_broker_restart_loses_nothing_and_keeps_order(broker: Mosquitto, tmp_path: Path) -> None:
    await _register_session(broker.port, "checker", "dialtone/v1/+/targets/#")
    sink = MqttSink(sink_config(broker, tmp_path), "den1")
    await sink.start()
    try:
        for i in range(1, 11):
            sink.on_transition(target_transition(i))
        await eventually(lambda: sink.outbox_depth == 0 and sink.connected, what="first batch delivered")
        broker.stop()
        for i in range(11, 21):
            sink.on_transition(target_transition(i))
        failures = sink.connect_failures_total
        await eventually(lambda: sink.connect_failures_total >= failures + 3, what="reconnect attempts")
        assert sink.outbox_depth == 10 and not sink.connected
        broker.start()
        for i in range(21, 31):
            sink.on_transition(target_transition(i))
        await eventually(lambda: sink.outbox_depth == 0 and sink.connected, what="outbox drained")
    finally:
        await sink.aclose()
    got = _dedupe(
        _payloads(await collect(broker.port, "dialtone/v1/+/targets/#", 30, client_id="checker", clean=False))
    )
    assert [p["cause"] for p in got] == [f"n={i}" for i in range(1, 31)]
    seqs = [p["seq"] for p in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 30  # type: ignore[type-var]  # JSON numbers


async def test_killed_agent_delivers_its_outbox_after_restart(broker: Mosquitto, tmp_path: Path) -> None:
    await _register_session(broker.port, "checker", "dialtone/v1/+/targets/#")
    broker.stop()
    outbox = tmp_path / "o.sqlite"
    first = AgentProcess(tmp_path, broker.port, outbox, 1, 20, "first")
    try:
        first.wait_for("depth 20 connected 0")
    finally:
        first.kill()
    broker.start()
    second = AgentProcess(tmp_path, broker.port, outbox, 21, 0, "second")
    try:
        second.wait_for("depth 0 connected 1")
    finally:
        second.kill()
    got = _dedupe(
        _payloads(await collect(broker.port, "dialtone/v1/+/targets/#", 20, client_id="checker", clean=False))
    )
    assert [p["cause"] for p in got] == [f"n={i}" for i in range(1, 21)]


async def test_wrong_credentials_one_clear_error_and_events_still_accepted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Mosquitto(tmp_path, users={"agent": "right-password"}) as broker:
        sink = MqttSink(sink_config(broker, tmp_path, username="agent", password="wrong"), "den1")
        caplog.set_level(logging.DEBUG, logger="dialtone.mqtt")
        await sink.start()
        try:
            for i in range(1, 6):
                sink.on_transition(target_transition(i))
            await eventually(lambda: sink.connect_failures_total >= 3, what="repeated connection attempts")
            assert sink.outbox_depth == 5 and not sink.connected and sink.published_total == 0
        finally:
            await sink.aclose()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == "dialtone.mqtt"]
    assert len(errors) == 1, errors
    assert "refused the connection (CONNACK)" in errors[0]
    assert "not authori" in errors[0].lower() or "bad user" in errors[0].lower()
    assert "wrong" not in errors[0]


async def test_password_broker_delivers_with_right_credentials(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret-pw\n")
    with Mosquitto(tmp_path, users={"agent": "s3cret-pw"}) as broker:
        config = sink_config(broker, tmp_path, username="agent", password_file=str(secret))
        sink = MqttSink(config, "den1")
        await sink.start()
        try:
            sink.on_transition(target_transition(1))
            await eventually(lambda: sink.outbox_depth == 0, what="delivery")
        finally:
            await sink.aclose()
        lines = mosquitto_sub(
            broker.sub_argv("dialtone/v1/den1/targets/+/state", "-u", "agent", "-P", "s3cret-pw", "-C", "1", "-W", "10")
        )
        assert json.loads(lines[0])["cause"] == "n=1"


async def test_tls_with_ca_and_client_certificate(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "pki")
    with Mosquitto(tmp_path, certs=certs, require_client_cert=True) as broker:
        tls = {"ca_file": str(certs.ca), "cert_file": str(certs.client_cert), "key_file": str(certs.client_key)}
        sink = MqttSink(sink_config(broker, tmp_path, tls=tls), "den1")
        no_cert = MqttSink(sink_config(broker, tmp_path, "o2", tls={"ca_file": str(certs.ca)}), "nyc1")
        await sink.start()
        await no_cert.start()
        try:
            sink.on_transition(target_transition(1))
            no_cert.on_transition(target_transition(2))
            await eventually(lambda: sink.outbox_depth == 0, what="delivery over TLS")
            await eventually(lambda: no_cert.connect_failures_total >= 2, what="refused without client cert")
            assert no_cert.outbox_depth == 1 and not no_cert.connected
        finally:
            await sink.aclose()
            await no_cert.aclose()
        lines = mosquitto_sub(
            broker.sub_argv(
                "dialtone/v1/+/targets/+/state",
                "-v",
                "--cafile",
                str(certs.ca),
                "--cert",
                str(certs.client_cert),
                "--key",
                str(certs.client_key),
                "-C",
                "1",
                "-W",
                "10",
            )
        )
        assert lines[0].startswith("dialtone/v1/den1/targets/sip-edge/state ")


async def test_results_topic_carries_every_result_unretained(broker: Mosquitto, tmp_path: Path) -> None:
    from agent.core.model import ProbeResult
    from tests.mqtt.conftest import T0

    sink = MqttSink(sink_config(broker, tmp_path, publish_results=True, prefix="acme/status/v1"), "den1")
    await sink.start()
    try:
        await eventually(lambda: sink.connected, what="connection")
        results = [
            ProbeResult("sip-edge", "sip", T0, 0.1 * i, ok=i != 2, error="" if i != 2 else "timeout")
            for i in range(1, 4)
        ]
        async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
            await sub.subscribe("acme/status/v1/den1/results/#", qos=1)
            for r in results:
                sink.on_result(r)
            got = []
            async for msg in sub.messages:
                got.append(msg)
                if len(got) == 3:
                    break
    finally:
        await sink.aclose()
    bodies = _payloads(got)
    assert [b["result"]["error"] for b in bodies] == [None, "timeout", None]  # type: ignore[index]
    assert not any(m.retain for m in got)


async def test_broker_never_reachable_transitions_queue_without_blocking(tmp_path: Path) -> None:
    from tests.peers.base import free_port

    config = sink_config(Mosquitto(tmp_path, port=free_port()), tmp_path)
    sink = MqttSink(config, "den1")
    await sink.start()
    try:
        for i in range(1, 201):
            sink.on_transition(target_transition(i))
        await eventually(lambda: sink.connect_failures_total >= 2, what="failed connection attempts")
        assert sink.outbox_depth == 200 and not sink.connected
        assert "unreachable" in sink.last_error
    finally:
        await sink.aclose()
