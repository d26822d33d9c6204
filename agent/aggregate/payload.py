"""The aggregator's side of the MQTT wire format: strict validation of what arrives.

Anything published to the broker may be hostile. Each payload is checked for size first, then encoding,
JSON, shape and every field it uses; a failure raises `Rejected` with a fixed reason (a bounded metric label)
and a short detail for the log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from agent.core.model import Status

SCHEMA_VERSION = 1

REASONS = (
    "oversized", "empty", "not_utf8", "not_json", "not_object", "schema_version", "missing_field",
    "bad_field", "bad_topic", "topic_mismatch", "bad_status", "unknown_vantage", "unknown_component",
    "too_many", "stale_seq", "seq_jump", "future", "stale_retained",
)  # fmt: skip
"""Every reason `dialtone_aggregate_rejected_total{reason}` can carry."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MAX_TEXT = 1000
_MAX_SEQ = 2**63 - 1


UNKNOWN = "unknown"
"""A component status an agent no longer knows (nothing confirmed): that vantage has no vote."""


class Rejected(Exception):
    """A payload that failed validation: `reason` is one of REASONS, `detail` says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WireEvent:
    """A validated agent or component-status message."""

    kind: Literal["agent", "component"]
    vantage: str
    subject: str  # the component id, or "agent"
    status: str  # online/offline, or a Status value
    seq: int
    stream: str
    at: datetime
    cause: str = ""


def parse_topic(prefix: str, topic: str) -> tuple[Literal["agent", "component"], str, str]:
    """`{prefix}/{vantage}/agent` or `{prefix}/{vantage}/components/{c}/status` -> (kind, vantage, subject)."""
    head = prefix + "/"
    if not topic.startswith(head):
        raise Rejected("bad_topic", "outside the configured prefix")
    levels = topic[len(head) :].split("/")
    if len(levels) == 2 and levels[1] == "agent" and _ID.match(levels[0]):
        return "agent", levels[0], "agent"
    shape = len(levels) == 4 and levels[1] == "components" and levels[3] == "status"
    if shape and _ID.match(levels[0]) and _ID.match(levels[2]):
        return "component", levels[0], levels[2]
    raise Rejected("bad_topic", "not an agent or component status topic with valid ids")


def parse_event(prefix: str, topic: str, payload: bytes, max_bytes: int) -> WireEvent:
    """Validate one message; raises Rejected with the first problem found."""
    kind, vantage, subject = parse_topic(prefix, topic)
    data = _decode(payload, max_bytes)
    schema = data.get("schema")
    if schema is None:
        raise Rejected("missing_field", "schema")
    if type(schema) is not int or schema != SCHEMA_VERSION:
        raise Rejected("schema_version", f"schema {str(schema)[:20]!r} is not {SCHEMA_VERSION}")
    if _field(data, "type", str) != ("agent" if kind == "agent" else "component_status"):
        raise Rejected("topic_mismatch", "type does not match the topic")
    if _field(data, "vantage", str) != vantage:
        raise Rejected("topic_mismatch", "vantage differs from the topic's")
    _token(data, "id")
    seq = _field(data, "seq", int)
    if not 0 <= seq <= _MAX_SEQ:
        raise Rejected("bad_field", "seq out of range")
    stream = _token(data, "stream")
    at = _timestamp(_field(data, "at", str))
    status = _field(data, "status", str)
    if kind == "agent":
        if status not in ("online", "offline"):
            raise Rejected("bad_status", "agent status is online or offline")
        return WireEvent("agent", vantage, subject, status, seq, stream, at)
    if _field(data, "component", str) != subject:
        raise Rejected("topic_mismatch", "component differs from the topic's")
    if status not in Status.__members__.values() and status != UNKNOWN:
        raise Rejected("bad_status", f"unknown component status {status[:40]!r}")
    cause = data.get("cause", "")
    if not isinstance(cause, str):
        raise Rejected("bad_field", "cause is not a string")
    return WireEvent("component", vantage, subject, status, seq, stream, at, cause[:_MAX_TEXT])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(payload: bytes, max_bytes: int) -> dict[str, Any]:
    if len(payload) > max_bytes:
        raise Rejected("oversized", f"{len(payload)} bytes, limit {max_bytes}")
    if not payload:
        raise Rejected("empty", "empty payload (a cleared retained message)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not_utf8", "payload is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays are a cheap way to blow the parser's stack.
        raise Rejected("not_json", f"invalid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise Rejected("not_object", "payload is not a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type[Any]) -> Any:
    if name not in data:
        raise Rejected("missing_field", name)
    value = data[name]
    # bool is an int in Python; a JSON true is never a valid sequence number.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Rejected("bad_field", f"{name} must be a {kind.__name__}")
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        raise Rejected("bad_field", f"{name} is too long")
    return value


def _token(data: dict[str, Any], name: str) -> str:
    value = _field(data, name, str)
    if not _TOKEN.match(value):
        raise Rejected("bad_field", f"{name} must be 1-64 letters, digits or _.:-")
    return str(value)


def _timestamp(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Rejected("bad_field", "at must be an ISO 8601 time with a UTC offset")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable UTC instant
        raise Rejected("bad_field", "at is out of range") from None
