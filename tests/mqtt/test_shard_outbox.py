"""Sharding by stable hash (checked against a real Prometheus `hashmod`), the outbox, and the config keys."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.runtime.config import ConfigError, load_config_text
from agent.runtime.shard import Shard, hashmod, parse_shard, select_targets
from agent.sinks.outbox import Outbox, OutboxError
from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary

IDS = [f"sip-edge-{i}" for i in range(12)] + ["portal", "pstn-loop-den", "api.example", "x"]


@dataclass(frozen=True)
class T:
    id: str


@pytest.mark.peer
def test_hashmod_agrees_with_prometheus_relabelling(tmp_path: Path) -> None:
    binary = require_binary("prometheus", "prometheus")
    port = free_port()
    targets = [{"targets": [f"{LOOPBACK}:9"], "labels": {"target_id": i}} for i in IDS]
    config = {
        "global": {"scrape_interval": "1h"},
        "scrape_configs": [
            {
                "job_name": "shard",
                "static_configs": targets,
                "relabel_configs": [
                    {"source_labels": ["target_id"], "modulus": 5, "target_label": "shard", "action": "hashmod"}
                ],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))
    url = f"http://{LOOPBACK}:{port}"
    with PeerProcess(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
        ],
        name="prometheus",
    ).start(tmp_path) as prom:
        # Discovery reaches the scrape manager a few seconds after /-/ready: poll until all targets show.
        prom.wait_ready(lambda: len(_active(url)) == len(IDS), timeout=30)
        active = _active(url)
    theirs = {t["labels"]["target_id"]: int(t["labels"]["shard"]) for t in active}
    assert theirs == {i: hashmod(i, 5) for i in IDS}


def _active(url: str) -> list[dict[str, dict[str, str]]]:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=2) as resp:
            return list(json.load(resp)["data"]["activeTargets"])
    except OSError:
        return []


@given(st.lists(st.text(min_size=1, max_size=30), unique=True, max_size=40), st.integers(1, 9))
def test_every_target_lands_on_exactly_one_shard(ids: list[str], n: int) -> None:
    targets = [T(i) for i in ids]
    shards = [select_targets(targets, f"{i}/{n}") for i in range(n)]
    assert sorted(t.id for s in shards for t in s) == sorted(ids)
    assert select_targets(targets, None) == targets


def test_shard_spelling_errors_are_specific() -> None:
    assert parse_shard(" 2 / 3 ") == Shard(2, 3)
    for text, needle in (
        ("3/3", "0 <= i < n"),
        ("1/0", "at least 1"),
        ("a/b", "look like i/n"),
        ("1", "look like i/n"),
        ("-1/3", "look like i/n"),
    ):
        with pytest.raises(ValueError, match=needle):
            parse_shard(text)


def test_config_keys_validate_with_key_paths(tmp_path: Path) -> None:
    c = load_config_text("vantage: den1\nshard: 1/4\nmqtt: {prefix: acme/v1}\naggregate: {quorum: 3}\n")
    assert (c.shard, c.mqtt and c.mqtt.prefix, c.aggregate and c.aggregate.quorum) == ("1/4", "acme/v1", 3)
    bad = {
        "shard: 4/4\n": "shard: shard '4/4': i must satisfy 0 <= i < n",
        "mqtt: {prefix: 'a/+/b'}\n": "mqtt.prefix: prefix cannot contain the MQTT wildcards",
        "mqtt: {prefix: '/a'}\n": "mqtt.prefix: prefix is topic levels",
        "mqtt: {password: x}\n": "mqtt: password needs a username",
        "mqtt: {tls: {cert_file: a.pem}}\n": "mqtt.tls: cert_file and key_file go together",
        "mqtt: {reconnect_min: 5s, reconnect_max: 1s}\n": "mqtt: reconnect_min must be > 0",
        "mqtt: {hots: x}\n": "mqtt.hots: unknown key",
        "aggregate: {quorum: 0}\n": "aggregate.quorum:",
        "aggregate: {vantages: [Bad Name]}\n": "aggregate.vantages[0]:",
    }
    for text, message in bad.items():
        with pytest.raises(ConfigError) as e:
            load_config_text(text)
        assert message in str(e.value), (text, str(e.value))


def test_outbox_keeps_order_and_sequence_across_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    seqs = [box.next_seq() for _ in range(3)]
    for i in range(5):
        box.put(f"t/{i}", f"p{i}".encode(), retain=i % 2 == 0)
    first_two = box.peek(2)
    assert [i.topic for i in first_two] == ["t/0", "t/1"] and first_two[0].retain
    box.ack(first_two)
    stream = box.stream
    box.close()
    again = Outbox(tmp_path / "o.sqlite")
    assert again.stream == stream and again.depth == 3
    assert [i.payload for i in again.peek(10)] == [b"p2", b"p3", b"p4"]
    assert again.next_seq() > max(seqs)
    again.close()


def test_outbox_keeps_events_in_memory_when_the_disk_fails(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.put("t/a", b"a", retain=True)
    box._conn.close()  # the file becomes unusable under it, as with a removed or full disk
    box.put("t/b", b"b", retain=True)
    assert box.write_errors >= 1 and box.depth == 2
    held = box.peek(10)
    assert [i.topic for i in held] == ["t/b"]
    box.ack(held)
    assert box.depth == 1


def test_outbox_that_cannot_be_opened_says_where(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutboxError, match=r"cannot open MQTT outbox .*not-a-db"):
        Outbox(tmp_path / "not-a-db")
