"""Headless Chromium against a site served on 127.0.0.1: screenshots and the DOM after scripts ran."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from statuspage.server import site_app
from tests.peers.base import LOOPBACK, free_port, require_binary

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@asynccontextmanager
async def serve(root: Path) -> AsyncIterator[str]:
    """Serve `root` on a free loopback port; yields the base URL."""
    runner = web.AppRunner(site_app(root))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    try:
        yield f"http://{LOOPBACK}:{port}/"
    finally:
        await runner.cleanup()


async def chromium(profile: Path, *args: str, timeout: float = 60.0) -> bytes:
    """Run headless Chromium with a throwaway profile; returns its stdout. Killed by PID on timeout."""
    binary = require_binary("chromium", "chromium")
    profile.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return out


async def screenshot(profile: Path, url: str, png: Path, width: int, height: int, dark: bool = False) -> Path:
    """Save a screenshot of `url` at `width` x `height` CSS pixels."""
    extra = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []
    await chromium(profile, *extra, f"--window-size={width},{height}", f"--screenshot={png}", url)
    return png


async def dump_dom(profile: Path, url: str) -> str:
    """The DOM as the browser built it (scripts run), serialised."""
    out = await chromium(profile, "--virtual-time-budget=3000", "--dump-dom", url)
    return out.decode("utf-8", "replace")
