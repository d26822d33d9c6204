"""Fixtures for the MQTT tests: a real Mosquitto on a free loopback port, and sink/aggregator helpers."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from agent.core.model import Transition
from agent.sinks.mqtt import MqttConfig
from tests.peers.mosquitto import Mosquitto

T0 = datetime(2025, 3, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous broker with persistence."""
    with Mosquitto(tmp_path) as b:
        yield b


def sink_config(broker: Mosquitto, tmp_path: Path, name: str = "outbox", **kw: object) -> MqttConfig:
    """A config for a sink talking to `broker`, with a quick reconnect so tests stay short."""
    base: dict[str, object] = {
        "port": broker.port,
        "outbox": tmp_path / f"{name}.sqlite",
        "reconnect_min": 0.05,
        "reconnect_max": 0.4,
        "timeout": 3,
        "close_timeout": 3,
        "keepalive": 5,
    }
    base.update(kw)
    return MqttConfig.model_validate(base)


def target_transition(i: int, target: str = "sip-edge", component: str = "voice") -> Transition:
    """The i-th state change of a target: down on odd i, up on even i; the cause carries i."""
    old, new = ("up", "down") if i % 2 else ("down", "up")
    return Transition("target", target, T0 + timedelta(seconds=i), old, new, f"n={i}", component)


def component_transition(component: str, new: str, old: str = "operational", i: int = 0) -> Transition:
    """A component status change."""
    return Transition("component", component, T0 + timedelta(seconds=i), old, new, f"test {i}", component)


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` on the event loop until true; fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def collect(
    port: int, topic: str, count: int, *, client_id: str | None = None, clean: bool = True, timeout: float = 10.0
) -> list[aiomqtt.Message]:
    """Connect a subscriber and return the first `count` messages (QoS 1), or fail after `timeout`."""
    got: list[aiomqtt.Message] = []
    async with aiomqtt.Client("127.0.0.1", port, identifier=client_id, clean_session=clean) as client:
        await client.subscribe(topic, qos=1)
        async with asyncio.timeout(timeout):
            async for msg in client.messages:
                got.append(msg)
                if len(got) >= count:
                    break
    return got


def mosquitto_sub(argv: list[str], timeout: float = 10.0) -> list[str]:
    """Run mosquitto_sub to completion and return its output lines."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode in (0, 27), f"mosquitto_sub failed ({out.returncode}): {out.stderr}"
    return out.stdout.splitlines()
