"""Prometheus exposition with blackbox_exporter's metric names, built for 10,000 targets.

Each target's sample lines are rendered once, when its result arrives, and cached per metric family; a scrape
only joins the cached fragments (docs/ARCHITECTURE.md, "The path of one ProbeResult"). prometheus_client still
serves the agent's own metrics (counters, the lateness histogram) on a registry that is passed in, and sets the
format rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import exposition as text_exposition
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.parser import text_string_to_metric_families

from agent.core.model import ALL_STATUSES, KindMetrics, ProbeResult, Status, Transition

OPENMETRICS = om_exposition.CONTENT_TYPE_LATEST
TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, which every Prometheus version negotiates."""

LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape_label(value: str) -> str:
    """Escape a label value for the text and OpenMetrics formats."""
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def format_value(value: float) -> str:
    """A sample value as both formats write it."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class TargetMeta:
    """Labels every sample of a target carries."""

    target: str
    component: str
    kind: str
    extra: Mapping[str, str]
    interval: float = 0.0


_GENERIC = (
    ("probe_success", "Whether the probe succeeded (1) or failed (0)."),
    ("probe_duration_seconds", "How long the probe took to complete, in seconds."),
    ("dialtone_probe_last_run_timestamp_seconds", "When the target's last probe started (Unix seconds)."),
    ("dialtone_probe_maintenance", "Whether the last result was taken inside a maintenance window."),
    ("dialtone_probe_interval_seconds", "The target's configured probe interval (for stale-probe alerts)."),
    ("dialtone_component_status", "Component status, one-hot over the Statuspage statuses."),
    ("dialtone_target_up", "Confirmed target state after thresholds: 1 up, 0 down (absent while unknown)."),
    ("dialtone_component_sla_target_ratio", "The component's SLA target per calendar month (0.9995 = 99.95 %)."),
)


_BY_COMPONENT = frozenset({"dialtone_component_status", "dialtone_component_sla_target_ratio"})
"""Families keyed by component id, not target id: set_targets must not prune them."""


class PrometheusSink:
    """A Sink that caches per-target exposition fragments and serves them beside the agent's own metrics."""

    def __init__(
        self,
        vantage: str,
        kinds: Mapping[str, KindMetrics],
        registry: CollectorRegistry,
        component_status: Callable[[], Mapping[str, Status]],
        target_up: Callable[[], Mapping[str, bool | None]],
    ) -> None:
        self.vantage = vantage
        self.kinds = kinds
        self.registry = registry
        self._families: dict[str, tuple[str, dict[str, str]]] = {}
        self._meta: dict[str, TargetMeta] = {}
        self._prefix: dict[str, str] = {}
        for name, help_ in _GENERIC:
            self._family(name, help_)
        self.probes_total = Counter(
            "dialtone_probes", "Probes run, by kind and result.", ["kind", "result"], registry=registry
        )
        self.lateness = Histogram(
            "dialtone_scheduler_lateness_seconds",
            "How late probes started against their schedule.",
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )
        self.transitions_total = Counter(
            "dialtone_transitions", "Confirmed state transitions, by subject.", ["subject"], registry=registry
        )
        self._component_status = component_status
        self._target_up = target_up

    def set_targets(self, metas: Iterable[TargetMeta]) -> None:
        """(Re)define the targets; fragments of removed targets are dropped, so they stop being exported."""
        self._meta.clear()
        self._meta.update({m.target: m for m in metas})
        self._prefix = {tid: self._label_prefix(m) for tid, m in self._meta.items()}
        for name, (_, samples) in self._families.items():
            if name in _BY_COMPONENT:  # rebuilt by set_components and sync_status
                continue
            for tid in [t for t in samples if t not in self._meta]:
                del samples[tid]
        intervals = self._families["dialtone_probe_interval_seconds"][1]
        for tid, m in self._meta.items():
            intervals[tid] = f"dialtone_probe_interval_seconds{{{self._prefix[tid]}}} {format_value(m.interval)}\n"
        self.sync_status()

    def set_components(self, targets: Mapping[str, tuple[str, float]]) -> None:
        """Each component's SLA tier and target ratio (already exact: contract.sla.percent_ratio), exported for
        the burn-rate rules."""
        sla = self._families["dialtone_component_sla_target_ratio"][1]
        sla.clear()
        for cid, (tier, ratio) in targets.items():
            sla[cid] = (
                f'dialtone_component_sla_target_ratio{{component="{cid}",tier="{escape_label(tier)}"}} '
                f"{format_value(ratio)}\n"
            )

    def sync_status(self) -> None:
        """Rebuild the status fragments from the state machine (at start and reload; transitions keep them)."""
        statuses = self._families["dialtone_component_status"][1]
        statuses.clear()
        for cid, status in self._component_status().items():
            statuses[cid] = _one_hot(cid, status.value)
        ups = self._families["dialtone_target_up"][1]
        ups.clear()
        for tid, up in self._target_up().items():
            if up is not None and tid in self._meta:
                ups[tid] = _up_line(self._meta[tid], up)

    def _label_prefix(self, m: TargetMeta) -> str:
        extra = "".join(f',{k}="{escape_label(v)}"' for k, v in sorted(m.extra.items()))
        return f'target="{m.target}",component="{m.component}",kind="{m.kind}",vantage="{self.vantage}"{extra}'

    def _family(self, name: str, help_: str) -> dict[str, str]:
        fam = self._families.get(name)
        if fam is None:
            fam = self._families[name] = (help_, {})
        return fam[1]

    # --- Sink ------------------------------------------------------------------------------------------------

    def on_result(self, result: ProbeResult) -> None:
        """Render and cache this target's fragments."""
        self.probes_total.labels(result.kind, "success" if result.ok else "failure").inc()
        labels = self._prefix.get(result.target)
        if labels is None:
            return
        fresh: dict[str, str] = {}
        for name, text in self.render(result, labels):
            fresh[name] = fresh.get(name, "") + text  # several specs may share one family (per-direction labels)
        for name, text in fresh.items():
            self._families[name][1][result.target] = text

    def on_transition(self, transition: Transition) -> None:
        """Count transitions and update the status fragments they change (O(1): no scan at scrape time)."""
        self.transitions_total.labels(transition.subject).inc()
        if transition.subject == "component":
            self._families["dialtone_component_status"][1][transition.id] = _one_hot(transition.id, transition.new)
        elif transition.id in self._meta:
            ups = self._families["dialtone_target_up"][1]
            if transition.new == "unknown":
                ups.pop(transition.id, None)
            else:
                ups[transition.id] = _up_line(self._meta[transition.id], transition.new == "up")

    async def start(self) -> None:
        """Nothing to start."""

    async def aclose(self) -> None:
        """Nothing to close."""

    # --- rendering -------------------------------------------------------------------------------------------

    def render(self, result: ProbeResult, labels: str) -> Iterator[tuple[str, str]]:
        """(family, sample lines) pairs for one result; used by on_result and by /probe."""
        yield "probe_success", f"probe_success{{{labels}}} {1 if result.ok else 0}\n"
        yield "probe_duration_seconds", f"probe_duration_seconds{{{labels}}} {format_value(result.duration)}\n"
        yield (
            "dialtone_probe_last_run_timestamp_seconds",
            f"dialtone_probe_last_run_timestamp_seconds{{{labels}}} {format_value(result.started_at.timestamp())}\n",
        )
        yield "dialtone_probe_maintenance", f"dialtone_probe_maintenance{{{labels}}} {int(result.maintenance)}\n"
        spec = self.kinds.get(result.kind)
        if spec is None:
            return
        if spec.phase_metric:
            self._family(spec.phase_metric, spec.phase_help or "Duration of each probe phase, in seconds.")
            yield (
                spec.phase_metric,
                "".join(
                    f'{spec.phase_metric}{{{labels},phase="{p}"}} {format_value(v)}\n' for p, v in result.phases.items()
                ),
            )
        values = result.values
        for m in spec.values:
            v = values.get(m.value)
            if isinstance(v, int | float) and not isinstance(v, bool):
                self._family(m.name, m.help)
                extra = "".join(f',{k}="{escape_label(x)}"' for k, x in m.labels.items())
                yield m.name, f"{m.name}{{{labels}{extra}}} {format_value(float(v))}\n"
        for ls in spec.labelled:
            self._family(ls.name, ls.help)
            yield (
                ls.name,
                "".join(
                    f'{ls.name}{{{labels},{ls.label}="{escape_label(k[len(ls.prefix) :])}"}} {format_value(float(v))}\n'
                    for k, v in values.items()
                    if k.startswith(ls.prefix) and isinstance(v, int | float) and not isinstance(v, bool)
                ),
            )

    def exposition(self, openmetrics: bool = False) -> bytes:
        """The whole scrape: cached probe fragments, then the registry's own metrics."""
        parts: list[str] = []
        for name, (help_, samples) in self._families.items():
            if samples:
                parts.append(f"# HELP {name} {help_}\n# TYPE {name} gauge\n")
                parts.extend(samples.values())
        head = "".join(parts).encode()
        own: bytes = (
            om_exposition.generate_latest(self.registry)  # type: ignore[no-untyped-call]
            if openmetrics
            else text_exposition.generate_latest(self.registry)
        )
        return head + own

    def sample_value(self, name: str, labels: Mapping[str, str]) -> float | None:
        """One sample of the whole exposition, as registry.get_sample_value reads the registry's own (for tests
        and tools: it parses the full scrape)."""
        for family in text_string_to_metric_families(self.exposition().decode()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return None

    def exposition_for(self, result: ProbeResult) -> bytes:
        """The metrics of one result only (the /probe answer), with HELP and TYPE lines."""
        labels = self._prefix.get(result.target, f'target="{result.target}",kind="{result.kind}"')
        fresh: dict[str, str] = {}
        for name, text in self.render(result, labels):
            fresh[name] = fresh.get(name, "") + text
        head = "# HELP {0} {1}\n# TYPE {0} gauge\n"
        parts = [head.format(name, self._families[name][0]) + text for name, text in fresh.items() if text]
        return "".join(parts).encode()


def _one_hot(component: str, current: str) -> str:
    return "".join(
        f'dialtone_component_status{{component="{component}",status="{st.value}"}} {1 if st.value == current else 0}\n'
        for st in ALL_STATUSES
    )


def _up_line(m: TargetMeta, up: bool) -> str:
    # kind lets the voice and SNMP alerts read confirmed state per protocol.
    return f'dialtone_target_up{{target="{m.target}",component="{m.component}",kind="{m.kind}"}} {1 if up else 0}\n'


def agent_gauges(registry: CollectorRegistry) -> dict[str, Gauge]:
    """Gauges the composition root keeps current (reload state, scheduler and history health)."""
    return {
        "reload_ok": Gauge(
            "dialtone_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
            registry=registry,
        ),
        "reload_ts": Gauge(
            "dialtone_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
            registry=registry,
        ),
        "targets": Gauge("dialtone_scheduler_targets", "Targets scheduled.", registry=registry),
        "inflight": Gauge("dialtone_scheduler_inflight", "Probes running now.", registry=registry),
    }
