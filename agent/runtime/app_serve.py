"""The agent's listeners: its own endpoints (with the web.yml security) and the status page."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.runtime.config import Config
from agent.runtime.server import Endpoints, build_app
from agent.runtime.web import WebConfigError, basic_auth_middleware, load_web_file, server_ssl_context


class StartupError(Exception):
    """The agent cannot start (unwritable history, port in use...); the CLI exits 2 with this message."""


class Listeners:
    """Binds listeners (a port in use is a StartupError) and closes them all."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.runners: list[web.AppRunner] = []

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return path if path.is_absolute() else self.config_dir / path

    async def serve_endpoints(self, config: Config, endpoints: dict[str, Any]) -> None:
        """/metrics, /probe and /-/*, with TLS and basic auth when web.config_file says so."""
        cfg = config.web
        ssl_context, middlewares = None, []
        if cfg.config_file is not None:
            try:
                web_file = load_web_file(self.resolve(cfg.config_file))
                if web_file.tls_server_config is not None:
                    ssl_context = server_ssl_context(web_file.tls_server_config)
            except WebConfigError as exc:
                raise StartupError("; ".join(exc.errors)) from None
            if web_file.basic_auth_users:
                middlewares.append(basic_auth_middleware(web_file.basic_auth_users))
        ep = Endpoints(**endpoints, reload_enabled=cfg.enable_reload, probe_rate=cfg.probe_rate_limit)
        await self.serve(config.listen, build_app(ep, middlewares), ssl_context)

    async def serve_site(self, site: Any, routes: list[web.RouteDef] | None = None) -> None:
        """The rendered status page, as static files with cache and security headers (plus `routes` first)."""
        from statuspage.server import site_routes

        app = web.Application(client_max_size=8192)  # the page takes no uploads; the form posts a few fields
        app.add_routes([*(routes or []), *site_routes(Path(site.out))])
        await self.serve(site.listen, app)

    async def serve(self, listen: str, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        """Bind `app` on `listen` (host:port)."""
        host, _, port = listen.rpartition(":")
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host.strip("[]"), int(port), reuse_address=True, ssl_context=ssl_context).start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
        self.runners.append(runner)

    async def close(self) -> None:
        """Close every listener."""
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
