"""State machine: thresholds, component derivation, maintenance masking, causes, reload carry-over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.core.model import Component, ProbeResult, Status, TargetState
from agent.runtime.state import StateMachine, TargetSpec

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def result(target: str, ok: bool, n: int = 0, degraded: bool = False, error: str = "connect_refused") -> ProbeResult:
    return ProbeResult(
        target,
        "http",
        T0 + timedelta(seconds=n),
        0.01,
        ok,
        "" if ok else error,
        "" if ok else "refused",
        degraded=degraded,
    )


def machine(failures: int = 2, successes: int = 1, maintenance=lambda c, now: False) -> StateMachine:
    comps = [Component("voice", "Voice", "", "voice_messaging", 0.9995)]
    specs = [TargetSpec(t, "voice", failures, successes) for t in ("a", "b", "c")]
    return StateMachine(comps, specs, maintenance)


def test_one_failure_is_not_an_outage_two_are() -> None:
    sm = machine()
    for t in "abc":
        sm.observe(result(t, True))
    assert sm.observe(result("a", False, 1)) == []
    out = sm.observe(result("a", False, 2))
    assert [(x.subject, x.id, x.old, x.new) for x in out] == [
        ("target", "a", "up", "down"),
        ("component", "voice", "operational", "partial_outage"),
    ]
    assert out[0].cause == "2 consecutive failures (connect_refused: refused)"
    assert out[1].cause == "1 of 3 targets down: a"
    assert out[1].at == T0 + timedelta(seconds=2)


def test_all_down_is_major_and_recovery_is_reported() -> None:
    sm = machine(failures=1)
    for t in "abc":
        sm.observe(result(t, True))
    for t in "abc":
        sm.observe(result(t, False, 1))
    assert sm.component_status("voice") is Status.MAJOR_OUTAGE
    out = sm.observe(result("b", True, 2))
    assert [x.new for x in out] == ["up", "partial_outage"]
    assert out[1].cause == "2 of 3 targets down: a, c"


def test_success_threshold_delays_recovery() -> None:
    sm = machine(failures=1, successes=3)
    sm.observe(result("a", False))
    assert sm.target_state("a") is TargetState.DOWN
    assert sm.observe(result("a", True, 1)) == [] and sm.observe(result("a", True, 2)) == []
    assert [x.new for x in sm.observe(result("a", True, 3))] == ["up", "operational"]


def test_unknown_targets_do_not_count() -> None:
    sm = machine(failures=1)
    out = sm.observe(result("a", False))
    assert out[-1].new == "major_outage"  # the only known target is down
    assert out[-1].cause == "all 1 targets down: a"


def test_degraded_then_cleared() -> None:
    sm = machine()
    for t in "abc":
        sm.observe(result(t, True))
    out = sm.observe(result("b", True, 1, degraded=True))
    assert [(x.subject, x.new) for x in out] == [("component", "degraded_performance")]
    out = sm.observe(result("b", True, 2))
    assert [(x.subject, x.new) for x in out] == [("component", "operational")]


def test_maintenance_masks_outage_and_refresh_ends_it() -> None:
    window = {"on": True}
    sm = machine(failures=1, maintenance=lambda c, now: window["on"])
    out = sm.observe(result("a", False))
    assert out[-1].new == "under_maintenance" and out[-1].cause == "maintenance window in progress"
    assert sm.target_state("a") is TargetState.DOWN  # probing and target state go on
    window["on"] = False
    out = sm.refresh(T0 + timedelta(hours=6))
    assert [(x.old, x.new) for x in out] == [("under_maintenance", "major_outage")]
    assert sm.refresh(T0 + timedelta(hours=7)) == []


def test_unknown_target_result_is_ignored() -> None:
    assert machine().observe(result("zzz", False)) == []


def test_adopt_carries_state_over_reload() -> None:
    old = machine(failures=1)
    old.observe(result("a", False))
    new = machine(failures=1)
    new.adopt(old)
    assert new.target_state("a") is TargetState.DOWN
    assert new.component_status("voice") is Status.MAJOR_OUTAGE
    assert new.observe(result("a", False, 5)) == []  # no fake transition after a reload


def test_first_confirmed_status_is_a_transition_from_unknown() -> None:
    sm = machine(failures=1)
    assert sm.component_status("voice") is None and sm.component_statuses() == {}
    out = sm.observe(result("a", True))
    assert [(x.subject, x.old, x.new) for x in out] == [
        ("target", "unknown", "up"),
        ("component", "unknown", "operational"),
    ]
    assert sm.observe(result("b", True, 1))[-1:] == [] or sm.component_status("voice") is Status.OPERATIONAL


def test_restore_seeds_targets_and_emits_the_start_state() -> None:
    sm = machine(failures=1)
    out = sm.restore({"a": TargetState.UP, "b": TargetState.DOWN, "zzz": TargetState.UP}, T0, "restored")
    assert [(x.subject, x.id, x.old, x.new) for x in out] == [
        ("target", "a", "unknown", "up"),
        ("target", "b", "unknown", "down"),
        ("component", "voice", "unknown", "partial_outage"),
    ]
    assert out[-1].cause == "restored: 1 of 2 targets down: b"
    # b was known down: one more failure is no news, one success is b going down -> up (never unknown -> down).
    assert sm.observe(result("b", False, 1)) == []
    assert [(x.old, x.new) for x in sm.observe(result("b", True, 2))] == [
        ("down", "up"),
        ("partial_outage", "operational"),
    ]
    stop = sm.stopped(T0, "stopped")
    assert {(x.id, x.old, x.new) for x in stop} == {
        ("a", "up", "unknown"),
        ("b", "up", "unknown"),
        ("voice", "operational", "unknown"),
    }
    assert sm.component_status("voice") is Status.OPERATIONAL  # recording the gap changes nothing live
