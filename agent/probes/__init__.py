"""The probe registry: each kind's config model beside its probe class, in one table so they cannot drift.

A new protocol is one new file (``XxxConfig`` + ``XxxProbe``) and one line in ``_REGISTRY``.
A probe class is built as ``XxxProbe(config, context)`` and answers ``await probe.probe(target)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent.core.model import KindMetrics

if TYPE_CHECKING:
    from agent.core.model import Probe


@dataclass(frozen=True)
class ProbeContext:
    """Shared, injected resources a probe may use (the composition root fills it)."""

    vantage: str = "local"
    extras: Mapping[str, Any] = field(default_factory=dict)


ProbeFactory = Callable[[Any, ProbeContext], "Probe"]


def _registry() -> dict[str, tuple[type[BaseModel], ProbeFactory, KindMetrics]]:
    from agent.probes import sip, tcp
    from agent.probes.http import probe as http
    from agent.probes.pstn import probe as pstn

    return {
        "http": (http.HttpConfig, http.HttpProbe, http.METRICS),
        "tcp": (tcp.TcpConfig, tcp.TcpProbe, tcp.METRICS),
        "sip_options": (sip.SipOptionsConfig, sip.SipOptionsProbe, sip.OPTIONS_METRICS),
        "sip_register": (sip.SipRegisterConfig, sip.SipRegisterProbe, sip.REGISTER_METRICS),
        "sip_call": (sip.SipCallConfig, sip.SipCallProbe, sip.CALL_METRICS),
        "snmp": _snmp(),
        "pstn_call": (pstn.PstnCallConfig, pstn.PstnCallProbe, pstn.METRICS),
    }


def _snmp() -> tuple[type[BaseModel], ProbeFactory, KindMetrics]:
    from agent.probes import snmp

    return (snmp.SnmpConfig, snmp.SnmpProbe, snmp.METRICS)


_REGISTRY = _registry()

PROBE_CONFIGS: Mapping[str, type[BaseModel]] = {k: v[0] for k, v in _REGISTRY.items()}
"""kind -> its config block model (the union the config validates targets against)."""

PROBES: Mapping[str, ProbeFactory] = {k: v[1] for k, v in _REGISTRY.items()}
"""kind -> probe factory, called as factory(config_block, context)."""

PROBE_METRICS: Mapping[str, KindMetrics] = {k: v[2] for k, v in _REGISTRY.items()}
"""kind -> how its phases and values are exported as Prometheus metrics."""
