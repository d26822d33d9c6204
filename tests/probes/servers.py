"""Real local servers for the HTTP and TCP probe tests: a well-behaved aiohttp app, raw asyncio servers that
misbehave on purpose, and certificates made at test time with the openssl CLI. Everything binds loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

LOOPBACK = "127.0.0.1"
KEY_PASSWORD = "correct horse"

# --- certificates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """Paths of everything the TLS tests need."""

    ca: Path
    server_cert: Path
    server_key: Path
    expired_cert: Path
    self_signed_cert: Path
    self_signed_key: Path
    client_cert: Path
    client_key_encrypted: Path
    client_key_password_file: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ec_key_req(cwd: Path, name: str, cn: str) -> None:
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=cwd,
    )  # fmt: skip


def _sign(cwd: Path, name: str, out: str, days: str, ext: str) -> None:
    (cwd / f"{out}.ext").write_text(ext + "\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", days,
        "-out", f"{out}.pem", "-extfile", f"{out}.ext", cwd=cwd,
    )  # fmt: skip


def make_certs(cwd: Path) -> Certs:
    """A private CA, a server cert for 127.0.0.1/::1/localhost, an expired one, a self-signed one, and a
    client cert whose key is encrypted with KEY_PASSWORD. EC keys, because RSA generation is slow."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3", "-subj", "/CN=dialtone test CA", cwd=cwd,
    )  # fmt: skip
    san = "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
    _ec_key_req(cwd, "server", "localhost")
    _sign(cwd, "server", "server", "2", san)
    _sign(cwd, "server", "expired", "-1", san)  # notAfter one day before notBefore: already expired
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=localhost",
        "-addext", san, cwd=cwd,
    )  # fmt: skip
    _ec_key_req(cwd, "client", "dialtone probe")
    _sign(cwd, "client", "client", "2", "extendedKeyUsage=clientAuth")
    _openssl(
        "pkey", "-in", "client.key", "-out", "client.enc.key", "-aes-256-cbc",
        "-passout", f"pass:{KEY_PASSWORD}", cwd=cwd,
    )  # fmt: skip
    (cwd / "client.pass").write_text(KEY_PASSWORD + "\n")
    return Certs(
        ca=cwd / "ca.pem", server_cert=cwd / "server.pem", server_key=cwd / "server.key",
        expired_cert=cwd / "expired.pem", self_signed_cert=cwd / "self.pem", self_signed_key=cwd / "self.key",
        client_cert=cwd / "client.pem", client_key_encrypted=cwd / "client.enc.key",
        client_key_password_file=cwd / "client.pass",
    )  # fmt: skip


def openssl_not_after(cert: Path) -> float:
    """notAfter as unix seconds, read by the openssl CLI (the reference for our DER reader)."""
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], check=True, capture_output=True, text=True
    ).stdout
    return float(ssl.cert_time_to_seconds(out.strip().split("=", 1)[1]))


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server-side context; with `client_ca` it requires a client certificate signed by that CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        ctx.load_verify_locations(cafile=str(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


# --- a well-behaved aiohttp app ----------------------------------------------------------------------------


async def _stream(request: web.Request, total: int, chunk: int = 64 * 1024) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < total:
            n = min(chunk, total - sent)
            await resp.write(b"x" * n)
            sent += n
        await resp.write_eof()
    return resp


def make_app() -> web.Application:
    """Routes for status codes, redirects, chunked and huge bodies, auth and method echo."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello dialtone\n")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound("/hello" if n <= 1 else f"/redirect/{n - 1}")

    async def to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def chunked(request: web.Request) -> web.StreamResponse:
        return await _stream(request, int(request.query.get("n", "5000")), chunk=1000)

    async def huge(request: web.Request) -> web.StreamResponse:
        return await _stream(request, 100 * 1024 * 1024)

    async def declared_huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(100 * 1024 * 1024)})
        return await _stream_prepared(request, resp)

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        auth = request.headers.get("Authorization", "-")
        custom = request.headers.get("X-Probe", "-")
        return web.Response(text=f"method={request.method} auth={auth} x-probe={custom} body={body}")

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_route("*", "/to", to)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/huge", huge)
    app.router.add_get("/declared-huge", declared_huge)
    app.router.add_route("*", "/echo", echo)
    return app


async def _stream_prepared(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    await resp.prepare(request)
    with contextlib.suppress(ConnectionError):
        await resp.write(b"x" * 1024)
    return resp


@contextlib.asynccontextmanager
async def aiohttp_server(host: str = LOOPBACK, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve make_app() on a free port of `host`; yields the port."""
    runner = web.AppRunner(make_app(), handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = int(sock.getsockname()[1])
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    try:
        yield port
    finally:
        await runner.cleanup()


# --- raw servers that misbehave -----------------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(
    handler: Handler, host: str = LOOPBACK, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """A raw asyncio TCP server running `handler` per connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError, OSError):
            pass
        finally:
            writer.transport.abort()
            tasks.discard(task)

    server = await asyncio.start_server(wrapped, host, 0, ssl=ssl_context)
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """Read a request head (the probes send no body on GET)."""
    return await reader.readuntil(b"\r\n\r\n")


def reply(raw: bytes, then: str = "close") -> Handler:
    """A handler that reads the request, writes `raw`, then closes, resets, or stays silent."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(raw)
        await writer.drain()
        if then == "reset":
            await asyncio.sleep(0.05)  # let the client read what was sent before the RST
            reset(writer)
        elif then == "hang":
            await asyncio.sleep(3600)
        else:
            writer.close()

    return handle


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, read whatever comes, never answer."""
    while await reader.read(4096):
        pass
    await asyncio.sleep(3600)


async def slow_loris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one byte at a time, slowly, forever."""
    await read_head(reader)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def backlog_full_port() -> Iterator[int]:
    """A port whose accept queue is full, so a further SYN is dropped and connect() hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect((LOOPBACK, port))
        fillers.append(s)
    try:
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()
