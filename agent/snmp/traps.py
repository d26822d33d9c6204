"""SNMP trap and inform receiver (v2c communities and v3 USM users) on pysnmp 7's asyncio engine.

Accepted notifications from known sources become ``DeviceEvent(kind="snmp.trap")`` passed to a callback at
once, so the state machine does not wait for the next poll. Everything else is dropped and counted:
unknown source, wrong community, bad v3 credentials, malformed datagrams, trap OIDs nobody configured.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902

from agent.snmp import mibs
from agent.snmp.client import AUTH_PROTOCOLS, PRIV_PROTOCOLS, convert
from agent.snmp.events import TRAP, DeviceEvent
from agent.snmp.mibs import Oid, format_oid, parse_oid
from agent.snmp.traps_config import TrapReceiverConfig, TrapState, TrapUserConfig

log = logging.getLogger("dialtone.snmp.traps")

RESULTS = ("accepted", "unknown_source", "bad_community", "bad_auth", "malformed", "ignored")
"""The `result` label values of dialtone_snmp_traps_total."""

DEFAULT_STATES: Mapping[str, TrapState] = {
    "link_down": "down",
    "link_up": "up",
    "cold_start": "up",
    "warm_start": "up",
}

# pysnmp's own RFC counters, read back to count what its security layers dropped before our callback.
_ENGINE_COUNTERS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "bad_community": (("__SNMPv2-MIB", "snmpInBadCommunityNames"),),
    "bad_auth": tuple(
        ("__SNMP-USER-BASED-SM-MIB", n)
        for n in (
            "usmStatsUnknownUserNames",
            "usmStatsWrongDigests",
            "usmStatsDecryptionErrors",
            "usmStatsUnsupportedSecLevels",
            "usmStatsNotInTimeWindows",
            "usmStatsUnknownEngineIDs",
        )
    ),
    "malformed": (
        ("__SNMPv2-MIB", "snmpInASNParseErrs"),
        ("__SNMP-MPD-MIB", "snmpInvalidMsgs"),
        ("__SNMP-MPD-MIB", "snmpUnknownSecurityModels"),
        ("__SNMPv2-MIB", "snmpInBadVersions"),
    ),
}


TrapHook = Callable[[DeviceEvent], None]


class _GuardedUdp(udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP endpoint, where a datagram that makes pysnmp raise is dropped and reported, not a loop error."""

    def __init__(self, on_crash: Callable[[Exception], None]) -> None:
        super().__init__()
        self._on_crash = on_crash

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:
        """Hand the datagram to pysnmp on the next loop turn, as the base class does, but guarded."""
        callback = self._callback_function
        if callback is None:
            return

        def guarded() -> None:
            try:
                callback(self, transportAddress, datagram)
            except Exception as exc:
                self._on_crash(exc)

        self.loop.call_soon(guarded)


class TrapReceiver:
    """Listens on UDP; calls `on_trap` for each trusted notification; counts the rest."""

    def __init__(
        self,
        config: TrapReceiverConfig,
        on_trap: TrapHook,
        sources: Mapping[str, str] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.on_trap = on_trap
        self.sources = {**(sources or {}), **config.sources}
        self._now = now or (lambda: datetime.now(UTC))
        self._counts: Counter[str] = Counter()
        self._names: dict[Oid, tuple[str, TrapState]] = {
            oid: (name, DEFAULT_STATES[name]) for oid, name in mibs.STANDARD_TRAPS.items()
        }
        for t in config.trap_oids:
            self._names[parse_oid(t.oid)] = (t.name, t.state)
        self._engine: SnmpEngine | None = None
        self._receiver: Any = None
        self.port = 0

    async def start(self) -> None:
        """Bind the port (errors here are clear OSErrors) and start receiving."""
        host, port = self.config.host_port()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"snmp_traps.listen {self.config.listen}: {exc.strerror}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        engine = SnmpEngine()
        transport = _GuardedUdp(self._crashed).open_server_mode(sock=sock)
        snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
        for i, community in enumerate(self.config.communities):
            snmp_config.add_v1_system(engine, f"trap-c{i}", community.get_secret_value())
        for user in self.config.users:
            _add_user(engine, user)
        self._receiver = ntfrcv.NotificationReceiver(engine, self._received)
        self._engine = engine
        await transport._lport  # the endpoint is created in a task; wait so the socket is live on return

    async def aclose(self) -> None:
        """Stop listening."""
        if self._engine is not None:
            self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = None

    def _crashed(self, exc: Exception) -> None:
        # pysnmp raises (TypeError...) on some malformed datagrams instead of counting them: same outcome here.
        self._counts["malformed"] += 1
        log.debug("dropped a datagram pysnmp could not decode: %s: %s", type(exc).__name__, exc)

    def counters(self) -> dict[str, int]:
        """Notifications by result (every value of RESULTS), for dialtone_snmp_traps_total{result}."""
        out = {r: self._counts[r] for r in RESULTS}
        if self._engine is not None:
            builder = self._engine.get_mib_builder()
            for result, symbols in _ENGINE_COUNTERS.items():
                for module, name in symbols:
                    (obj,) = builder.import_symbols(module, name)
                    out[result] += int(obj.syntax)
        return out

    def _received(
        self, engine: SnmpEngine, _state_ref: Any, _ctx_engine: Any, _ctx_name: Any, varbinds: Any, _cb_ctx: Any
    ) -> None:
        context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        source = str(context["transportAddress"][0])
        target = self.sources.get(source)
        if target is None:
            self._counts["unknown_source"] += 1
            log.warning("dropped an SNMP notification from unknown source %s", source)
            return
        values = {tuple(oid): convert(tuple(oid), value) for oid, value in varbinds}
        trap_vb = values.get(mibs.SNMP_TRAP_OID)
        trap_oid = parse_oid(str(trap_vb.value)) if trap_vb is not None and trap_vb.kind == "oid" else None
        known = self._names.get(trap_oid) if trap_oid is not None else None
        if trap_oid is None or known is None:
            self._counts["ignored"] += 1
            return
        self._counts["accepted"] += 1
        name, state = known
        data: dict[str, str | int | float | bool] = {
            "trap": name,
            "oid": format_oid(trap_oid),
            "state": state,
            "source": source,
            "security": str(context["securityName"]),
        }
        data.update(_interface_details(values))
        try:
            self.on_trap(DeviceEvent(TRAP, target, self._now(), data))
        except Exception:  # a failing hook must not stop the receiver
            log.exception("SNMP trap hook failed")


def _interface_details(values: Mapping[Oid, Any]) -> dict[str, str | int]:
    """ifIndex / ifDescr / ifName / oper status carried by linkDown and linkUp (RFC 2863)."""
    out: dict[str, str | int] = {}
    for oid, vb in values.items():
        for column, key in (
            (mibs.IF_INDEX, "if_index"),
            (mibs.IF_DESCR, "interface"),
            (mibs.IF_NAME, "interface"),
            (mibs.IF_OPER_STATUS, "oper_status"),
        ):
            if mibs.under(oid, column) and vb.value is not None:
                value = vb.value
                if key == "oper_status" and isinstance(value, int):
                    value = mibs.IF_STATUS.get(value, str(value))
                out[key] = value
    return out


def _add_user(engine: SnmpEngine, user: TrapUserConfig) -> None:
    auth_key = user.auth_key.get_secret_value() if user.auth_key else None
    priv_key = user.priv_key.get_secret_value() if user.priv_key else None
    kwargs: dict[str, Any] = {}
    if auth_key:
        kwargs.update(authProtocol=AUTH_PROTOCOLS[user.auth_protocol], authKey=auth_key)
    if priv_key:
        kwargs.update(privProtocol=PRIV_PROTOCOLS[user.priv_protocol], privKey=priv_key)
    # Informs are authenticated against our own engine ID; traps against the sender's.
    snmp_config.add_v3_user(engine, user.user, **kwargs)
    if user.engine_id:
        snmp_config.add_v3_user(
            engine, user.user, securityEngineId=rfc1902.OctetString(hexValue=user.engine_id), **kwargs
        )
