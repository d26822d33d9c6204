"""10,000 targets all failing at once: every transition is recorded, and the agent and /metrics stay up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.harness import agent_under_fault
from tests.peers.base import free_port

N = 10_000


async def test_ten_thousand_targets_fail_at_once(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens: every probe is refused at once
    targets = "\n".join(
        f"  - {{id: dead-{i}, component: faulty, kind: tcp, interval: 5s, timeout: 2s,"
        f" tcp: {{address: '127.0.0.1:{dead}'}}}}"
        for i in range(N)
    )
    async with agent_under_fault(tmp_path, targets) as h:
        async with asyncio.timeout(60):
            while sum(1 for t in h.transitions if t.subject == "target" and t.new == "down") < N:
                await asyncio.sleep(0.2)
        await h.healthy_keeps_probing()
        body = await h.metrics_answer(within=5.0)
        assert body.count('probe_success{target="dead-') == N
        assert str(h.agent.state.component_status("faulty")) == "major_outage"
        h.assert_memory_bounded()
    h.assert_no_transition_lost()
    downs = [t for t in h.transitions if t.subject == "target" and t.new == "down" and t.id.startswith("dead-")]
    assert len({t.id for t in downs}) == N
