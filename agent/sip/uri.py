"""SIP URIs and name-addr values (RFC 3261 sections 19.1 and 20.10), enough for a user agent."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from agent.sip.syntax import SipParseError

_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$")


@dataclass(frozen=True, slots=True)
class SipUri:
    """sip: or sips: URI; `params` keeps the URI parameters (lower-case names) in order."""

    scheme: str
    host: str
    user: str = ""
    port: int | None = None
    params: tuple[tuple[str, str], ...] = ()
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse 'sip:user@host:port;param=x?hdr=y'; SipParseError when malformed."""
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips"):
            raise SipParseError(f"not a sip: or sips: URI: {text[:60]!r}")
        rest, _, headers = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            userinfo, hostpart = "", rest
        hostport, *raw_params = hostpart.split(";")
        m = _HOSTPORT.match(hostport)
        if not m:
            raise SipParseError(f"bad host in URI {text[:60]!r}")
        host = m.group(1)
        port = int(m.group(2)) if m.group(2) else None
        if port is not None and not 0 < port < 65536:
            raise SipParseError(f"bad port in URI {text[:60]!r}")
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                raise SipParseError(f"bad IPv6 address in URI {text[:60]!r}") from None
        params = []
        for p in raw_params:
            if p:
                k, _, v = p.partition("=")
                params.append((k.strip().lower(), v.strip()))
        user = userinfo.partition(":")[0]  # a password in a URI is never used (RFC 3261 19.1.1)
        return cls(scheme, host, user, port, tuple(params), headers)

    def param(self, name: str) -> str | None:
        """A URI parameter's value ('' for a flag such as lr), None when absent."""
        for k, v in self.params:
            if k == name:
                return v
        return None

    @property
    def host_ip(self) -> str:
        """The host without IPv6 brackets."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def is_ip(self) -> bool:
        """True when the host is an IPv4 or IPv6 literal."""
        try:
            ipaddress.ip_address(self.host_ip)
        except ValueError:
            return False
        return True

    def with_params(self, **params: str) -> SipUri:
        """A copy with these parameters set (replacing any of the same name)."""
        kept = tuple((k, v) for k, v in self.params if k not in params)
        return replace(self, params=kept + tuple(params.items()))

    def __str__(self) -> str:
        out = f"{self.scheme}:"
        if self.user:
            out += f"{self.user}@"
        out += self.host
        if self.port is not None:
            out += f":{self.port}"
        for k, v in self.params:
            out += f";{k}={v}" if v else f";{k}"
        if self.headers:
            out += f"?{self.headers}"
        return out


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters (tag, expires...)."""

    uri: str
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse '"Name" <sip:a@b>;tag=x' or 'sip:a@b;tag=x'."""
        text = text.strip()
        lt = text.find("<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise SipParseError(f"unclosed <...> in {text[:60]!r}")
            display, uri, rest = text[:lt].strip().strip('"'), text[lt + 1 : gt], text[gt + 1 :]
        else:
            # Without brackets, ';' parameters belong to the header, not the URI (RFC 3261 20.10).
            uri, _, rest = text.partition(";")
            rest = ";" + rest if rest else ""
            display = ""
        if not uri.strip():
            raise SipParseError(f"no URI in {text[:60]!r}")
        params: dict[str, str] = {}
        for p in rest.split(";"):
            if p.strip():
                k, _, v = p.partition("=")
                params[k.strip().lower()] = v.strip().strip('"')
        return cls(uri.strip(), display, params)

    @property
    def tag(self) -> str:
        """The tag parameter ('' when absent)."""
        return self.params.get("tag", "")

    def __str__(self) -> str:
        out = f'"{self.display}" <{self.uri}>' if self.display else f"<{self.uri}>"
        for k, v in self.params.items():
            out += f";{k}={v}" if v else f";{k}"
        return out


def tag_of(value: str) -> str:
    """The tag of a From or To header value ('' when absent or malformed)."""
    try:
        return NameAddr.parse(value).tag
    except SipParseError:
        return ""
