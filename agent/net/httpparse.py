"""Incremental HTTP/1.1 response parsing for the probe client: status line, headers, Content-Length,
chunked and read-until-close bodies, a byte cap, and clear errors for whatever a broken server sends."""

from __future__ import annotations

import asyncio
import re
import ssl

from agent.core.redact import redact
from agent.net.netconn import ProbeFailure, Trace
from agent.net.tlsinfo import describe_tls_error

MAX_HEAD = 64 * 1024
_STATUS = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: |$)")
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}\Z")
_HEAD, _LENGTH, _CLOSE, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILER = range(7)


class ResponseReader(asyncio.Protocol):
    """An incremental HTTP/1.1 response parser fed by the transport; bounded memory whatever is sent."""

    def __init__(
        self,
        done: asyncio.Future[None],
        trace: Trace,
        max_body: int,
        keep_body: bool = False,
        accept_truncated: bool = False,
        head_only: bool = False,
    ) -> None:
        self.done, self.trace, self.head_only = done, trace, head_only
        self.max_body, self.accept_truncated = max_body, accept_truncated
        self.buf = bytearray()
        self.state = _HEAD
        self.remaining = 0
        self.status, self.version, self.headers = 0, 0.0, dict[str, str]()
        self.body: bytearray | None = bytearray() if keep_body else None
        self.body_len = 0
        self.truncated = False
        self.failure: ProbeFailure | None = None
        self.got_bytes = False

    def data_received(self, data: bytes) -> None:
        """Feed bytes; the first one ends the processing phase."""
        if self.done.done():
            return
        if not self.got_bytes:
            self.got_bytes = True
            self.trace.step("transfer")
        try:
            self._feed(data)
        except ProbeFailure as failure:
            self._finish(failure)

    def eof_received(self) -> bool | None:
        """Let the transport close; connection_lost decides whether that was the body's end."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """A close ends a read-until-close body; anywhere else it is an error."""
        if self.done.done():
            return
        if isinstance(exc, ssl.SSLEOFError):
            exc = None  # many servers close TLS without close_notify; treat it as the TCP close it is
        if exc is None and self.state == _CLOSE:
            self._finish()
        elif exc is None:
            what = "before any response" if not self.got_bytes else "before the response was complete"
            self._finish(ProbeFailure("protocol_error", f"server closed the connection {what}"))
        elif isinstance(exc, ssl.SSLError):
            # TLS 1.3 servers reject a client certificate after the client's handshake is done.
            self._finish(ProbeFailure("tls_failed", describe_tls_error(exc)))
        else:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            self._finish(ProbeFailure("connection_reset", f"connection lost mid-response: {why}"))

    def _finish(self, failure: ProbeFailure | None = None) -> None:
        # A failure is stored, never set on the future, so an abandoned future logs nothing.
        self.failure = failure
        if not self.done.done():
            self.done.set_result(None)

    def _feed(self, data: bytes) -> None:
        if self.state in (_LENGTH, _CLOSE):
            self._take(data)  # the hot path: no copy into the buffer
            return
        self.buf += data
        # Each step consumes what it can and says whether it needs more bytes to go on.
        while not self.done.done() and self._step():
            pass

    def _step(self) -> bool:
        buf, state = self.buf, self.state
        if state == _HEAD:
            end = buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise ProbeFailure("protocol_error", f"response head larger than {MAX_HEAD} bytes")
                return False
            head = bytes(buf[:end])
            del buf[: end + 4]
            self._head(head)
            if self.state in (_LENGTH, _CLOSE):
                rest = bytes(buf)
                buf.clear()
                if rest:
                    self._take(rest)
                return False
            return True
        if state == _CHUNK_SIZE:
            return self._chunk_size()
        if state == _CHUNK_DATA:
            if not buf:
                return False
            n = min(self.remaining, len(buf))
            piece = bytes(buf[:n])
            del buf[:n]
            self.remaining -= n
            if self.remaining == 0:
                self.state = _CHUNK_CRLF
            self._body(piece)
            return True
        if state == _CHUNK_CRLF:
            if len(buf) < 2:
                return False
            if buf[:2] != b"\r\n":
                raise ProbeFailure("protocol_error", "chunk not followed by CRLF")
            del buf[:2]
            self.state = _CHUNK_SIZE
            return True
        # _TRAILER: skip trailer fields up to the empty line
        if buf[:2] == b"\r\n" or buf.find(b"\r\n\r\n") >= 0:
            self._finish()
        elif len(buf) > MAX_HEAD:
            raise ProbeFailure("protocol_error", "chunked trailer too long")
        return False

    def _chunk_size(self) -> bool:
        buf = self.buf
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > 4096:
                raise ProbeFailure("protocol_error", "chunk size line too long")
            return False
        size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
        del buf[: end + 2]
        if not _HEX.match(size_text):
            raise ProbeFailure("protocol_error", f"bad chunk size {size_text[:20]!r}")
        self.remaining = int(size_text, 16)
        self.state = _CHUNK_DATA if self.remaining else _TRAILER
        return True

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        m = _STATUS.match(lines[0])
        if m is None:
            raise ProbeFailure("protocol_error", f"not an HTTP/1.x response: {_quote(lines[0])}")
        status = int(m[3])
        if 100 <= status < 200 and status != 101:
            return  # an interim response (100 Continue, 103 Early Hints): the real one follows
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name[-1:] in (b" ", b"\t"):
                raise ProbeFailure("protocol_error", f"malformed header line {_quote(line)}")
            key, text = name.decode("latin-1").lower(), value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self.status, self.version, self.headers = status, int(m[1]) + int(m[2]) / 10, headers
        self._body_mode(status, headers)

    def _body_mode(self, status: int, headers: dict[str, str]) -> None:
        if self.head_only or status in (101, 204, 304):
            self._finish()
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.state = _CHUNK_SIZE
        elif "content-length" in headers:
            values = {v.strip() for v in headers["content-length"].split(",")}
            text = values.pop()
            if values or not text.isdigit():
                raise ProbeFailure("protocol_error", f"bad Content-Length {headers['content-length'][:40]!r}")
            length = int(text)
            if length > self.max_body and not self.accept_truncated:
                raise ProbeFailure(
                    "body_too_large", f"Content-Length {length} exceeds max_body_bytes ({self.max_body})"
                )
            self.remaining, self.state = length, _LENGTH
            if length == 0:
                self._finish()
        else:
            self.state = _CLOSE  # no length: the body runs until the server closes

    def _take(self, data: bytes) -> None:
        if self.state == _LENGTH:
            if len(data) >= self.remaining:
                piece, self.remaining = data[: self.remaining], 0
                self._body(piece)
                self._finish()
                return
            self.remaining -= len(data)
        self._body(data)

    def _body(self, piece: bytes) -> None:
        total = self.body_len + len(piece)
        if total <= self.max_body:
            self.body_len = total
            if self.body is not None:
                self.body += piece
            return
        keep = self.max_body - self.body_len
        if self.body is not None:
            self.body += piece[:keep]
        self.body_len = self.max_body
        if self.accept_truncated:
            self.truncated = True
            self._finish()
        else:
            self._finish(ProbeFailure("body_too_large", f"body exceeds max_body_bytes ({self.max_body})"))


def _quote(line: bytes, limit: int = 60) -> str:
    """A received line for an error message: secrets masked before it is cut, so no prefix of one shows."""
    return repr(redact(line.decode("latin-1"))[:limit])
