"""The probe registry: one `ProbeKind` record per kind, the only place a kind is wired.

A kind's config model lives in a module that imports no protocol stack, so that validating a config
(`check-config`, `--help`, `schema`) never loads SIP, voice or pysnmp. Its probe module is imported the
first time a probe of that kind is built or its metrics are asked for.
A new protocol is one package (config module + probe module) and one line in `KINDS`.
A probe class is built as ``XxxProbe(config, context)`` and answers ``await probe.probe(target)``.

The `ProbeContext` carries, typed, what probes share: the clock, the SIP transport pool, the SNMP engines,
the call counters, the device event hook. The composition root (the Agent, `dialtone probe`) makes one,
awaits `context.setup(kinds)` for the kinds it runs (each kind's `setup` adds the resources its probes
share, once), and `await context.aclose()` when it stops: resources belong to their owner, never to the
process.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from agent.probes.http.config import HttpConfig
from agent.probes.pstn.config import PstnCallConfig
from agent.probes.sip_config import SipCallConfig, SipOptionsConfig, SipRegisterConfig
from agent.probes.snmp_config import SnmpConfig
from agent.probes.tcp_config import TcpConfig

if TYPE_CHECKING:
    # Types only: building a context or validating a config loads none of these stacks.
    import asyncio

    from agent.core.clock import Clock
    from agent.core.model import KindMetrics, Probe
    from agent.probes.calls import CallCounters
    from agent.sip.pool import SipTransportPool
    from agent.snmp.engines import SnmpEngines
    from agent.snmp.events import DeviceEvent

V = TypeVar("V")
Closer = Callable[[], "Awaitable[None] | None"]


@dataclass(eq=False)
class ProbeContext:
    """What the probes of one owner share, typed; a kind's `setup` fills in what its probes need."""

    vantage: str = "local"
    clock: Clock | None = None
    """The owner's clock (tests inject a fake one); None: the system clock."""
    sip_pool: SipTransportPool | None = None
    """The UDP sockets SIP probes share, one per next hop (sip_* kinds' setup makes it)."""
    snmp_engines: SnmpEngines | None = None
    """The SNMP stacks (a pysnmp engine and its v2c sockets each), one per v3 credential set (snmp's setup)."""
    call_counters: CallCounters | None = None
    """Test call attempts by route and outcome (ASR, NER), exported by the owner's registry."""
    device_events: Callable[[DeviceEvent], None] | None = None
    """Where SNMP device events (reboots, link changes) go; None: dropped."""
    route_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    """PSTN route -> its lock: the probes of one owner place one call at a time per route (trunk)."""
    _closers: list[Closer] = field(default_factory=list, repr=False)
    _ready: set[str] = field(default_factory=set, repr=False)

    def on_close(self, closer: Closer) -> None:
        """Run `closer` (plain or async) in `aclose()`; closers run last-first."""
        self._closers.append(closer)

    async def setup(self, kinds: Iterable[str]) -> None:
        """Run each kind's `setup` once, so the resources its probes share exist before they are built."""
        for name in kinds:
            if name not in self._ready:
                await KINDS[name].setup(self)
                self._ready.add(name)

    async def aclose(self) -> None:
        """Close what the kinds' setups opened, last-first; the context can be set up again afterwards."""
        closers, self._closers = self._closers, []
        self._ready.clear()
        for close in reversed(closers):
            result = close()
            if isinstance(result, Awaitable):
                await result


ProbeFactory = Callable[[Any, ProbeContext], "Probe"]


@dataclass(frozen=True)
class ProbeKind:
    """One probe kind: its config model, where its probe and metrics live, and the ad-hoc CLI's target key."""

    name: str
    config: type[BaseModel]
    module: str
    """Dotted module of the probe class and its metrics, imported on first use."""
    probe: str
    metrics: str
    target_key: str
    """The config field `dialtone probe KIND TARGET` fills with TARGET."""
    setup_name: str | None = None
    """An async function of the probe module that adds what the kind's probes share to a context."""
    labels: Callable[[Any], Mapping[str, str]] | None = None
    """Labels a target of this kind adds to its series, from its config block (PSTN: its route)."""
    costly: bool = False
    """A probe places a real call (money, trunk capacity): /probe runs it only for an on_demand target."""

    def target_labels(self, block: BaseModel, labels: Mapping[str, str]) -> dict[str, str]:
        """The series labels of a target: its own `labels:`, then what the kind adds (never overriding)."""
        out = dict(labels)
        if self.labels is not None:
            for name, value in self.labels(block).items():
                out.setdefault(name, value)
        return out

    def factory(self) -> ProbeFactory:
        """The probe class (imports its module, and with it the protocol stack, the first time)."""
        factory: ProbeFactory = getattr(importlib.import_module(self.module), self.probe)
        return factory

    def kind_metrics(self) -> KindMetrics:
        """How this kind's phases and values are exported as Prometheus metrics."""
        metrics: KindMetrics = getattr(importlib.import_module(self.module), self.metrics)
        return metrics

    async def setup(self, context: ProbeContext) -> None:
        """Add the resources this kind's probes share to `context` (none for most kinds)."""
        if self.setup_name is not None:
            setup: Callable[[ProbeContext], Awaitable[None]]
            setup = getattr(importlib.import_module(self.module), self.setup_name)
            await setup(context)


def _kind(
    name: str,
    config: type[BaseModel],
    module: str,
    probe: str,
    metrics: str,
    key: str,
    setup: str | None = None,
    **kw: Any,
) -> ProbeKind:
    return ProbeKind(name, config, f"agent.probes.{module}", probe, metrics, key, setup, **kw)


def _route(block: PstnCallConfig) -> dict[str, str]:
    """A PSTN target is labelled with its route, for per-route dashboards and alerts."""
    return {"route": block.route}


KINDS: Mapping[str, ProbeKind] = {
    k.name: k
    for k in (
        _kind("http", HttpConfig, "http.probe", "HttpProbe", "METRICS", "url"),
        _kind("tcp", TcpConfig, "tcp", "TcpProbe", "METRICS", "address"),
        _kind("sip_options", SipOptionsConfig, "sip", "SipOptionsProbe", "OPTIONS_METRICS", "uri", "setup"),
        _kind("sip_register", SipRegisterConfig, "sip", "SipRegisterProbe", "REGISTER_METRICS", "uri", "setup"),
        _kind("sip_call", SipCallConfig, "sip", "SipCallProbe", "CALL_METRICS", "uri", "setup", costly=True),
        _kind("snmp", SnmpConfig, "snmp", "SnmpProbe", "METRICS", "address", "setup"),
        _kind(
            "pstn_call",
            PstnCallConfig,
            "pstn.probe",
            "PstnCallProbe",
            "METRICS",
            "number",
            "setup",
            labels=_route,
            costly=True,
        ),
    )
}
"""kind -> its record, in the order the config lists kinds."""


class _Lazy(Mapping[str, V]):
    """A read-only view of KINDS whose values are computed (and their modules imported) on access."""

    def __init__(self, get: Callable[[ProbeKind], V]) -> None:
        self._get = get

    def __getitem__(self, kind: str) -> V:
        return self._get(KINDS[kind])

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


COSTLY_KINDS = frozenset(name for name, kind in KINDS.items() if kind.costly)
"""Kinds whose probe places a call: /probe needs the target's on_demand."""

PROBE_CONFIGS: Mapping[str, type[BaseModel]] = {k: v.config for k, v in KINDS.items()}
"""kind -> its config block model (the union the config validates targets against)."""

PROBES: Mapping[str, ProbeFactory] = _Lazy(ProbeKind.factory)
"""kind -> probe factory, called as factory(config_block, context)."""

PROBE_METRICS: Mapping[str, KindMetrics] = _Lazy(ProbeKind.kind_metrics)
"""kind -> how its phases and values are exported as Prometheus metrics."""
