"""MQTT events through a local Mosquitto: publish rate, transition-to-subscriber latency, aggregator CPU/event.

What runs (all on 127.0.0.1, ports chosen free):
- Mosquitto (Debian), `mosquitto_sub` as the independent subscriber (it stamps each arrival with %U),
  and `dialtone aggregate` as its own process (its CPU is read from /proc).
- Three MqttSinks (vantages den1, nyc1, sfo1) in this process publish component status changes.
- Burst: `--events` changes at once; the rate is changes per second until every PUBACK is in.
  Anchor: the same number of QoS 1 messages through `mosquitto_pub -l` (C, libmosquitto), same broker.
- Paced: `--paced` changes at `--rate`/s; latency is arrival at mosquitto_sub minus the on_transition call.
- Aggregator CPU per event: its process CPU over the burst divided by the events it applied.
  Anchor: `json.loads` of the same payloads in this process (the least any consumer must do).

Usage: .venv/bin/python bench/mqtt_events.py [--events 10000] [--paced 2000] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.aggregate.aggregator import Aggregator
from agent.aggregate.config import AggregateConfig
from agent.core.model import Transition
from agent.sinks.mqtt import MqttConfig, MqttSink
from bench.common import Row, machine, pid_cpu_seconds, report
from tests.peers.base import LOOPBACK, free_port, wait_until
from tests.peers.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[1]
VANTAGES = ("den1", "nyc1", "sfo1")
STATUSES = ("major_outage", "operational")


def _metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=2) as resp:
            return str(resp.read().decode())
    except OSError:
        return ""


def _sample(text: str, line_start: str) -> float:
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln.startswith(line_start))


def start_aggregator(tmp: Path, broker: int, port: int) -> subprocess.Popen[bytes]:
    """`dialtone aggregate` in its own process."""
    cfg = tmp / "aggregate.yaml"
    cfg.write_text(
        f"history: {{path: {tmp / 'agg.sqlite'}}}\nmqtt: {{port: {broker}}}\n"
        f'aggregate: {{quorum: 2, listen: "{LOOPBACK}:{port}"}}\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "aggregate", "-c", str(cfg), "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "agg.log").open("wb"),
    )
    wait_until(lambda: "dialtone_aggregate_mqtt_connected 1.0" in _metrics(port), 30, "aggregator")
    return proc


def transition(i: int, cause: str) -> Transition:
    """The i-th change: component c{i % 200} alternating between outage and operational."""
    new, old = STATUSES[(i // 200) % 2], STATUSES[1 - (i // 200) % 2]
    comp = f"c{i % 200:03d}"
    return Transition("component", comp, datetime.now(UTC), old, new, cause, comp)


async def drained(sinks: list[MqttSink], timeout: float = 300.0) -> None:
    """Wait until every sink's outbox is empty (all PUBACKs received)."""
    deadline = time.monotonic() + timeout
    while any(s.outbox_depth for s in sinks):
        if time.monotonic() > deadline:
            raise TimeoutError("outbox not drained")
        await asyncio.sleep(0.002)


async def publish(tmp: Path, broker: int, events: int, paced: int, rate: float) -> tuple[float, float]:
    """Burst rate (events/s) and the paced phase's wall time."""
    sinks = [MqttSink(MqttConfig(port=broker, outbox=tmp / f"{v}.sqlite"), v) for v in VANTAGES]
    for s in sinks:
        await s.start()
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    for i in range(events):
        sinks[i % 3].on_transition(transition(i, "burst"))
    await drained(sinks)
    burst_rate = events / (time.perf_counter() - t0)
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    for i in range(paced):
        sinks[i % 3].on_transition(transition(i, "paced"))
        # Sleep to the schedule, not by a fixed step, so the offered rate holds.
        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
    await drained(sinks)
    for s in sinks:
        await s.aclose()
    return burst_rate, time.perf_counter() - start


def anchor_rate(broker: Mosquitto, events: int) -> float:
    """mosquitto_pub -l at QoS 1: one message per stdin line."""
    lines = b"".join(json.dumps({"seq": i, "status": "major_outage"}).encode() + b"\n" for i in range(events))
    t0 = time.perf_counter()
    subprocess.run(broker.pub_argv("anchor/bench", "-q", "1", "-l"), input=lines, check=True, timeout=300)
    return events / (time.perf_counter() - t0)


def latencies(out: Path) -> tuple[list[float], list[tuple[str, bytes]]]:
    """Paced latencies (seconds) and every status message received, as (topic, payload)."""
    lat, payloads = [], []
    for line in out.read_bytes().splitlines():
        stamp, topic, payload = line.split(b" ", 2)
        payloads.append((topic.decode(), payload))
        body = json.loads(payload)
        if body.get("cause") == "paced":
            lat.append(float(stamp) - datetime.fromisoformat(body["at"]).timestamp())
    return sorted(lat), payloads


def handle_cpu(messages: list[tuple[str, bytes]]) -> float:
    """CPU seconds per message of validation, quorum and metrics alone (no network), in this process."""
    agg = Aggregator(MqttConfig(), AggregateConfig(quorum=2))
    now = datetime.now(UTC).isoformat()
    for v in VANTAGES:
        online = {
            "schema": 1,
            "type": "agent",
            "id": "b",
            "seq": 0,
            "stream": "bench",
            "vantage": v,
            "at": now,
            "status": "online",
        }
        agg.handle(f"dialtone/v1/{v}/agent", json.dumps(online).encode())
    t0 = time.process_time()
    for topic, payload in messages:
        agg.handle(topic, payload)
    return (time.process_time() - t0) / max(1, len(messages))


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


def main() -> None:
    """Run the bench and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--paced", type=int, default=2_000)
    ap.add_argument("--rate", type=float, default=200.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, Mosquitto(Path(d)) as broker:
        tmp = Path(d)
        mport = free_port()
        agg = start_aggregator(tmp, broker.port, mport)
        out = tmp / "sub.out"
        with out.open("wb") as f:
            sub = subprocess.Popen(
                broker.sub_argv("dialtone/v1/+/components/+/status", "-q", "1", "-F", "%U %t %p"), stdout=f
            )
        time.sleep(0.5)
        cpu0, ev0 = pid_cpu_seconds(agg.pid), _sample(_metrics(mport), "dialtone_aggregate_events_total")
        burst_rate, _ = asyncio.run(publish(tmp, broker.port, a.events, 0, a.rate))
        wait_until(
            lambda: _sample(_metrics(mport), "dialtone_aggregate_events_total") - ev0 >= a.events,
            60,
            "aggregator caught up",
        )
        cpu = pid_cpu_seconds(agg.pid) - cpu0
        applied = _sample(_metrics(mport), "dialtone_aggregate_events_total") - ev0
        asyncio.run(publish(tmp, broker.port, 0, a.paced, a.rate))
        wait_until(lambda: len(out.read_bytes().splitlines()) >= a.events + a.paced, 60, "subscriber caught up")
        anchor = anchor_rate(broker, a.events)
        for p in (sub, agg):
            os.kill(p.pid, signal.SIGTERM)
            p.wait(15)
        lat, payloads = latencies(out)
    burst = payloads[: a.events]
    t0 = time.process_time()
    for _, payload in burst:
        json.loads(payload)
    floor = (time.process_time() - t0) / max(1, len(burst))
    handle = handle_cpu(burst)
    per_event = cpu / max(1.0, applied)
    p50, p99 = pct(lat, 50) * 1000, pct(lat, 99) * 1000
    print(machine())
    report("mqtt events", [
        Row(f"publish rate, burst of {a.events} (events/s)", f"{burst_rate:,.0f}", f"{anchor:,.0f} mosquitto_pub -l",
            f"{burst_rate / anchor:.2f}"),
        Row(f"latency p50, {a.paced} at {a.rate:g}/s (ms)", f"{p50:.2f}"),
        Row(f"latency p99, {a.paced} at {a.rate:g}/s (ms)", f"{p99:.2f}", goal="< 50 ms", met=p99 < 50),
        Row("aggregator process CPU per event (µs)", f"{per_event * 1e6:.0f}",
            f"{floor * 1e6:.1f} json.loads only", f"{per_event / floor:.0f}" if floor else "-"),
        Row("  of which Aggregator.handle (µs)", f"{handle * 1e6:.0f}", f"{floor * 1e6:.1f} json.loads only",
            f"{handle / floor:.0f}" if floor else "-"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
