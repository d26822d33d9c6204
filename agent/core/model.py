"""Plain, frozen value types shared by every part of dialtone. No I/O, no project imports."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol

from agent.core.redact import active as redaction_active
from agent.core.redact import redact

Value = float | int | str | bool
"""A kind-specific reading carried in ProbeResult.values (status code, MOS, OID value...)."""

_EMPTY: Mapping[str, float] = MappingProxyType({})
_EMPTY_VALUES: Mapping[str, Value] = MappingProxyType({})


class Status(enum.StrEnum):
    """Component status, with Atlassian Statuspage's enum values."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"

    @property
    def severity(self) -> int:
        """Order for "worst of": maintenance ranks below any outage it masks."""
        return _SEVERITY[self]

    @property
    def is_outage(self) -> bool:
        """True for partial and major outage: the states that count as unavailable."""
        return self in (Status.PARTIAL_OUTAGE, Status.MAJOR_OUTAGE)


_SEVERITY = {
    Status.OPERATIONAL: 0,
    Status.UNDER_MAINTENANCE: 1,
    Status.DEGRADED_PERFORMANCE: 2,
    Status.PARTIAL_OUTAGE: 3,
    Status.MAJOR_OUTAGE: 4,
}

ALL_STATUSES: tuple[Status, ...] = tuple(Status)


class TargetState(enum.StrEnum):
    """A single target's confirmed state after the up/down thresholds."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Target:
    """What a probe needs to know of the target it probes (its kind block is given at construction)."""

    id: str
    component: str
    kind: str
    timeout: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe. A failing target is ok=False with a short error code, never an exception."""

    target: str
    kind: str
    started_at: datetime
    duration: float
    ok: bool
    error: str = ""
    message: str = ""
    phases: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, Value] = field(default_factory=dict)
    vantage: str = ""
    maintenance: bool = False
    degraded: bool = False

    def __post_init__(self) -> None:
        # Every output (logs, --json, history, MQTT, the site) is built from results: mask secrets once, here.
        if not redaction_active():
            return
        message = redact(self.message)
        if message is not self.message:
            object.__setattr__(self, "message", message)
        if any(isinstance(v, str) and redact(v) is not v for v in self.values.values()):
            clean = {k: redact(v) if isinstance(v, str) else v for k, v in self.values.items()}
            object.__setattr__(self, "values", clean)

    @classmethod
    def failure(
        cls,
        target: Target,
        started_at: datetime,
        duration: float,
        error: str,
        message: str,
        phases: Mapping[str, float] = _EMPTY,
        values: Mapping[str, Value] = _EMPTY_VALUES,
    ) -> ProbeResult:
        """Build a failed result for `target`."""
        return cls(
            target=target.id,
            kind=target.kind,
            started_at=started_at,
            duration=duration,
            ok=False,
            error=error,
            message=message,
            phases=phases,
            values=values,
        )

    @classmethod
    def outcome(
        cls,
        target: Target,
        started_at: datetime,
        duration: float,
        error: tuple[str, str] | None,
        phases: Mapping[str, float],
        values: Mapping[str, Value],
    ) -> ProbeResult:
        """A success, or a failure when `error` is an (error code, message) pair."""
        if error is not None:
            return cls.failure(target, started_at, duration, error[0], error[1], phases, values)
        return cls(target.id, target.kind, started_at, duration, True, phases=phases, values=values)

    def to_json(self) -> dict[str, object]:
        """The `--json` object of the CLI: one stable shape for every kind."""
        return {
            "target": self.target,
            "kind": self.kind,
            "vantage": self.vantage,
            "started_at": self.started_at.isoformat(),
            "ok": self.ok,
            "error": self.error or None,
            "message": self.message,
            "duration_seconds": round(self.duration, 6),
            "phases": {k: round(v, 6) for k, v in self.phases.items()},
            "values": dict(self.values),
            "maintenance": self.maintenance,
            "degraded": self.degraded,
        }


QUALITY_ERRORS = frozenset({"no_audio", "one_way_audio"})
"""Error codes of a call that was answered but carried no usable audio: a quality incident, not unavailability."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A confirmed change of a target's state or a component's status, with its cause.

    `at` is when the change was confirmed (alerting and state use it); `since` is when the run of results
    that confirmed it began, e.g. the first failed probe of the failures that confirmed an outage (the SLA
    counts downtime from there). None means the same as `at`. `quality` marks a target down only because
    answered calls carried no usable audio (QUALITY_ERRORS): it counts against the experienced availability,
    not the contract's (which counts calls not answered and servers not responding).
    """

    subject: Literal["target", "component"]
    id: str
    at: datetime
    old: str
    new: str
    cause: str
    component: str = ""
    since: datetime | None = None
    quality: bool = False


@dataclass(frozen=True, slots=True)
class Component:
    """A customer-visible service with its SLA target (a ratio, e.g. 0.9995)."""

    id: str
    name: str
    group: str
    tier: str
    sla_target: float
    description: str = ""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How one numeric entry of ProbeResult.values is exported to Prometheus."""

    value: str
    name: str
    help: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabelledSpec:
    """Exports every numeric value whose key starts with `prefix` as `name{label="<rest of key>"}`."""

    prefix: str
    name: str
    label: str
    help: str


@dataclass(frozen=True, slots=True)
class KindMetrics:
    """A probe kind's metrics: its phase gauge (labelled `phase`), fixed value gauges and labelled families."""

    phase_metric: str | None = None
    phase_help: str = ""
    values: tuple[MetricSpec, ...] = ()
    labelled: tuple[LabelledSpec, ...] = ()


class Probe(Protocol):
    """One protocol check. `probe` never raises for a failing target; only bugs raise."""

    kind: str

    async def probe(self, target: Target) -> ProbeResult: ...


class Sink(Protocol):
    """Receives results and transitions. Callbacks never block: a sink queues and does its I/O elsewhere."""

    def on_result(self, result: ProbeResult) -> None: ...

    def on_transition(self, transition: Transition) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...
