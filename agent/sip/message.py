"""SIP message parsing and building (RFC 3261 section 7), with stream framing for TCP and TLS.

The parser raises `SipParseError` for anything malformed and never any other exception: the transport
drops such datagrams (UDP) or closes the connection (TCP) and the probe reports `bad_response`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from agent.sip.syntax import SipParseError as SipParseError  # raised by the parsers here; defined apart

MAX_MESSAGE = 65_535
"""Default size limit of one message (head and body), as Kamailio's BUF_SIZE."""


COMPACT = {
    "a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
    "e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
    "l": "content-length", "m": "contact", "o": "event", "r": "refer-to", "s": "subject", "t": "to",
    "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
}  # fmt: skip
"""RFC 3261 section 7.3.3 compact forms (and later RFCs'), to their full lower-case names."""

_SPELLING = {
    "call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version", "rack": "RAck", "rseq": "RSeq", "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}  # fmt: skip

# Headers that may be combined into one line with commas (RFC 3261 section 7.3.1) and that we read as lists.
_LIST_HEADERS = frozenset({"via", "route", "record-route", "contact", "allow", "supported", "require"})
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_REQUEST_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0$")
_STATUS_LINE = re.compile(r"^SIP/2\.0 ([1-6][0-9][0-9]) ?(.*)$")
_CSEQ = re.compile(r"^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$")
_REQUIRED = ("via", "from", "to", "call-id", "cseq")


_HEADER_KEYS: dict[str, str] = {}


def header_key(name: str) -> str:
    """Lower-case full name of a header: compact forms are expanded ('i' -> 'call-id')."""
    key = _HEADER_KEYS.get(name)
    if key is None:
        low = name.strip().lower()
        key = COMPACT.get(low, low)
        if len(_HEADER_KEYS) < 1024:  # the few spellings in use, bounded against junk
            _HEADER_KEYS[name] = key
    return key


def canonical_name(key: str) -> str:
    """The conventional spelling of a lower-case header name ('call-id' -> 'Call-ID')."""
    name = _SPELLING.get(key)
    if name is None:
        name = "-".join(p[:1].upper() + p[1:] for p in key.split("-"))
        if len(_SPELLING) < 512:  # remember spellings of the few names we build, bounded against junk
            _SPELLING[key] = name
    return name


def split_commas(value: str) -> list[str]:
    """Split a combined header value at commas outside quotes and <...>."""
    if "," not in value:
        return [value.strip()] if value.strip() else []
    out: list[str] = []
    depth, quoted, escaped, start = 0, False, False, 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            out.append(value[start:i].strip())
            start = i + 1
    out.append(value[start:].strip())
    return [p for p in out if p]


@dataclass(slots=True)
class SipMessage:
    """A request (method and uri set) or a response (status set); headers keep their order."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return self.status == 0

    def get(self, name: str, default: str = "") -> str:
        """The first value of a header (any spelling, compact or full), or `default`."""
        key = header_key(name)
        for k, v in self.headers:
            if k == key:
                if key in _LIST_HEADERS and v:
                    parts = split_commas(v)
                    return parts[0] if parts else ""  # a value of bare commas (',') is empty, not an error
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of a header in order; list headers are also split at their commas."""
        key = header_key(name)
        values = [v for k, v in self.headers if k == key]
        if key in _LIST_HEADERS:
            return [p for v in values for p in split_commas(v)]
        return values

    def set(self, name: str, value: str) -> None:
        """Replace every occurrence of a header with one value (added at the end if absent)."""
        key = header_key(name)
        for i, (k, _) in enumerate(self.headers):
            if k == key:
                self.headers[i] = (key, value)
                self.headers[i + 1 :] = [(k2, v2) for k2, v2 in self.headers[i + 1 :] if k2 != key]
                return
        self.headers.append((key, value))

    def add(self, name: str, value: str) -> None:
        """Append a header value."""
        self.headers.append((header_key(name), value))

    def remove(self, name: str) -> None:
        """Remove every occurrence of a header."""
        key = header_key(name)
        self.headers = [(k, v) for k, v in self.headers if k != key]

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) of the CSeq header; validated at parse time."""
        return parse_cseq(self.get("cseq"))

    @property
    def branch(self) -> str:
        """The branch parameter of the top Via ('' if none)."""
        for key, via in self.headers:
            if key == "via":
                # get("via")'s first value: the part before any comma outside quotes and <...>.
                via = (split_commas(via) or [""])[0] if "," in via or not via else via.strip()
                break
        else:
            return ""
        # Fast path for the usual lower-case ';branch=' when no earlier parameter could be a branch too.
        low = via.lower()
        at = low.find(";branch=")
        if at >= 0 and "branch" not in low[:at]:
            end = via.find(";", at + 8)
            return (via[at + 8 :] if end < 0 else via[at + 8 : end]).strip()
        return via_param(via, "branch")

    def first_line(self) -> str:
        """The request line or status line."""
        if self.is_request:
            return f"{self.method} {self.uri} SIP/2.0"
        return f"SIP/2.0 {self.status} {self.reason}"

    def to_bytes(self) -> bytes:
        """Serialise, setting Content-Length from the body."""
        lines = [self.first_line()]
        lines.extend(f"{canonical_name(k)}: {v}" for k, v in self.headers if k != "content-length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    def dump(self) -> str:
        """A log-safe text form: credentials are redacted, the body is summarised."""
        return redact(self.to_bytes().decode(errors="replace"))

    def __str__(self) -> str:
        return self.dump()


_SECRET_HEADERS = re.compile(r"^((?:proxy-)?authorization\s*:).*$", re.IGNORECASE | re.MULTILINE)


def redact(text: str) -> str:
    """Replace the value of every Authorization and Proxy-Authorization header line with '<redacted>'."""
    return _SECRET_HEADERS.sub(r"\1 <redacted>", text)


_CSEQS: dict[str, tuple[int, str]] = {}
"""Valid CSeq values parsed before: a probe sends (and is answered) the same few."""


def parse_cseq(value: str) -> tuple[int, str]:
    """'314 INVITE' -> (314, 'INVITE')."""
    known = _CSEQS.get(value)
    if known is not None:
        return known
    m = _CSEQ.match(value.strip())
    if not m or int(m.group(1)) >= 2**31:
        raise SipParseError(f"malformed CSeq {value[:40]!r}")
    parsed = int(m.group(1)), m.group(2)
    if len(_CSEQS) < 256:  # bounded against junk
        _CSEQS[value] = parsed
    return parsed


def via_param(via: str, name: str) -> str:
    """A parameter of one Via value ('' when absent or valueless)."""
    for part in via.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name:
            return val.strip()
    return ""


def parse(data: bytes, *, max_size: int = MAX_MESSAGE, stream: bool = False) -> SipMessage:
    """Parse one whole message; on a stream (TCP/TLS) Content-Length is mandatory and exact."""
    if len(data) > max_size:
        raise SipParseError(f"message of {len(data)} bytes exceeds the {max_size}-byte limit")
    head_end = data.find(b"\r\n\r\n")
    sep = 4
    if head_end < 0:
        head_end, sep = data.find(b"\n\n"), 2
        if head_end < 0:
            raise SipParseError("no blank line after the headers")
    try:
        head = data[:head_end].decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    msg, first = _parse_head(head)
    body = data[head_end + sep :]
    length_text = first.get("content-length", "")
    if length_text:
        if not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 9:  # not '²' or '١'
            raise SipParseError(f"malformed Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > len(body) or (stream and length != len(body)):
            raise SipParseError(f"Content-Length {length} does not match the {len(body)}-byte body")
        body = body[:length]  # RFC 3261 18.3: extra bytes in a datagram are discarded
    elif stream:
        raise SipParseError("Content-Length is required on a stream transport")
    msg.body = body
    return msg


_KEYS: dict[str, str] = {}
"""Header names as they appeared on the wire (validated) to their keys: most messages repeat a few spellings."""


def _parse_head(head: str) -> tuple[SipMessage, dict[str, str]]:
    """The message without its body, and the first value of each header (for the checks and framing)."""
    text = head.replace("\r\n", "\n")
    if not text or text[0].isspace() or "\n\n" in text or "\n " in text or "\n\t" in text:
        lines = _unfold(text.split("\n"))  # leading blank lines, folding or blank lines: the careful path
        if not lines:
            raise SipParseError("empty message")
    else:
        lines = text.split("\n")  # the usual message: one header per line
    msg = _parse_first_line(lines[0])
    headers = msg.headers
    append = headers.append
    keys = _KEYS
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = keys.get(name)
        if key is None or not colon:
            if not colon:
                raise SipParseError(f"malformed header line {line[:60]!r}")
            stripped = name.strip()
            if not _TOKEN.match(stripped):
                raise SipParseError(f"malformed header line {line[:60]!r}")
            key = header_key(stripped)
            if len(keys) < 1024:  # bounded against junk names
                keys[name] = key
        append((key, value.strip()))
    first = dict(reversed(headers))  # the first value of each header: it is the one set last
    via = first.get("via", "")
    if not (via and first.get("from") and first.get("to") and first.get("call-id") and first.get("cseq")) or (
        "," in via and not split_commas(via)  # values are stripped: without a comma a Via is not empty
    ):
        for key in _REQUIRED:
            value = first.get(key, "")
            if not value or (key in _LIST_HEADERS and not split_commas(value)):
                raise SipParseError(f"missing {canonical_name(key)} header")
    _, method = parse_cseq(first["cseq"])
    if msg.is_request and method != msg.method:
        raise SipParseError(f"CSeq method {method} does not match request method {msg.method}")
    return msg, first


def _unfold(lines: Iterable[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and len(out) > 1:
            out[-1] += " " + line.strip()  # RFC 3261 7.3.1: a folded line continues the previous header
        elif line.strip() or out:
            if not line.strip():
                raise SipParseError("blank line inside the headers")
            if line[:1] in (" ", "\t"):
                raise SipParseError("continuation line without a header")
            out.append(line)
    return out


_FIRST_LINES: dict[str, tuple[str, str, int, str]] = {}
"""Valid first lines to (method, uri, status, reason): a server answers with the same few status lines."""


def _parse_first_line(line: str) -> SipMessage:
    known = _FIRST_LINES.get(line)
    if known is not None:
        return SipMessage(known[0], known[1], known[2], known[3])
    if line.startswith("SIP/"):
        m = _STATUS_LINE.match(line)
        if not m:
            raise SipParseError(f"malformed status line {line[:60]!r}")
        msg = SipMessage(status=int(m.group(1)), reason=m.group(2).strip())
    else:
        m = _REQUEST_LINE.match(line)
        if not m:
            raise SipParseError(f"malformed request line {line[:60]!r}")
        msg = SipMessage(method=m.group(1), uri=m.group(2))
    if msg.status and len(_FIRST_LINES) < 256:  # status lines only (request URIs vary), bounded against junk
        _FIRST_LINES[line] = (msg.method, msg.uri, msg.status, msg.reason)
    return msg


class StreamFramer:
    """Reassembles SIP messages from a TCP/TLS byte stream: fragments, several messages per read."""

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self.max_size = max_size
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[SipMessage]:
        """Add bytes; yield each complete message. SipParseError means the stream is unusable."""
        self._buf += data
        while True:
            # RFC 5626 keep-alives (CRLF) between messages are skipped.
            while self._buf[:2] == b"\r\n":
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > self.max_size:
                    raise SipParseError(f"headers exceed the {self.max_size}-byte limit")
                return
            length = _content_length(bytes(self._buf[:end]))
            total = end + 4 + length
            if total > self.max_size:
                raise SipParseError(f"message of {total} bytes exceeds the {self.max_size}-byte limit")
            if len(self._buf) < total:
                return
            chunk = bytes(self._buf[:total])
            del self._buf[:total]
            yield parse(chunk, max_size=self.max_size, stream=True)


_CL_LINE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def _content_length(head: bytes) -> int:
    m = _CL_LINE.search(head)
    if not m:
        raise SipParseError("Content-Length is required on a stream transport")
    if not m.group(1).isdigit() or len(m.group(1)) > 9:
        raise SipParseError(f"malformed Content-Length {m.group(1)[:20]!r}")
    return int(m.group(1))
