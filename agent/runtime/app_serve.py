"""The agent's listeners: its own endpoints (with the web.yml security) and the status page, all bounded.

Every listener shares one connection cap (agent.runtime.listen_guard), closes a connection that has not sent a whole
request's headers or sat idle for `web.idle_timeout`, limits header lines and bodies, and checks passwords in
a worker thread (agent.runtime.web_auth): nothing a listener receives may delay a probe.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.runtime.config import Config
from agent.runtime.listen_guard import ConnectionGuard, connection_cap, raise_nofile
from agent.runtime.listen_thread import ListenerThread
from agent.runtime.server import Endpoints, build_app
from agent.runtime.web import WebConfigError, WebFile, load_web_file, server_ssl_context
from agent.runtime.web_auth import CredentialChecker, basic_auth_middleware

log = logging.getLogger("dialtone")

MAX_HEADERS = 64
MAX_FIELD_SIZE = 8190


class StartupError(Exception):
    """The agent cannot start (unwritable history, port in use...); the CLI exits 2 with this message."""


class Listeners:
    """Binds listeners (a port in use is a StartupError), reloads web.yml, and closes them all."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.runners: list[web.AppRunner] = []
        self.servers: list[asyncio.AbstractServer] = []
        self.guard = ConnectionGuard(limit=128)
        self.site_guard = ConnectionGuard(limit=384)  # its counts are only touched by the page's own thread
        self.threads: list[ListenerThread] = []
        self.idle_timeout = 15.0
        self.checker: CredentialChecker | None = None
        self.login_counts: dict[str, int] = {}
        self.ssl_context: ssl.SSLContext | None = None
        self._bcrypt = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcrypt")

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return path if path.is_absolute() else self.config_dir / path

    def limit(self, config: Config, probes_in_flight: int) -> None:
        """Raise the descriptor limit and set the connection cap, keeping descriptors for the probes (at start,
        and again on reload, when the number of targets may have changed)."""
        soft, hard = raise_nofile()
        cap = connection_cap(config.web.max_connections, soft, probes_in_flight, sum(g.active for g in self.guards))
        # A quarter for the agent's own endpoints (scrapers, operators), the rest for the public page.
        self.guard.limit, self.site_guard.limit = max(8, cap // 4), max(8, cap - cap // 4)
        for guard in self.guards:  # one address never holds more than a quarter of a listener's cap
            guard.per_client = max(1, min(config.web.max_connections_per_client, guard.limit // 4))
        self.idle_timeout = config.web.idle_timeout
        log.info(
            "descriptors: soft limit %d (hard %d); listeners capped at %d connections (%d endpoints, %d status page)",
            soft,
            hard,
            cap,
            self.guard.limit,
            self.site_guard.limit,
        )

    @property
    def guards(self) -> list[ConnectionGuard]:
        """The connection guards of the endpoints and of the status page."""
        return [self.guard, self.site_guard]

    def _load(self, config: Config) -> WebFile | None:
        if config.web.config_file is None:
            return None
        return load_web_file(self.resolve(config.web.config_file))

    def _checker(self, web_file: WebFile | None) -> CredentialChecker | None:
        if web_file is None or not web_file.basic_auth_users:
            return None
        return CredentialChecker(web_file.basic_auth_users, self._bcrypt, self.login_counts)

    async def serve_endpoints(self, config: Config, endpoints: dict[str, Any]) -> None:
        """/metrics, /probe and /-/*, with TLS and basic auth when web.config_file says so."""
        cfg = config.web
        try:
            web_file = self._load(config)
            if web_file is not None and web_file.tls_server_config is not None:
                self.ssl_context = server_ssl_context(web_file.tls_server_config)
        except WebConfigError as exc:
            raise StartupError("; ".join(exc.errors)) from None
        self.checker = self._checker(web_file)
        ep = Endpoints(**endpoints, reload_enabled=cfg.enable_reload, probe_rate=cfg.probe_rate_limit)
        app = build_app(ep, [basic_auth_middleware(lambda: self.checker)])
        runner, server = await self.serve(config.listen, app, self.guard, self.ssl_context)
        self.runners.append(runner)
        self.servers.append(server)

    async def reload_web(self, config: Config) -> list[str]:
        """Reread web.yml: new credentials at once, new certificates for new connections. Errors, or []."""
        try:
            web_file = await asyncio.to_thread(self._load, config)
            checker = await asyncio.to_thread(self._checker, web_file)  # the dummy hash costs a bcrypt round
            tls = web_file.tls_server_config if web_file is not None else None
            if (tls is None) != (self.ssl_context is None):
                return ["web.yml: turning TLS on or off takes a restart; the running listener is kept"]
            if tls is not None and self.ssl_context is not None:
                server_ssl_context(tls)  # validates every file before the live context is touched
                self.ssl_context.load_cert_chain(tls.cert_file, tls.key_file)
                if tls.client_ca_file is not None:
                    self.ssl_context.load_verify_locations(tls.client_ca_file)
        except WebConfigError as exc:
            return exc.errors
        except (OSError, ssl.SSLError) as exc:
            return [f"web.yml: {exc}"]
        self.checker = checker
        return []

    async def serve_site(self, site: Any, routes: list[web.RouteDef] | None = None) -> None:
        """The rendered status page (plus `routes` first, e.g. the subscription form), as static files with cache
        and security headers, on its own thread and event loop (agent.runtime.listen_thread): what strangers send it
        never queues in front of a probe. `routes` must therefore touch the agent only thread-safely."""
        from statuspage.server import site_routes

        bound: list[tuple[web.AppRunner, asyncio.AbstractServer]] = []

        async def setup() -> None:
            app = web.Application(client_max_size=8192)  # the page takes no uploads; the form posts a few fields
            app.add_routes([*(routes or []), *site_routes(Path(site.out))])
            bound.append(await self.serve(site.listen, app, self.site_guard))

        async def cleanup() -> None:
            for runner, server in bound:
                server.close()
                await runner.cleanup()

        thread = ListenerThread("status-page")
        await thread.start(setup, cleanup)
        self.threads.append(thread)

    async def serve(
        self, listen: str, app: web.Application, guard: ConnectionGuard, ssl_context: ssl.SSLContext | None = None
    ) -> tuple[web.AppRunner, asyncio.AbstractServer]:
        """Bind `app` on `listen` (host:port) on the running loop, under `guard`'s caps and the timeouts."""
        host, _, port = listen.rpartition(":")
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self.idle_timeout,
            max_headers=MAX_HEADERS,
            max_field_size=MAX_FIELD_SIZE,
            max_line_size=MAX_FIELD_SIZE,
        )
        await runner.setup()
        assert runner.server is not None
        try:
            # aiohttp's keep-alive timer also runs from the moment a connection opens until a request's
            # headers are complete, so it is the header timeout as well as the idle one.
            server = await asyncio.get_running_loop().create_server(
                guard.factory(runner.server),
                host.strip("[]"),
                int(port),
                reuse_address=True,
                ssl=ssl_context,
                ssl_handshake_timeout=self.idle_timeout if ssl_context else None,
                backlog=512,
            )
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
        return runner, server

    async def close(self) -> None:
        """Close every listener."""
        for thread in self.threads:
            await thread.close()
        self.threads.clear()
        for server in self.servers:
            server.close()
        self.servers.clear()
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
        self._bcrypt.shutdown(wait=False, cancel_futures=True)
