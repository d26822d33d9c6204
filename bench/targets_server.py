"""Fast local HTTP targets for benchmarks, in their own process so their CPU is not counted as ours.

python bench/targets_server.py PORT [PORT ...]   # prints READY when listening
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def main(ports: list[int]) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for port in ports:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096, reuse_address=True).start()
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main([int(p) for p in sys.argv[1:]]))
