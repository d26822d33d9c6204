"""Start state across restarts, with the real agent probing a real HTTP target and its real SQLite history.

Issue 17: a fresh install never stored a component's first status, a restart sent a target unknown -> down as
if nothing were known, and the hours the agent was not running counted as up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.core.model import Status, TargetState, Transition
from agent.history.reader import HistoryReader
from agent.history.schema import open_history
from agent.history.writer import HistoryWriter
from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.core.helpers import agent_config, http_target
from tests.peers.base import free_port

FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def rows(path: Path, subject: str) -> list[tuple[str, str, str]]:
    with HistoryReader(path) as r:
        return [(t.old, t.new, t.cause) for t in r.transitions(*FAR, subject=subject)]


async def test_restart_restores_confirmed_state_and_records_the_gap(tmp_path: Path) -> None:
    status = {"code": 200}
    async with http_target(status) as port:
        path = agent_config(tmp_path, port, free_port(), interval="200ms")
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        # Fresh install: nothing is known before the first probe, and the component says so.
        assert agent.state.component_status("portal") is None
        await wait_for(lambda: agent.state.component_status("portal") is Status.OPERATIONAL)
        await agent.stop()
        history = tmp_path / "history.sqlite"
        assert [(o, n) for o, n, _ in rows(history, "component")] == [
            ("unknown", "operational"),
            ("operational", "unknown"),
        ]

        status["code"] = 503
        agent = Agent(load_config(path), config_path=path)
        seen: list[Transition] = []
        agent.transition_hooks.append(seen.append)
        await agent.start()
        try:
            # The start state is the last confirmed one, emitted (so recorded and published) at once.
            assert agent.state.target_state("portal-health") is TargetState.UP
            assert agent.state.component_status("portal") is Status.OPERATIONAL
            assert [(t.subject, t.old, t.new) for t in seen] == [
                ("target", "unknown", "up"),
                ("component", "unknown", "operational"),
            ]
            assert "restored from history" in seen[0].cause
            await wait_for(lambda: agent.state.target_state("portal-health") is TargetState.DOWN)
        finally:
            await agent.stop()
    targets = [(o, n) for o, n, _ in rows(history, "target")]
    # Never unknown -> down after a restart: the target was known up, and went down.
    assert targets == [("unknown", "up"), ("up", "unknown"), ("unknown", "up"), ("up", "down"), ("down", "unknown")]


async def test_a_crash_leaves_no_time_counted_as_up(tmp_path: Path) -> None:
    """A store left open by a crash (no stop rows) is closed at the newest result before the new start."""
    history = tmp_path / "history.sqlite"
    open_history(history)
    now = datetime.now(UTC)
    crashed_at = now - timedelta(hours=2)
    writer = HistoryWriter(history, batch_interval=0.05)
    await writer.start()
    writer.on_transition(
        Transition(
            "target",
            "portal-health",
            crashed_at - timedelta(hours=1),
            "unknown",
            "up",
            "2 consecutive successes",
            "portal",
        )
    )
    writer.on_transition(
        Transition(
            "component", "portal", crashed_at - timedelta(hours=1), "unknown", "operational", "all targets up", "portal"
        )
    )
    from agent.core.model import ProbeResult

    writer.on_result(ProbeResult("portal-health", "http", crashed_at, 0.01, True, vantage="test"))
    await writer.aclose()  # the agent was killed: no "unknown" rows were written

    status = {"code": 200}
    async with http_target(status) as port:
        path = agent_config(tmp_path, port, free_port(), interval="200ms")
        agent = Agent(load_config(path), config_path=path)
        await agent.start()
        await agent.stop()
    with HistoryReader(history) as r:
        spans = r.status_intervals("portal", crashed_at - timedelta(hours=1), now + timedelta(minutes=1))
    # Up until the last result before the crash; nothing known for the two hours the agent did not run.
    assert spans[0].status is Status.OPERATIONAL
    assert abs((spans[0].end - crashed_at).total_seconds()) < 0.01
    # After the restart the component is known again; that span may be empty, and then absent, when the
    # agent stopped within the millisecond it started (history keeps milliseconds).
    assert all(span.start >= now for span in spans[1:])
