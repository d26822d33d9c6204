"""A publishing agent in its own process, so a test can SIGKILL it with events still in its outbox.

Usage: python -m tests.mqtt.agent_proc PORT OUTBOX VANTAGE FIRST COUNT
Emits target transitions FIRST..FIRST+COUNT-1, prints `emitted`, then prints `depth N` whenever the
outbox depth changes, and runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent.sinks.mqtt import MqttConfig, MqttSink
from tests.mqtt.conftest import target_transition


async def main(port: int, outbox: Path, vantage: str, first: int, count: int) -> None:
    """Run the sink until killed."""
    config = MqttConfig(port=port, outbox=outbox, reconnect_min=0.05, reconnect_max=0.3, keepalive=5)
    sink = MqttSink(config, vantage)
    await sink.start()
    for i in range(first, first + count):
        sink.on_transition(target_transition(i))
    print("emitted", flush=True)
    last = -1
    while True:
        if sink.outbox_depth != last:
            last = sink.outbox_depth
            print(f"depth {last} connected {int(sink.connected)}", flush=True)
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), Path(a[1]), a[2], int(a[3]), int(a[4])))
