"""Issue 17: three healthy agents against a real Mosquitto; the aggregator learns the component at once.

Before, a component's first status ("operational") was no transition, so nothing was published and
`dialtone aggregate` exported no status at all for a healthy component until its first outage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.mqtt.conftest import eventually
from tests.mqtt.test_aggregate import _aggregator, _shown, running
from tests.peers.base import free_port
from tests.peers.mosquitto import Mosquitto

pytestmark = pytest.mark.peer
VANTAGES = ("den1", "nyc1", "sfo1")
FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _agent(tmp_path: Path, vantage: str, target_port: int, broker: Mosquitto) -> Agent:
    folder = tmp_path / vantage
    folder.mkdir(exist_ok=True)
    cfg = agent_config(folder, target_port, free_port(), interval="200ms")
    text = cfg.read_text().replace("vantage: test", f"vantage: {vantage}")
    cfg.write_text(text + f"mqtt: {{host: 127.0.0.1, port: {broker.port}, outbox: {folder / 'outbox.sqlite'}}}\n")
    return Agent(load_config(cfg), config_path=cfg)


async def test_healthy_vantages_make_the_aggregate_operational(broker: Mosquitto, tmp_path: Path) -> None:
    agg, history, _ = _aggregator(broker, tmp_path)
    await history.start()
    async with http_target({"code": 200}) as port, running(agg):
        agents = [_agent(tmp_path, v, port, broker) for v in VANTAGES]
        try:
            for a in agents:
                await a.start()
            await eventually(lambda: _shown(agg, "portal") == "operational", 15, "operational by quorum")
            assert set(agg.view.reports["portal"]) == set(VANTAGES)
            # A restart publishes the restored start state again (retained), before any probe confirms it.
            await agents[0].stop()
            agents[0] = _agent(tmp_path, "den1", port, broker)
            await agents[0].start()
            assert str(agents[0].state.component_status("portal")) == "operational"  # no probe has run yet
            assert agents[0].history is not None
            await agents[0].history.flush()
            restored = agents[0].history.path
        finally:
            for a in agents:
                await a.stop()
    await history.aclose()
    from agent.history.reader import HistoryReader

    with HistoryReader(restored) as r:
        causes = [t.cause for t in r.transitions(*FAR, subject="component")]
    assert any("restored from history" in c for c in causes)
