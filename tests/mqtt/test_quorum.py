"""The N-of-M quorum and payload validation, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.aggregate.aggregator import Duplicate, QuorumView
from agent.aggregate.config import AggregateConfig
from agent.aggregate.payload import REASONS, Rejected, WireEvent, parse_event
from agent.core.model import Status

NOW = datetime(2025, 3, 21, 12, 0, tzinfo=UTC)
P = "dialtone/v1"


class Feed:
    """Builds well-formed events with increasing sequence numbers per vantage."""

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}

    def _next(self, vantage: str) -> int:
        self.seq[vantage] = self.seq.get(vantage, 0) + 1
        return self.seq[vantage]

    def agent(self, vantage: str, status: str) -> WireEvent:
        return WireEvent("agent", vantage, "agent", status, self._next(vantage), "s1", NOW)

    def status(self, vantage: str, status: Status, component: str = "voice") -> WireEvent:
        return WireEvent("component", vantage, component, status.value, self._next(vantage), "s1", NOW)


def _view(quorum: int = 2, **kw: object) -> tuple[QuorumView, Feed]:
    view, feed = QuorumView(AggregateConfig(quorum=quorum, **kw)), Feed()
    for v in ("den1", "nyc1", "sfo1"):
        view.apply(feed.agent(v, "online"), NOW)
        view.apply(feed.status(v, Status.OPERATIONAL), NOW)
    return view, feed


def test_one_vantage_failing_is_no_outage_two_are() -> None:
    view, feed = _view()
    assert view.status["voice"] is Status.OPERATIONAL
    assert view.apply(feed.status("den1", Status.MAJOR_OUTAGE), NOW) == []
    assert view.status["voice"] is Status.OPERATIONAL
    [t] = view.apply(feed.status("nyc1", Status.MAJOR_OUTAGE), NOW)
    assert (t.id, t.old, t.new) == ("voice", "operational", "major_outage")
    assert "quorum 2 of 3" in t.cause and "den1=major_outage" in t.cause


def test_offline_vantages_are_not_counted() -> None:
    view, feed = _view()
    view.apply(feed.status("den1", Status.MAJOR_OUTAGE), NOW)
    view.apply(feed.status("nyc1", Status.MAJOR_OUTAGE), NOW)
    [t] = view.apply(feed.agent("nyc1", "offline"), NOW)
    assert t.new == "operational" and "nyc1" not in t.cause
    [t] = view.apply(feed.agent("nyc1", "online"), NOW)
    assert t.new == "major_outage"


def test_mixed_outages_give_the_level_the_quorum_supports() -> None:
    view, feed = _view()
    view.apply(feed.status("den1", Status.MAJOR_OUTAGE), NOW)
    [t] = view.apply(feed.status("nyc1", Status.PARTIAL_OUTAGE), NOW)
    assert t.new == "partial_outage"
    view2, feed2 = _view(quorum=3)
    view2.apply(feed2.status("den1", Status.UNDER_MAINTENANCE), NOW)
    view2.apply(feed2.status("nyc1", Status.UNDER_MAINTENANCE), NOW)
    [t] = view2.apply(feed2.status("sfo1", Status.UNDER_MAINTENANCE), NOW)
    assert t.new == "under_maintenance"


def test_duplicates_and_stale_sequence_numbers_are_dropped() -> None:
    view, feed = _view()
    ev = feed.status("den1", Status.MAJOR_OUTAGE)
    view.apply(ev, NOW)
    with pytest.raises(Duplicate):
        view.apply(ev, NOW)
    # A new stream (outbox re-created) starts its numbers again and is accepted.
    view.apply(WireEvent("component", "nyc1", "voice", "major_outage", 1, "s2", NOW), NOW)
    assert view.status["voice"] is Status.MAJOR_OUTAGE


def test_unknown_vantages_and_components_are_rejected_when_configured() -> None:
    view = QuorumView(AggregateConfig(vantages=["den1"]), components=["voice"])
    with pytest.raises(Rejected) as e:
        view.apply(WireEvent("agent", "evil", "agent", "online", 1, "s", NOW), NOW)
    assert e.value.reason == "unknown_vantage"
    with pytest.raises(Rejected) as e:
        view.apply(WireEvent("component", "den1", "other", "operational", 2, "s", NOW), NOW)
    assert e.value.reason == "unknown_component"


def test_transition_time_follows_the_event_but_never_runs_backwards_or_ahead() -> None:
    view, _ = _view()
    late = WireEvent("component", "den1", "voice", "major_outage", 99, "s1", NOW - timedelta(hours=1))
    view.apply(late, NOW)
    ahead = WireEvent("component", "nyc1", "voice", "major_outage", 99, "s1", NOW + timedelta(minutes=4))
    [t] = view.apply(ahead, NOW)  # within max_clock_skew (5 min): taken, at our own time
    assert t.at == NOW


def test_an_event_from_beyond_the_clock_skew_is_refused() -> None:
    view, _ = _view()
    future = WireEvent("component", "nyc1", "voice", "major_outage", 99, "s1", NOW + timedelta(hours=1))
    with pytest.raises(Rejected) as e:
        view.apply(future, NOW)
    assert e.value.reason == "future"


def test_a_forged_huge_seq_is_refused_and_a_smaller_forged_one_silences_nobody() -> None:
    view, feed = _view()
    last = feed.seq["den1"]
    huge = WireEvent("component", "den1", "voice", "operational", 2**62, "s1", NOW)
    with pytest.raises(Rejected) as e:
        view.apply(huge, NOW)
    assert e.value.reason == "seq_jump"
    # Within the bound the forged event is taken, but the real agent's next event (a lower seq, a later
    # `at`) is taken too: time orders events, a seq alone cannot push the real ones out.
    view.apply(WireEvent("component", "den1", "voice", "operational", last + 900_000, "s1", NOW), NOW)
    later = NOW + timedelta(seconds=1)
    view.apply(WireEvent("component", "den1", "voice", "major_outage", last + 1, "s1", later), later)
    assert view.reports["voice"]["den1"] is Status.MAJOR_OUTAGE


def test_a_retained_message_older_than_what_was_applied_is_refused() -> None:
    view, _ = _view()
    view.apply(WireEvent("component", "den1", "voice", "major_outage", 50, "s1", NOW), NOW)
    old = WireEvent("component", "den1", "voice", "operational", 40, "s2", NOW - timedelta(minutes=1))
    with pytest.raises(Rejected) as e:
        view.apply(old, NOW, retained=True)
    assert e.value.reason == "stale_retained"


@given(
    st.lists(st.sampled_from(list(Status)), min_size=1, max_size=6),
    st.integers(1, 6),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_outage_shows_exactly_when_n_online_vantages_report_one(
    votes: list[Status], quorum: int, online: list[bool]
) -> None:
    view, feed = QuorumView(AggregateConfig(quorum=quorum)), Feed()
    for i, vote in enumerate(votes):
        view.apply(feed.agent(f"v{i}", "online" if online[i] else "offline"), NOW)
        view.apply(feed.status(f"v{i}", vote), NOW)
    status, _ = view.decide("voice")
    counted = [v for i, v in enumerate(votes) if online[i]]
    if not counted:
        assert status is None
    else:
        assert status is not None
        assert status.is_outage == (sum(v.is_outage for v in counted) >= quorum)


def _payload(**over: object) -> bytes:
    body = {
        "schema": 1,
        "id": "a1",
        "seq": 3,
        "stream": "s1",
        "vantage": "den1",
        "at": NOW.isoformat(),
        "type": "component_status",
        "component": "voice",
        "status": "major_outage",
        "cause": "x",
    }
    body.update(over)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


TOPIC = f"{P}/den1/components/voice/status"


@pytest.mark.parametrize(("topic", "payload", "reason"), [
    (TOPIC, b"x" * 20000, "oversized"),
    (TOPIC, b"", "empty"),
    (TOPIC, b"\xff\xfe", "not_utf8"),
    (TOPIC, b"{not json", "not_json"),
    (TOPIC, b"[" * 5000 + b"]" * 5000, "not_json"),
    (TOPIC, b'{"schema": NaN}', "not_json"),
    (TOPIC, b"[1, 2]", "not_object"),
    (TOPIC, _payload(schema=2), "schema_version"),
    (TOPIC, _payload(schema=True), "schema_version"),
    (TOPIC, _payload(schema=...), "missing_field"),
    (TOPIC, _payload(seq=...), "missing_field"),
    (TOPIC, _payload(seq="3"), "bad_field"),
    (TOPIC, _payload(seq=True), "bad_field"),
    (TOPIC, _payload(seq=-1), "bad_field"),
    (TOPIC, _payload(seq=2**70), "bad_field"),
    (TOPIC, _payload(id="has space"), "bad_field"),
    (TOPIC, _payload(at="yesterday"), "bad_field"),
    (TOPIC, _payload(at="2025-03-21T12:00:00"), "bad_field"),
    (TOPIC, _payload(cause=["x"]), "bad_field"),
    (TOPIC, _payload(vantage="nyc1"), "topic_mismatch"),
    (TOPIC, _payload(component="sip"), "topic_mismatch"),
    (TOPIC, _payload(type="agent"), "topic_mismatch"),
    (TOPIC, _payload(status="on_fire"), "bad_status"),
    (f"{P}/den1/agent", _payload(type="agent", status="maybe"), "bad_status"),
    (f"{P}/DEN1/agent", _payload(type="agent", status="online"), "bad_topic"),
    (f"{P}/den1/components/voice", _payload(), "bad_topic"),
    ("other/v1/den1/agent", _payload(), "bad_topic"),
])  # fmt: skip
def test_malformed_payloads_are_rejected_with_their_reason(topic: str, payload: bytes, reason: str) -> None:
    assert reason in REASONS
    with pytest.raises(Rejected) as e:
        parse_event(P, topic, payload, 16384)
    assert e.value.reason == reason


def test_a_valid_payload_parses() -> None:
    ev = parse_event(P, TOPIC, _payload(), 16384)
    assert (ev.kind, ev.vantage, ev.subject, ev.status, ev.seq, ev.cause) == (
        "component",
        "den1",
        "voice",
        "major_outage",
        3,
        "x",
    )


@given(st.binary(max_size=300), st.text(max_size=60))
def test_arbitrary_input_is_rejected_cleanly_never_crashes(payload: bytes, topic: str) -> None:
    for t in (topic, TOPIC):
        try:
            parse_event(P, t, payload, 256)
        except Rejected as exc:
            assert exc.reason in REASONS


@given(
    st.dictionaries(
        st.sampled_from(["schema", "id", "seq", "stream", "vantage", "at", "type", "component", "status", "cause"]),
        st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(),
    )
)
def test_arbitrary_json_objects_are_rejected_cleanly(body: dict[str, object]) -> None:
    try:
        parse_event(P, TOPIC, json.dumps(body).encode(), 16384)
    except Rejected as exc:
        assert exc.reason in REASONS


def test_a_vantage_that_knows_nothing_has_no_vote() -> None:
    """An agent whose component has no confirmed status any more publishes `unknown`: its vote is dropped."""
    view, feed = _view()
    for v in ("den1", "nyc1"):
        view.apply(feed.status(v, Status.MAJOR_OUTAGE), NOW)
    assert view.status["voice"] is Status.MAJOR_OUTAGE
    event = parse_event(
        P, f"{P}/nyc1/components/voice/status", _payload(vantage="nyc1", status="unknown", seq=99), 16_384
    )
    out = view.apply(event, NOW)
    assert "nyc1" not in view.reports["voice"]
    assert [(t.old, t.new) for t in out] == [("major_outage", "operational")]
