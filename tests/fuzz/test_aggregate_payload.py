"""agent.aggregate.payload.parse_event: any topic and payload is a WireEvent or Rejected with a known reason."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent.aggregate.payload import REASONS, Rejected, WireEvent, parse_event
from tests.fuzz import budget

PREFIX = "dialtone"
MAX = 16_384
TOPICS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["dialtone/pop1/agent", "dialtone/pop1/components/voice/status", "dialtone/", "dialtone//agent",
                     "dialtone/POP/agent", "dialtone/pop1/components//status", "other/pop1/agent"]),
    st.lists(st.sampled_from(["pop1", "agent", "components", "voice", "status", "", "+", "#", "é"]), max_size=5)
    .map(lambda parts: "/".join([PREFIX, *parts])),
)  # fmt: skip
FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=20),
    st.sampled_from(["online", "offline", "operational", "major_outage", "pop1", "voice", "agent",
                     "component_status", "2026-03-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-01:00", "2026-03-01T00:00:00", "x" * 2000]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
FIELDS = ["schema", "type", "vantage", "id", "seq", "stream", "at", "status", "component", "cause"]


def good(kind: str) -> dict[str, Any]:
    base = {
        "schema": 1,
        "type": "agent",
        "vantage": "pop1",
        "id": "m1",
        "seq": 1,
        "stream": "s1",
        "at": "2026-03-01T00:00:00Z",
        "status": "online",
    }
    if kind == "component":
        base.update(type="component_status", component="voice", status="major_outage", cause="probe failed")
    return base


def check(topic: str, payload: bytes) -> None:
    try:
        ev = parse_event(PREFIX, topic, payload, MAX)
    except Rejected as exc:
        assert exc.reason in REASONS
        assert len(exc.detail) < 300
        return
    assert isinstance(ev, WireEvent)
    offset = ev.at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0


@settings(max_examples=budget(200))
@given(TOPICS, st.binary(max_size=400))
def test_random_bytes(topic: str, payload: bytes) -> None:
    check(topic, payload)


@settings(max_examples=budget(300))
@given(
    st.sampled_from(["agent", "component"]),
    st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUES, max_size=4),
    st.sets(st.sampled_from(FIELDS)),
)
@example("agent", {"at": "0001-01-01T00:00:00+01:00"}, set())  # astimezone(UTC) under year 1
@example("agent", {"at": "9999-12-31T23:59:59-01:00"}, set())  # ... and past year 9999
def test_mutated_valid_payloads(kind: str, changes: dict[str, Any], dropped: set[str]) -> None:
    data = {**good(kind), **changes}
    for name in dropped:
        data.pop(name, None)
    topic = "dialtone/pop1/agent" if kind == "agent" else "dialtone/pop1/components/voice/status"
    check(topic, json.dumps(data).encode())


@settings(max_examples=budget(60))
@given(st.integers(1, 200_000), st.sampled_from(["[", '{"a":', '[{"x":']))
def test_deep_nesting_and_oversize(depth: int, opener: str) -> None:
    check("dialtone/pop1/agent", (opener * depth).encode())
    check("dialtone/pop1/agent", b'{"schema": 1, "cause": "' + b"x" * MAX + b'"}')
