"""The agent's start state from history: what was last confirmed, and where monitoring stopped.

A restart must neither forget (a target going unknown -> down as if nothing were known, a healthy component
never recorded) nor invent (the hours the agent was not running counted as up). So at start:
- a store whose newest rows are not "unknown" was not closed cleanly (a crash, a kill): each state is ended
  in "unknown" at the newest recorded result, the agent's last sign of life;
- the last confirmed target states seed the state machine, and the start state is emitted as transitions
  from "unknown" to every sink (history records it, MQTT publishes it retained).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.core.model import TargetState, Transition
from agent.history.reader import HistoryReader

_STATES = {s.value: s for s in TargetState}
UNKNOWN = "unknown"
STOPPED = "agent stopped: not monitored until it starts again"


@dataclass(frozen=True, slots=True)
class StartState:
    """What history says at start: gap markers to record, and the last confirmed target states."""

    gaps: list[Transition]
    """Only for history: a crash left states open; they end where the agent was last seen."""
    targets: dict[str, TargetState]
    last_seen: datetime | None


def read_start_state(path: Path, now: datetime) -> StartState:
    """Read the newest state rows and the newest result from the store at `path` (blocking; at start only)."""
    with HistoryReader(path) as reader:
        rows = (reader.last_transitions("target"), reader.last_transitions("component"))
        seen = reader.last_result_at()
    gaps: list[Transition] = []
    targets: dict[str, TargetState] = {}
    for last in rows:
        for name, t in last.items():
            confirmed = t.old if t.new == UNKNOWN else t.new
            if t.subject == "target" and confirmed in _STATES:
                targets[name] = _STATES[confirmed]
            if t.new != UNKNOWN:
                at = min(max(seen or t.at, t.at), now)
                why = f"agent stopped without a clean shutdown; last result at {at.isoformat(timespec='seconds')}"
                gaps.append(Transition(t.subject, name, at, t.new, UNKNOWN, why, t.component))
    return StartState(gaps, targets, seen)


def restored_cause(state: StartState) -> str:
    """The cause recorded with the start state."""
    when = f" (monitoring last ran at {state.last_seen.isoformat(timespec='seconds')})" if state.last_seen else ""
    return f"agent started; last confirmed state restored from history{when}"
