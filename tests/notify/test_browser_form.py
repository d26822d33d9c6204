"""The subscription form in headless Chromium: it renders under its CSP, a real submit is allowed by
`form-action 'self'`, and the confirmation mail reaches the relay."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from agent.runtime.app import Agent
from tests.notify.helpers import config
from tests.peers.base import LOOPBACK, free_port, require_binary
from tests.peers.smtp import SmtpServer
from tests.statuspage.browser import FLAGS


class Cdp:
    """A minimal Chrome DevTools Protocol client over the page's WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws, self.n = ws, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        await self.ws.send_str(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive(timeout=30)).data)
            if msg.get("id") == self.n:
                assert "error" not in msg, msg
                result = msg["result"]
                assert isinstance(result, dict), msg
                return result

    async def text(self) -> str:
        r = await self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
        return str(r["result"].get("value", ""))


async def test_form_submits_in_chromium(tmp_path: Path) -> None:
    binary = require_binary("chromium", "chromium")
    smtp = SmtpServer().start()
    site_port, cdp_port = free_port(), free_port()
    agent = Agent(
        config(
            tmp_path, smtp.port, top=f"listen: {LOOPBACK}:{free_port()}\n", site=f", listen: '{LOOPBACK}:{site_port}'"
        )
    )
    await agent.start()
    proc = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--remote-debugging-port={cdp_port}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with http.get(f"http://{LOOPBACK}:{cdp_port}/json/list") as r:
                        pages = [p for p in await r.json() if p["type"] == "page"]
                    if pages:
                        break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "Chromium's DevTools endpoint did not come up"
                await asyncio.sleep(0.2)
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                cdp = Cdp(ws)
                await cdp.call("Page.enable")
                await cdp.call("Page.navigate", url=f"http://{LOOPBACK}:{site_port}/notify/subscribe?lang=fr")
                await _until_text(cdp, "Adresse courriel")
                # Fill and submit like a person would: the submit goes through the page's own CSP.
                await cdp.call(
                    "Runtime.evaluate",
                    expression=(
                        "document.querySelector('input[name=email]').value='marie@client.example';"
                        "document.querySelector('input[value=core]').checked=true;"
                        "document.querySelector('form.subscribe button').click(); true"
                    ),
                )
                await _until_text(cdp, "marie@client.example")
    finally:
        proc.kill()
        await proc.wait()
        await agent.stop()
    deadline = time.monotonic() + 20
    while not smtp.to("marie@client.example"):
        assert time.monotonic() < deadline, "no confirmation mail"
        await asyncio.sleep(0.1)
    smtp.stop()
    assert "Confirmez" in str(smtp.to("marie@client.example")[0]["Subject"])


async def _until_text(cdp: Cdp, needle: str) -> None:
    deadline = time.monotonic() + 30
    while needle not in (text := await cdp.text()):
        assert time.monotonic() < deadline, text
        await asyncio.sleep(0.2)
