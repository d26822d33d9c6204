"""The HTTP/1.1 response parser, fed directly: any split of the bytes gives the same result."""

from __future__ import annotations

import asyncio
import itertools
import ssl

from hypothesis import given
from hypothesis import strategies as st

from agent.net.httpparse import ResponseReader
from agent.net.netconn import Trace


def _feed(pieces: list[bytes], cap: int = 10_000, accept: bool = False, close: bool = False) -> ResponseReader:
    loop = asyncio.new_event_loop()
    try:
        reader = ResponseReader(loop.create_future(), Trace(), cap, keep_body=True, accept_truncated=accept)
        for piece in pieces:
            reader.data_received(piece)
        if close:
            reader.connection_lost(None)
        return reader
    finally:
        loop.close()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    out, pos = bytearray(), 0
    for size in [*sizes, len(body)]:
        piece = body[pos : pos + max(1, size)]
        if not piece:
            break
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
        pos += len(piece)
    return bytes(out) + b"0\r\nX-Trailer: t\r\n\r\n"


@given(st.binary(max_size=3000), st.lists(st.integers(1, 500), max_size=8), st.lists(st.integers(0, 10**6)))
def test_chunked_any_split(body: bytes, sizes: list[int], cuts: list[int]) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(body, sizes)
    reader = _feed(_split(raw, cuts))
    assert reader.done.done() and reader.failure is None
    assert reader.body is not None and bytes(reader.body) == body
    assert reader.body_len == len(body)


@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6)))
def test_content_length_any_split(body: bytes, cuts: list[int]) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body + b"trailing garbage"
    reader = _feed(_split(raw, cuts))
    assert reader.done.done() and reader.failure is None
    assert (reader.status, reader.version) == (200, 1.1)
    assert reader.body is not None and bytes(reader.body) == body


@given(st.binary(min_size=1, max_size=3000), st.integers(1, 2999), st.booleans())
def test_cap(body: bytes, cap: int, accept: bool) -> None:
    reader = _feed([b"HTTP/1.1 200 OK\r\n\r\n", body], cap, accept, close=True)
    assert reader.done.done()
    assert reader.body_len == min(cap, len(body))
    assert reader.body is not None and len(reader.body) <= cap
    if len(body) <= cap:
        assert reader.failure is None and not reader.truncated
    elif accept:
        assert reader.failure is None and reader.truncated
    else:
        assert reader.failure is not None and reader.failure.code == "body_too_large"


@given(st.binary(max_size=200))
def test_garbage_never_raises(data: bytes) -> None:
    reader = _feed([data], close=True)
    assert reader.done.done()
    if reader.failure is not None:
        assert reader.failure.code in {"protocol_error", "body_too_large"}


def test_tls_eof_without_close_notify_ends_a_close_delimited_body() -> None:
    loop = asyncio.new_event_loop()
    try:
        ok = ResponseReader(loop.create_future(), Trace(), 100)
        ok.data_received(b"HTTP/1.0 200 OK\r\n\r\nabc")
        ok.connection_lost(ssl.SSLEOFError())
        short = ResponseReader(loop.create_future(), Trace(), 100)
        short.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
        short.connection_lost(ssl.SSLEOFError())
    finally:
        loop.close()
    assert ok.failure is None and ok.body_len == 3
    assert short.failure is not None and short.failure.code == "protocol_error"


def test_no_body_statuses_and_headers() -> None:
    reader = _feed([b"HTTP/1.1 204 No Content\r\nX-A: 1\r\nx-a: 2\r\n\r\n"])
    assert reader.done.done() and reader.failure is None
    assert reader.headers["x-a"] == "1, 2"
    assert reader.body_len == 0
