"""Probe results to confirmed target states and component statuses, with the cause of every transition.

A target goes down after `failures` consecutive failed results and up after `successes` consecutive good ones,
so one lost packet never pages anyone. A component's status is derived from its targets' confirmed states:

- every known target down -> major_outage; some down -> partial_outage
- all up, one or more degraded -> degraded_performance; otherwise operational
- inside a maintenance window -> under_maintenance (probing goes on; the window masks the status)
- no target confirmed yet -> unknown (None): a component never probed is not "operational"

A component's first confirmed status is a transition from "unknown", so history and MQTT hold it even when
it is "operational": no data is neither up nor down, and an aggregator learns a healthy component at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from agent.core.model import QUALITY_ERRORS, Component, ProbeResult, Status, Target, TargetState, Transition

MaintenancePredicate = Callable[[str, datetime], bool]
"""(component_id, now) -> True while the component is inside a maintenance window."""


def never_in_maintenance(component: str, now: datetime) -> bool:
    """The default predicate before a calendar is configured."""
    return False


@dataclass(slots=True)
class _TargetTrack:
    component: str
    failures_needed: int
    successes_needed: int
    state: TargetState = TargetState.UNKNOWN
    degraded: bool = False
    streak_ok: int = 0
    streak_fail: int = 0
    last_error: str = ""
    last_message: str = ""
    run_start: datetime | None = None  # when the current run of failures (or successes) began
    quality_run: bool = False  # every failure of the current run was an answered call without audio
    quality: bool = False  # the current down is a quality incident only (see Transition.quality)


@dataclass(slots=True)
class _ComponentTrack:
    targets: list[str] = field(default_factory=list)
    status: Status | None = None
    since: datetime | None = None
    # Kept incrementally so a transition costs O(1), not a scan of every target (10,000 can fail at once).
    known: int = 0
    down: dict[str, None] = field(default_factory=dict)
    degraded: dict[str, None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What the state machine needs of a target: its component and thresholds."""

    id: str
    component: str
    failures: int
    successes: int


class StateMachine:
    """Folds results into states; returns the transitions each result caused (in order)."""

    def __init__(
        self,
        components: Iterable[Component],
        targets: Iterable[TargetSpec],
        maintenance: MaintenancePredicate = never_in_maintenance,
    ) -> None:
        self.maintenance = maintenance
        self._components: dict[str, _ComponentTrack] = {c.id: _ComponentTrack() for c in components}
        self._targets: dict[str, _TargetTrack] = {}
        for t in targets:
            self._targets[t.id] = _TargetTrack(t.component, t.failures, t.successes)
            self._components.setdefault(t.component, _ComponentTrack()).targets.append(t.id)

    # --- reading ---------------------------------------------------------------------------------------------

    def component_status(self, component: str) -> Status | None:
        """The component's current status; None until one of its targets is confirmed up or down."""
        return self._components[component].status

    def component_statuses(self) -> Mapping[str, Status]:
        """The current status of every component that has one (never-probed components are left out)."""
        return {cid: c.status for cid, c in self._components.items() if c.status is not None}

    def target_state(self, target: str) -> TargetState:
        """The target's confirmed state."""
        return self._targets[target].state

    def target_states(self) -> Mapping[str, TargetState]:
        """Every target's confirmed state."""
        return {tid: t.state for tid, t in self._targets.items()}

    def component_targets(self, component: str) -> list[str]:
        """The ids of the targets that make up a component."""
        return list(self._components[component].targets)

    # --- folding ---------------------------------------------------------------------------------------------

    def observe(self, result: ProbeResult) -> list[Transition]:
        """Fold one result in; return the transitions it caused (target first, then its component)."""
        track = self._targets.get(result.target)
        if track is None:
            return []
        out: list[Transition] = []
        new_state = self._step(track, result)
        degraded_changed = result.ok and track.degraded != result.degraded
        if result.ok:
            track.degraded = result.degraded
        if new_state is not None or degraded_changed:
            self._count(result.target, track, new_state or track.state)
        if new_state is not None:
            old = track.state
            track.state = new_state
            track.quality = new_state is TargetState.DOWN and track.quality_run
            out.append(
                Transition(
                    "target",
                    result.target,
                    result.started_at,
                    old.value,
                    new_state.value,
                    _target_cause(track, result),
                    track.component,
                    track.run_start,
                    track.quality,
                )
            )
        elif track.quality and not result.ok and result.error not in QUALITY_ERRORS:
            # A quality incident became unavailability (calls no longer answered): the contract counts from here.
            track.quality = False
            out.append(
                Transition(
                    "target",
                    result.target,
                    result.started_at,
                    "down",
                    "down",
                    _target_cause(track, result),
                    track.component,
                    result.started_at,
                )
            )
        if new_state is not None or degraded_changed:
            since = track.run_start if new_state is not None else None
            out.extend(self._recompute(track.component, result.started_at, since))
        return out

    def _count(self, tid: str, track: _TargetTrack, new: TargetState) -> None:
        comp = self._components[track.component]
        if track.state is TargetState.UNKNOWN and new is not TargetState.UNKNOWN:
            comp.known += 1
        if new is TargetState.DOWN:
            comp.down[tid] = None
        else:
            comp.down.pop(tid, None)
        if new is TargetState.UP and track.degraded:
            comp.degraded[tid] = None
        else:
            comp.degraded.pop(tid, None)

    def force(self, target: str, state: TargetState, at: datetime, cause: str) -> list[Transition]:
        """Set a target's state at once from out-of-band evidence (an SNMP linkDown trap), skipping thresholds."""
        track = self._targets.get(target)
        if track is None or track.state is state:
            return []
        old = track.state
        self._count(target, track, state)
        track.state, track.streak_ok, track.streak_fail = state, 0, 0
        out = [Transition("target", target, at, old.value, state.value, cause, track.component)]
        return out + self._recompute(track.component, at)

    def refresh(self, now: datetime) -> list[Transition]:
        """Re-evaluate every component (maintenance windows open and close with time, not results)."""
        out: list[Transition] = []
        for cid in self._components:
            out.extend(self._recompute(cid, now))
        return out

    def adopt(self, old: StateMachine) -> None:
        """Carry confirmed states over a reload, for targets and components that still exist."""
        for tid, track in old._targets.items():
            mine = self._targets.get(tid)
            if mine is not None and mine.component == track.component:
                mine.degraded = track.degraded
                self._count(tid, mine, track.state)
                mine.state = track.state
                mine.streak_ok, mine.streak_fail = track.streak_ok, track.streak_fail
                mine.run_start, mine.quality_run, mine.quality = track.run_start, track.quality_run, track.quality
        for cid, comp in old._components.items():
            if cid in self._components:
                self._components[cid].status = comp.status
                self._components[cid].since = comp.since

    def restore(self, states: Mapping[str, TargetState], at: datetime, why: str) -> list[Transition]:
        """Seed target states last confirmed in history at start-up; return the start state as transitions
        from "unknown" (targets, then the components they make up), so sinks record and publish it."""
        out: list[Transition] = []
        for tid, state in states.items():
            track = self._targets.get(tid)
            if track is None or state is TargetState.UNKNOWN or track.state is not TargetState.UNKNOWN:
                continue
            self._count(tid, track, state)
            track.state = state
            out.append(Transition("target", tid, at, "unknown", state.value, why, track.component))
        for cid in dict.fromkeys(t.component for t in out):
            out.extend(self._recompute(cid, at, why=why))
        return out

    def stopped(self, at: datetime, why: str) -> list[Transition]:
        """Every known state ending in "unknown" at `at` (the agent stops monitoring): for history only, so the
        time until the next start counts as no data, neither up nor down. The machine itself is unchanged."""
        out = [
            Transition("target", tid, at, t.state.value, "unknown", why, t.component)
            for tid, t in self._targets.items()
            if t.state is not TargetState.UNKNOWN
        ]
        out += [
            Transition("component", cid, at, c.status.value, "unknown", why, cid)
            for cid, c in self._components.items()
            if c.status is not None
        ]
        return out

    def _step(self, track: _TargetTrack, result: ProbeResult) -> TargetState | None:
        if (track.streak_ok if result.ok else track.streak_fail) == 0:
            track.run_start = result.started_at
            track.quality_run = True
        if not result.ok:
            track.quality_run = track.quality_run and result.error in QUALITY_ERRORS
        if result.ok:
            track.streak_ok += 1
            track.streak_fail = 0
            if track.state is not TargetState.UP and track.streak_ok >= track.successes_needed:
                return TargetState.UP
        else:
            track.streak_fail += 1
            track.streak_ok = 0
            track.last_error, track.last_message = result.error, result.message
            if track.state is not TargetState.DOWN and track.streak_fail >= track.failures_needed:
                return TargetState.DOWN
        return None

    def _recompute(
        self, component: str, now: datetime, since: datetime | None = None, why: str = ""
    ) -> list[Transition]:
        comp = self._components[component]
        status, cause = self._derive(component, comp, now)
        if status is comp.status:
            return []
        old = comp.status
        if since is not None and comp.since is not None:
            since = max(since, comp.since)  # never before the previous change: the timeline stays in order
        comp.status, comp.since = status, now
        return [
            Transition(
                "component",
                component,
                now,
                _value(old),
                _value(status),
                f"{why}: {cause}" if why else cause,
                component,
                since,
            )
        ]

    def _derive(self, component: str, comp: _ComponentTrack, now: datetime) -> tuple[Status | None, str]:
        known, down, degraded = comp.known, comp.down, comp.degraded
        if self.maintenance(component, now):
            return Status.UNDER_MAINTENANCE, "maintenance window in progress"
        if known and len(down) == known:
            return Status.MAJOR_OUTAGE, f"all {known} targets down: {_list(down)}"
        if down:
            return Status.PARTIAL_OUTAGE, f"{len(down)} of {known} targets down: {_list(down)}"
        if degraded:
            return Status.DEGRADED_PERFORMANCE, f"degraded: {_list(degraded)}"
        if not known:
            return None, "no target confirmed yet"
        return Status.OPERATIONAL, "all targets up"


def _value(status: Status | None) -> str:
    return "unknown" if status is None else status.value


def _target_cause(track: _TargetTrack, result: ProbeResult) -> str:
    if result.ok:
        return f"{track.streak_ok} consecutive successes"
    detail = f"{result.error}: {result.message}" if result.message else result.error
    return f"{track.streak_fail} consecutive failures ({detail})"


def _list(ids: Mapping[str, None], most: int = 5) -> str:
    shown = ", ".join(itertools.islice(ids, most))
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def specs_for(targets: Iterable[Target], thresholds: Mapping[str, tuple[int, int]]) -> list[TargetSpec]:
    """TargetSpecs from model targets and per-target (failures, successes) thresholds."""
    return [TargetSpec(t.id, t.component, *thresholds[t.id]) for t in targets]
