"""SNMP equipment probe (v2c and v3 on pysnmp 7): reachability, reboots, interfaces, CPU, storage, UPS, OID checks.

Readings go to ``values`` as ``snmp.<name>`` (exported as ``probe_snmp_value{name}``), plus ``reboot`` and
``reboots_total``. A warn threshold marks the result degraded; a crit threshold fails it with
``threshold_crit``; an interface that is oper down while admin up fails it with ``interface_down``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from agent.core.model import KindMetrics, LabelledSpec, MetricSpec, ProbeResult, Target
from agent.probes import ProbeContext
from agent.probes.snmp_config import SnmpConfig
from agent.snmp.client import SnmpClient, SnmpError
from agent.snmp.device import DeviceState, poll
from agent.snmp.engines import SnmpEngines
from agent.snmp.events import DeviceEvent, EventHook, no_events


class SnmpProbe:
    """Polls one device; keeps its state (uptime, counters, indexes) between polls."""

    kind = "snmp"

    def __init__(self, config: SnmpConfig, context: ProbeContext | None = None) -> None:
        context = context or ProbeContext()
        self.config = config
        self.vantage = context.vantage
        self.spec = config.poll_spec()
        self.state = DeviceState()
        self._engines: SnmpEngines | None = context.snmp_engines
        self._own_engines: SnmpEngines | None = None
        self._events: EventHook = context.device_events or no_events
        self._client: SnmpClient | None = None

    def _client_for(self, timeout: float) -> SnmpClient:
        if self._client is None or self._client.timeout != timeout:
            engines = self._engines
            if engines is None:
                engines = self._engines = self._own_engines = SnmpEngines()  # closed by aclose()
            credentials = self.config.credentials()
            host, port = self.config.host_port()
            self._client = SnmpClient(
                engines.for_credentials(credentials),
                host,
                port,
                credentials,
                timeout=timeout,
                retries=self.config.retries,
                max_repetitions=self.config.max_repetitions,
            )
        return self._client

    async def probe(self, target: Target) -> ProbeResult:
        """Poll the device once; never raises for a failing device."""
        started_at = datetime.now(UTC)
        t0 = time.monotonic()
        # The engine's own retries end a little before the deadline so its clearer message usually wins.
        client = self._client_for(target.timeout * 0.9)
        try:
            async with asyncio.timeout(target.timeout):
                result = await poll(client, self.spec, self.state, t0)
        except SnmpError as exc:
            return self._result(target, started_at, t0, exc.code, exc.message, {}, False)
        except TimeoutError:
            return self._result(target, started_at, t0, "timeout", client.timeout_error().message, {}, False)
        for kind, data in result.events:
            self._events(DeviceEvent(kind, target.id, started_at, data))
        error = result.error()
        if error is not None:
            return self._result(target, started_at, t0, error[0], error[1], result.values, False)
        return self._result(
            target, started_at, t0, "", "; ".join(result.warnings), result.values, bool(result.warnings)
        )

    def _result(
        self,
        target: Target,
        started_at: datetime,
        t0: float,
        error: str,
        message: str,
        values: dict[str, Any],
        degraded: bool,
    ) -> ProbeResult:
        return ProbeResult(
            target=target.id,
            kind=self.kind,
            started_at=started_at,
            duration=time.monotonic() - t0,
            ok=not error,
            error=error,
            message=message,
            phases={},
            values=values,
            vantage=self.vantage,
            degraded=degraded,
        )

    async def aclose(self) -> None:
        """Close the engines if this probe made them (the agent closes the ones it shares)."""
        if self._own_engines is not None:
            self._own_engines.close()
            self._own_engines = self._engines = None
            self._client = None


METRICS = KindMetrics(
    labelled=(LabelledSpec("snmp.", "probe_snmp_value", "name", "An SNMP reading or check value, by configured name"),),
    values=(
        MetricSpec(
            "reboots_total",
            "probe_snmp_reboots_total",
            "Reboots of the device seen since the agent started (sysUpTime went backwards)",
        ),
        MetricSpec("snmp.sys_uptime_seconds", "probe_snmp_uptime_seconds", "The device's sysUpTime in seconds"),
    ),
)


async def setup(context: ProbeContext) -> None:
    """What SNMP probes share: the SNMP stacks, one per v3 credential set (keys never cross targets)."""
    if context.snmp_engines is None:
        engines = context.snmp_engines = SnmpEngines()
        context.on_close(engines.close)
