"""Connection set-up shared by the HTTP and TCP probes: resolve, connect and TLS, each timed as a phase.

A fresh connection every time, because a probe should see what a customer's first request sees.
Failures are raised as ProbeFailure (a short stable code and a message); the probe turns them into results.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable
from time import perf_counter
from typing import TypeVar

from agent.net.address import IpPreference
from agent.net.tlsinfo import describe_tls_error

P = TypeVar("P", bound=asyncio.BaseProtocol)


class ProbeFailure(Exception):
    """A failing target: `code` is short and stable (connect_refused, tls_failed...), `message` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Trace:
    """Phase timings of a probe (summed over redirects, as blackbox_exporter does) and the running phase."""

    __slots__ = ("_mark", "current", "phases")

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.current = "resolve"
        self._mark = perf_counter()

    def step(self, phase: str) -> None:
        """Close the running phase and start `phase`."""
        now = perf_counter()
        if self.current != "done":  # the pseudo-phase between a response and the next redirect's resolve
            self.phases[self.current] = self.phases.get(self.current, 0.0) + (now - self._mark)
        self.current = phase
        self._mark = now

    def timeout_failure(self, timeout: float, detail: str = "") -> ProbeFailure:
        """The failure for a deadline that expired during the running phase."""
        extra = f" ({detail})" if detail else ""
        if self.current == "resolve":
            return ProbeFailure("dns_failed", f"DNS resolution timed out after {timeout:g}s")
        if self.current == "connect":
            return ProbeFailure("connect_timeout", f"TCP connect timed out after {timeout:g}s")
        return ProbeFailure("timeout", f"timed out after {timeout:g}s in the {self.current} phase{extra}")


async def resolve(
    host: str, port: int, preference: IpPreference = "any", fallback: bool = True
) -> tuple[socket.AddressFamily, tuple[object, ...]]:
    """One address for host:port: the preferred IP family first, the other one only if `fallback`."""
    family = _literal_family(host)
    if family is not None:
        # A literal skips getaddrinfo, which would otherwise cost a thread hop per probe.
        return family, ((host, port, 0, 0) if family == socket.AF_INET6 else (host, port))
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeFailure("dns_failed", f"cannot resolve {host}: {exc.strerror}") from None
    want = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6}.get(preference)
    for fam, _, _, _, addr in infos:
        if want is None or fam == want:
            return fam, addr
    if fallback and infos:
        return infos[0][0], infos[0][4]
    raise ProbeFailure("dns_failed", f"{host} has no {'IPv4' if want == socket.AF_INET else 'IPv6'} address")


async def open_connection(
    host: str,
    port: int,
    factory: Callable[[], P],
    trace: Trace,
    *,
    preference: IpPreference = "any",
    fallback: bool = True,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.Transport, P]:
    """Resolve, connect and (if `tls`) handshake, stepping `trace`; the caller closes the transport."""
    family, addr = await resolve(host, port, preference, fallback)
    trace.step("connect")
    loop = asyncio.get_running_loop()
    try:
        # An IP literal: the loop connects without another getaddrinfo, and uvloop does it all in C.
        transport, protocol = await loop.create_connection(
            factory, str(addr[0]), port, family=family, proto=socket.IPPROTO_TCP
        )
    except ConnectionRefusedError:
        raise ProbeFailure("connect_refused", f"connection refused by {_fmt(addr)}") from None
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ProbeFailure("connect_failed", f"cannot connect to {_fmt(addr)}: {why}") from None
    if tls is None:
        return transport, protocol
    trace.step("tls")
    try:
        name = server_hostname or host
        tls_transport = await loop.start_tls(transport, protocol, tls, server_hostname=name)
    except ssl.SSLError as exc:
        transport.abort()
        raise ProbeFailure("tls_failed", describe_tls_error(exc)) from None
    except (ConnectionError, OSError) as exc:
        transport.abort()
        raise ProbeFailure("tls_failed", f"handshake_failed: {exc.strerror or type(exc).__name__}") from None
    except BaseException:
        transport.abort()
        raise
    assert tls_transport is not None
    return tls_transport, protocol


@functools.lru_cache(maxsize=4096)
def _literal_family(host: str) -> socket.AddressFamily | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def _fmt(addr: tuple[object, ...]) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
