"""Where a probe connects, parsed without the network stack: `host:port`, http(s) URLs, the IP preference.

Config models validate addresses with these, so `check-config` never imports asyncio, socket or ssl.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

IpPreference = Literal["any", "ip4", "ip6"]
"""The address family a probe connects over: any, IPv4 only or IPv6 only."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one request goes: scheme, host, port, request-target and Host header value."""

    url: str
    tls: bool
    host: str
    port: int
    target: str
    host_header: str


def parse_endpoint(url: str) -> Endpoint:
    """An absolute http(s) URL -> Endpoint; ValueError saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL {url!r} must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL {url!r} has no host")
    if any(c in url for c in " \r\n\t"):
        raise ValueError(f"URL {url!r} contains whitespace")
    tls = parts.scheme == "https"
    default = 443 if tls else 80
    name = f"[{host}]" if ":" in host else host
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    header = name if port in (None, default) else f"{name}:{port}"
    return Endpoint(url, tls, host, port or default, target, header)


def split_host_port(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); ValueError with the reason otherwise."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{address!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{address!r}: write an IPv6 address in brackets, e.g. [::1]:443")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{address!r}: port must be 1-65535")
    return host, int(port_text)
