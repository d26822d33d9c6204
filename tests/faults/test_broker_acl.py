"""The shipped broker setup (deploy/docker: mosquitto.conf, mosquitto.acl, mosquitto-start.sh) against a real
Mosquitto (issue 16, break 8): no anonymous client, an agent writes only under its own vantage, the
aggregator and readers only read. The start script and ACL file run as shipped; only the listener and the
data folder are moved into the test's own folder."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.base import LOOPBACK, free_port, require_binary, tcp_listening, wait_until

DOCKER = Path(__file__).resolve().parents[2] / "deploy" / "docker"
PASSWORDS = {"docker": "agent-pw-1", "aggregator": "agg-pw-2", "reader": "reader-pw-3"}

pytestmark = pytest.mark.peer


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[int]:
    """Mosquitto started by the shipped script with the shipped ACL; yields its port, stops it by PID."""
    require_binary("mosquitto", "mosquitto")
    port = free_port()
    conf = (DOCKER / "mosquitto.conf").read_text()
    conf = conf.replace("listener 1883 0.0.0.0", f"listener {port} {LOOPBACK}")
    conf = conf.replace("/mosquitto/data/passwd", str(tmp_path / "passwd"))
    conf = conf.replace("/mosquitto/config/mosquitto.acl", str(DOCKER / "mosquitto.acl"))
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/")
    assert "/mosquitto/" not in conf
    (tmp_path / "mosquitto.conf").write_text(conf + f"user {os.environ.get('USER', 'root')}\n")
    env = {
        **os.environ,
        "MOSQUITTO_CONFIG": str(tmp_path / "mosquitto.conf"),
        "MOSQUITTO_PASSWD": str(tmp_path / "passwd"),
        "DIALTONE_MQTT_PASSWORD": PASSWORDS["docker"],
        "DIALTONE_MQTT_AGGREGATOR_PASSWORD": PASSWORDS["aggregator"],
        "DIALTONE_MQTT_READER_PASSWORD": PASSWORDS["reader"],
    }
    log = (tmp_path / "broker.log").open("wb")
    proc = subprocess.Popen(
        ["/bin/sh", str(DOCKER / "mosquitto-start.sh")], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: proc.poll() is not None or tcp_listening(port), 15, "the shipped broker")
        assert proc.poll() is None, (tmp_path / "broker.log").read_text()
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # the script exec'd the broker: this PID is mosquitto's
        proc.wait(10)
        log.close()


def _auth(user: str | None) -> list[str]:
    return [] if user is None else ["-u", user, "-P", PASSWORDS[user]]


def publish(port: int, user: str | None, topic: str, payload: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("mosquitto_pub", "mosquitto-clients")
    return subprocess.run(
        [
            binary,
            "-h",
            LOOPBACK,
            "-p",
            str(port),
            "-V",
            "mqttv5",
            "-q",
            "1",
            "-r",
            "-t",
            topic,
            "-m",
            payload,
            *_auth(user),
        ],
        capture_output=True,
        text=True,
        timeout=15,
    )


def retained(port: int, user: str | None, topic: str) -> subprocess.CompletedProcess[str]:
    """What a subscriber as `user` gets on `topic` (retained messages), within 2 s."""
    binary = require_binary("mosquitto_sub", "mosquitto-clients")
    return subprocess.run(
        [binary, "-h", LOOPBACK, "-p", str(port), "-V", "mqttv5", "-t", topic, "-v", "-W", "2", *_auth(user)],
        capture_output=True,
        text=True,
        timeout=15,
    )


def test_anonymous_clients_are_refused(shipped_broker: int) -> None:
    assert publish(shipped_broker, None, "dialtone/v1/docker/agent", "x").returncode != 0
    done = retained(shipped_broker, None, "dialtone/v1/#")
    assert done.returncode != 0 and "not authori" in (done.stderr + done.stdout).lower()


def test_an_agent_writes_only_under_its_own_vantage(shipped_broker: int) -> None:
    own = "dialtone/v1/docker/components/voice/status"
    other = "dialtone/v1/den1/components/voice/status"
    assert publish(shipped_broker, "docker", own, "mine").returncode == 0
    denied = publish(shipped_broker, "docker", other, "forged")
    assert "not authori" in (denied.stderr + denied.stdout).lower(), denied
    seen = retained(shipped_broker, "aggregator", "dialtone/v1/#").stdout
    assert f"{own} mine" in seen and other not in seen


def test_the_aggregator_and_readers_only_read(shipped_broker: int) -> None:
    for user in ("aggregator", "reader"):
        denied = publish(shipped_broker, user, "dialtone/v1/docker/components/voice/status", f"forged by {user}")
        assert "not authori" in (denied.stderr + denied.stdout).lower(), (user, denied)
    assert "forged" not in retained(shipped_broker, "reader", "dialtone/v1/#").stdout
    # The agent itself reads nothing, not even its own topics.
    publish(shipped_broker, "docker", "dialtone/v1/docker/agent", "online")
    assert retained(shipped_broker, "docker", "dialtone/v1/#").stdout == ""
