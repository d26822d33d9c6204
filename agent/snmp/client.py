"""GET, GETNEXT and GETBULK walks: SNMP v2c on dialtone's own codec, v3 (USM) on pysnmp 7's asyncio engine.

v2c, the hot path of every poll, goes through ``agent.snmp.v2c`` (a BER codec and a UDP client of our own,
several times cheaper than pysnmp's pure-Python pyasn1 decoding). v3 needs USM authentication and privacy,
so it stays on pysnmp, as does the trap receiver. pysnmp's error indications are translated here, at the
boundary, into ``SnmpError(code, message)`` with dialtone's short error codes. Values come back as plain
Python types beside a short type tag, so no pysnmp or pyasn1 object leaks out. OIDs are numeric tuples.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import auth
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.hlapi.v3arch.asyncio.transport import UdpTransportTarget
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.rfc1902 import univ  # pyasn1's types, reached through pysnmp (no stubs either way)

from agent.snmp import ber, v2c
from agent.snmp.mibs import Oid, format_oid, under
from agent.snmp.stack import SnmpStack
from agent.snmp.v2c import SnmpError, Varbind, from_raw

__all__ = [
    "Credentials",
    "SnmpClient",
    "SnmpError",
    "Varbind",
    "convert",
]

AUTH_PROTOCOLS: dict[str, Any] = {
    "MD5": auth.USM_AUTH_HMAC96_MD5,
    "SHA": auth.USM_AUTH_HMAC96_SHA,
    "SHA-224": auth.USM_AUTH_HMAC128_SHA224,
    "SHA-256": auth.USM_AUTH_HMAC192_SHA256,
    "SHA-384": auth.USM_AUTH_HMAC256_SHA384,
    "SHA-512": auth.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS: dict[str, Any] = {
    "AES": auth.USM_PRIV_CFB128_AES,
    "AES-192": auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES-192-C": auth.USM_PRIV_CFB192_AES,
    "AES-256-C": auth.USM_PRIV_CFB256_AES,
}

# Report PDUs and local USM failures that mean "these credentials are wrong" (RFC 3414 usmStats*).
_AUTH_FAILURES = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.UnsupportedSecurityLevel,
    errind.DecryptionError,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
    errind.UnknownSecurityName,
    errind.NotInTimeWindow,
    errind.UnknownCommunityName,
)
MAX_WALK_VARBINDS = 20_000
"""A walk stops with snmp_error beyond this many rows: an agent looping or a table far larger than meant."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """v2c community or v3 USM user; keys are plain strings here (the config keeps them as SecretStr)."""

    version: Literal["2c", "3"] = "2c"
    community: str = "public"
    user: str = ""
    auth_protocol: str = "SHA-256"
    auth_key: str = ""
    priv_protocol: str = "AES"
    priv_key: str = ""

    def usm_key(self) -> str:
        """A digest of the v3 user and keys ('' for v2c): equal only for credentials that may share an engine.
        A digest, so that the keys themselves are never held in a dictionary key or shown in a debugger."""
        if self.version == "2c":
            return ""
        parts = (self.user, self.auth_protocol, self.auth_key, self.priv_protocol, self.priv_key)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def auth_data(self) -> auth.CommunityData | auth.UsmUserData:
        """pysnmp's auth object for these credentials."""
        if self.version == "2c":
            # One community index per community string so several targets can share one engine.
            index = f"c{abs(hash(self.community)):x}"
            return auth.CommunityData(index, self.community, mpModel=1)
        return auth.UsmUserData(
            self.user,
            authKey=self.auth_key or None,
            privKey=self.priv_key or None,
            authProtocol=AUTH_PROTOCOLS[self.auth_protocol] if self.auth_key else auth.USM_AUTH_NONE,
            privProtocol=PRIV_PROTOCOLS[self.priv_protocol] if self.priv_key else auth.USM_PRIV_NONE,
        )


def convert(oid: Oid, value: Any) -> Varbind:
    """A pysnmp value -> Varbind."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView | univ.Null):
        return Varbind(oid, "missing", None)
    if isinstance(value, rfc1902.Counter64):
        return Varbind(oid, "counter64", int(value))
    if isinstance(value, rfc1902.Counter32):
        return Varbind(oid, "counter32", int(value))
    if isinstance(value, rfc1902.TimeTicks):
        return Varbind(oid, "timeticks", int(value))
    if isinstance(value, rfc1902.Gauge32 | rfc1902.Unsigned32):
        return Varbind(oid, "gauge", int(value))
    if isinstance(value, rfc1902.IpAddress):
        return Varbind(oid, "ip", ".".join(str(b) for b in value.asOctets()))
    if isinstance(value, rfc1902.Opaque):
        return Varbind(oid, "opaque", value.asOctets().hex(":"))
    if isinstance(value, univ.Integer):
        return Varbind(oid, "integer", int(value))
    if isinstance(value, univ.ObjectIdentifier):
        return Varbind(oid, "oid", format_oid(tuple(value)))
    if isinstance(value, univ.OctetString):
        raw = value.asOctets()
        try:
            return Varbind(oid, "string", raw.decode("utf-8"))
        except UnicodeDecodeError:
            return Varbind(oid, "string", raw.hex(":"))
    return Varbind(oid, "opaque", str(value))


class SnmpClient:
    """One agent's client. Cheap to keep: the stack (pysnmp engine and v2c sockets) is shared and passed in."""

    def __init__(
        self,
        stack: SnmpStack,
        host: str,
        port: int,
        credentials: Credentials,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        max_repetitions: int = 25,
        native_v2c: bool = True,
    ) -> None:
        self.stack = stack
        self.host, self.port = host, port
        self.credentials = credentials
        self.timeout, self.retries = timeout, retries
        self.max_repetitions = max_repetitions
        self._auth = credentials.auth_data()
        self._addr_name: str | None = None
        # v2c on our own codec unless asked for pysnmp (the decoder comparison test walks with both).
        self._native_v2c = credentials.version == "2c" and native_v2c
        self._community = credentials.community.encode()
        self._resolved: tuple[int, v2c.Address] | None = None

    async def _target(self) -> str:
        if self._addr_name is None:
            per_try = max(0.1, self.timeout / (self.retries + 1))
            try:
                transport = await UdpTransportTarget.create(
                    (self.host, self.port), timeout=per_try, retries=self.retries
                )
            except Exception as exc:  # pysnmp wraps resolver failures in its own error type
                raise SnmpError("snmp_error", f"cannot resolve {self.host}: {exc}") from None
            self._addr_name, _ = LCD.configure(self.stack.pysnmp, self._auth, transport, b"")
        return self._addr_name

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        """GET: one Varbind per requested OID, in order (kind 'missing' for noSuchObject/Instance)."""
        if self._native_v2c:
            return await self._native(ber.GET, oids)
        return await self._request("get", [(oid, univ.Null("")) for oid in oids])

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        """GETNEXT: the successor of each OID."""
        if self._native_v2c:
            return await self._native(ber.GET_NEXT, oids)
        return await self._request("next", [(oid, univ.Null("")) for oid in oids])

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[Varbind]:
        """GETBULK with no non-repeaters: up to max_repetitions successors per OID, in wire order."""
        if self._native_v2c:
            return await self._native(ber.GET_BULK, oids, max_repetitions)
        return await self._request("bulk", [(oid, univ.Null("")) for oid in oids], max_repetitions)

    async def _native(self, pdu_type: int, oids: Sequence[Oid], reps: int = 0) -> list[Varbind]:
        transport = self.stack.v2c  # SnmpError once the stack is closed
        if self._resolved is None:
            self._resolved = await v2c.resolve(self.host, self.port)
        family, addr = self._resolved
        try:
            msg = await transport.request(
                family, addr, self._community, pdu_type, oids, 0, reps, within=self.timeout, retries=self.retries
            )
        except TimeoutError:
            raise self.timeout_error() from None
        except (ber.BerError, OSError) as exc:  # an OID we cannot encode; a socket that cannot send
            raise SnmpError("snmp_error", f"{self.host}:{self.port}: {exc}") from None
        v2c.check_response(msg, oids, reps, f"{self.host}:{self.port}")
        return from_raw(msg.varbinds)

    async def walk(self, root: Oid, *, bulk: bool | None = None) -> list[Varbind]:
        """Every variable under `root`, by GETBULK (default for v2c/v3) or GETNEXT."""
        use_bulk = True if bulk is None else bulk
        rows: list[Varbind] = []
        current = root
        while True:
            if use_bulk:
                batch = await self.get_bulk([current], self.max_repetitions)
            else:
                batch = await self.get_next([current])
            for vb in batch:
                if vb.kind == "missing" or not under(vb.oid, root):
                    return rows
                if vb.oid <= current:
                    raise SnmpError(
                        "snmp_error",
                        f"agent returned non-increasing OID {format_oid(vb.oid)} after {format_oid(current)}",
                    )
                rows.append(vb)
                current = vb.oid
            if not batch:
                return rows
            if len(rows) > MAX_WALK_VARBINDS:
                raise SnmpError("snmp_error", f"walk of {format_oid(root)} exceeded {MAX_WALK_VARBINDS} rows")

    async def _request(self, op: str, varbinds: list[tuple[Oid, Any]], reps: int = 0) -> list[Varbind]:
        addr_name = await self._target()
        engine = self.stack.pysnmp
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, Any, Any, Any]] = loop.create_future()

        def done(_engine: Any, _handle: Any, indication: Any, status: Any, index: Any, vbs: Any, _ctx: Any) -> None:
            if not future.done():
                future.set_result((indication, status, index, vbs))

        try:
            if op == "get":
                cmdgen.GetCommandGenerator().send_varbinds(engine, addr_name, None, b"", varbinds, done)
            elif op == "next":
                cmdgen.NextCommandGeneratorSingleRun().send_varbinds(engine, addr_name, None, b"", varbinds, done)
            else:
                cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
                    engine, addr_name, None, b"", 0, reps, varbinds, done
                )
            # The engine has its own retry timer; this outer bound is the hard deadline that never slips.
            async with asyncio.timeout(self.timeout + 0.5):
                indication, status, index, vbs = await future
        except TimeoutError:
            raise self.timeout_error() from None
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises its own errors on send (e.g. an unusable key)
            raise SnmpError("snmp_error", f"{type(exc).__name__}: {exc}") from None
        if indication:
            raise self._translate(indication)
        if status:
            where = varbinds[int(index) - 1][0] if 0 < int(index) <= len(varbinds) else None
            text = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
            suffix = f" at {format_oid(where)}" if where else ""
            raise SnmpError("snmp_error", f"agent answered error-status {text}{suffix}")
        return [convert(tuple(oid), value) for oid, value in vbs]

    def timeout_error(self) -> SnmpError:
        """The timeout error for this agent, with the likely causes."""
        hint = (
            "; v2c agents silently drop a wrong community"
            if self.credentials.version == "2c"
            else "; a wrong v3 privacy key also goes unanswered"
        )
        return SnmpError(
            "timeout",
            f"no SNMP response from {self.host}:{self.port} within {self.timeout:g}s ({self.retries} retries){hint}",
        )

    def _translate(self, indication: Any) -> SnmpError:
        if isinstance(indication, errind.RequestTimedOut):
            return self.timeout_error()
        if isinstance(indication, _AUTH_FAILURES):
            return SnmpError("auth_failed", f"{self.host}:{self.port} refused the credentials: {indication}")
        return SnmpError("snmp_error", f"{self.host}:{self.port}: {indication}")
