"""Headless Chromium driven over the DevTools protocol: viewport, theme, locale and zone, then DOM queries.

The CLI modes of browser.py (screenshot, dump-dom) cannot set a locale or a colour scheme, nor measure where an
element lies, nor run axe-core in the page: this drives one real Chromium over its DevTools WebSocket instead.
Chromium is started on a free loopback port with a throwaway profile and killed by PID.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.peers.base import LOOPBACK, free_port, require_binary
from tests.statuspage.browser import FLAGS

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


class CdpError(RuntimeError):
    """Chromium answered a command with an error, or a page script threw."""


class Page:
    """One browser tab: send DevTools commands, evaluate scripts, load URLs."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events read meanwhile are kept)."""
        cid = next(self._ids)
        await self._ws.send_json({"id": cid, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self._ws.receive_json(), 60)
            if msg.get("id") == cid:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            # Anything else is an event (Page.enable sends them): not needed.

    async def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited, result as JSON)."""
        res = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in res:
            raise CdpError(f"script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    async def emulate(
        self, width: int, height: int, *, dark: bool = False, locale: str = "", zone: str = "", js: bool = True
    ) -> None:
        """Set the viewport (a phone below 500 px), the colour scheme, locale, time zone and scripting."""
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 500
        )
        scheme = {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}
        await self.send("Emulation.setEmulatedMedia", features=[scheme])
        if locale:  # a reader's browser: its Intl default and its preferred languages (navigator.languages)
            await self.send("Emulation.setLocaleOverride", locale=locale)
            agent = await self.eval("navigator.userAgent")
            await self.send("Emulation.setUserAgentOverride", userAgent=agent, acceptLanguage=locale)
        if zone:
            await self.send("Emulation.setTimezoneOverride", timezoneId=zone)
        await self.send("Emulation.setScriptExecutionDisabled", value=not js)

    async def load(self, url: str) -> None:
        """Navigate (following redirects) and wait until the new document and its deferred scripts are done."""
        await self.eval("window.__cdpOld = true")
        await self.send("Page.navigate", url=url)
        for _ in range(400):
            await asyncio.sleep(0.05)
            try:
                state = await self.eval(
                    "window.__cdpOld ? 'old' : document.readyState !== 'complete' ? 'loading'"
                    " : document.querySelector('meta[http-equiv=refresh]') ? 'redirect' : 'done'"
                )
                if state == "done":
                    return
                if state == "redirect":  # a merged incident's old address: load the page it points to
                    await self.load(await self.eval("document.querySelector('link[rel=canonical]').href"))
                    return
            except CdpError:
                continue  # the old document went away mid-evaluation
        raise TimeoutError(f"{url} did not finish loading")

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the loaded page: rule id, impact and the selectors of failing nodes."""
        if not AXE.exists():
            why = f"{AXE} missing: `make node` (npm ci) installs axe-core"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(why)
            pytest.skip(why)
        await self.eval(AXE.read_text(encoding="utf-8") + "; true")
        script = (
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
            "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))"
        )
        found: list[dict[str, Any]] = await self.eval(script)
        return found


@asynccontextmanager
async def browser(profile: Path) -> AsyncIterator[Page]:
    """A headless Chromium on a free loopback DevTools port, and its first tab; killed by PID on exit."""
    binary = require_binary("chromium", "chromium")
    port = free_port()
    profile.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--remote-debugging-port={port}",
        f"--remote-debugging-address={LOOPBACK}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            ws_url = await _page_socket(http, port)
            async with http.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                yield page
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _page_socket(http: aiohttp.ClientSession, port: int) -> str:
    """The DevTools WebSocket URL of the browser's first page, once it listens."""
    for _ in range(200):
        try:
            async with http.get(f"http://{LOOPBACK}:{port}/json/list") as resp:
                targets = json.loads(await resp.text())
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"Chromium's DevTools did not answer on port {port}")
