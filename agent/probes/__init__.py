"""The probe registry: one `ProbeKind` record per kind, the only place a kind is wired.

A kind's config model lives in a module that imports no protocol stack, so that validating a config
(`check-config`, `--help`, `schema`) never loads SIP, voice or pysnmp. Its probe module is imported the
first time a probe of that kind is built or its metrics are asked for.
A new protocol is one package (config module + probe module) and one line in `KINDS`.
A probe class is built as ``XxxProbe(config, context)`` and answers ``await probe.probe(target)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from agent.probes.http.config import HttpConfig
from agent.probes.pstn.config import PstnCallConfig
from agent.probes.sip_config import SipCallConfig, SipOptionsConfig, SipRegisterConfig
from agent.probes.snmp_config import SnmpConfig
from agent.probes.tcp_config import TcpConfig

if TYPE_CHECKING:
    from agent.core.model import KindMetrics, Probe

V = TypeVar("V")


@dataclass(frozen=True)
class ProbeContext:
    """Shared, injected resources a probe may use (the composition root fills it)."""

    vantage: str = "local"
    extras: Mapping[str, Any] = field(default_factory=dict)


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

    def factory(self) -> ProbeFactory:
        """The probe class (imports its module, and with it the protocol stack, the first time)."""
        factory: ProbeFactory = getattr(importlib.import_module(self.module), self.probe)
        return factory

    def kind_metrics(self) -> KindMetrics:
        """How this kind's phases and values are exported as Prometheus metrics."""
        metrics: KindMetrics = getattr(importlib.import_module(self.module), self.metrics)
        return metrics


def _kind(name: str, config: type[BaseModel], module: str, probe: str, metrics: str, key: str) -> ProbeKind:
    return ProbeKind(name, config, f"agent.probes.{module}", probe, metrics, key)


KINDS: Mapping[str, ProbeKind] = {
    k.name: k
    for k in (
        _kind("http", HttpConfig, "http.probe", "HttpProbe", "METRICS", "url"),
        _kind("tcp", TcpConfig, "tcp", "TcpProbe", "METRICS", "address"),
        _kind("sip_options", SipOptionsConfig, "sip", "SipOptionsProbe", "OPTIONS_METRICS", "uri"),
        _kind("sip_register", SipRegisterConfig, "sip", "SipRegisterProbe", "REGISTER_METRICS", "uri"),
        _kind("sip_call", SipCallConfig, "sip", "SipCallProbe", "CALL_METRICS", "uri"),
        _kind("snmp", SnmpConfig, "snmp", "SnmpProbe", "METRICS", "address"),
        _kind("pstn_call", PstnCallConfig, "pstn.probe", "PstnCallProbe", "METRICS", "number"),
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


PROBE_CONFIGS: Mapping[str, type[BaseModel]] = {k: v.config for k, v in KINDS.items()}
"""kind -> its config block model (the union the config validates targets against)."""

PROBES: Mapping[str, ProbeFactory] = _Lazy(ProbeKind.factory)
"""kind -> probe factory, called as factory(config_block, context)."""

PROBE_METRICS: Mapping[str, KindMetrics] = _Lazy(ProbeKind.kind_metrics)
"""kind -> how its phases and values are exported as Prometheus metrics."""
