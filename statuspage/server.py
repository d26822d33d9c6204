"""Serve the rendered site with aiohttp: cache headers, ETags, gzip, CSP and nosniff; nothing outside the site.

The site folder is resolved on every request, so a render's symlink swap is picked up at once, and a file
is read through one open descriptor, so a response is never a mix of two generations.

Pages, feeds and the API are `no-cache`: a reader's copy is revalidated (a 304 by ETag, nearly free) on every
load, so a cache never adds its age to the page's; a transition is rendered at once, whatever the render
interval. Assets are cached for an hour. Text is gzipped for clients that accept it, off the event loop
(compressing a large page must not delay a probe), and kept per ETag, so each generation is compressed once.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections import OrderedDict
from pathlib import Path

from aiohttp import web

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml; charset=utf-8",
    ".ics": "text/calendar; charset=utf-8",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".webp": "image/webp",
}
STATIC_MAX_AGE = 3600
"""Assets change only with a new dialtone version; pages and feeds are revalidated on every load."""
PAGE_CACHE = "public, no-cache"
COMPRESSIBLE = frozenset(TYPES[x] for x in (".html", ".json", ".atom", ".ics", ".svg", ".css", ".js"))
GZIP_MIN_BYTES = 1024
GZIP_CACHE_ENTRIES = 256


class _GzipCache:
    """Compressed bodies by ETag (a file's identity), least recently used out first."""

    def __init__(self, limit: int = GZIP_CACHE_ENTRIES) -> None:
        self.limit = limit
        self._items: OrderedDict[str, bytes] = OrderedDict()

    async def get(self, etag: str, body: bytes) -> bytes:
        """The gzip of `body`, compressed in a worker thread the first time its ETag is seen."""
        found = self._items.get(etag)
        if found is None:
            found = await asyncio.to_thread(gzip.compress, body, 6, mtime=0)
            self._items[etag] = found
            if len(self._items) > self.limit:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(etag)
        return found


_NOT_FOUND = b"<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title><p>Not found.</p>"


def site_routes(root: Path, *, prefix: str = "") -> list[web.RouteDef]:
    """GET (and HEAD) routes serving the site at `root` (a folder or the renderer's symlink)."""
    root = Path(root)
    zipped = _GzipCache()

    async def handle(request: web.Request) -> web.StreamResponse:
        response = _serve(request, root, request.match_info["tail"], prefix)
        return await _compressed(request, response, zipped)

    return [web.get(prefix + "/{tail:.*}", handle, allow_head=True)]


def site_app(root: Path) -> web.Application:
    """An aiohttp application serving only the site (the lead mounts it on 127.0.0.1:8080)."""
    app = web.Application()
    app.add_routes(site_routes(root))
    return app


async def _compressed(request: web.Request, response: web.StreamResponse, zipped: _GzipCache) -> web.StreamResponse:
    """`response` gzipped when the client accepts gzip and the body is text worth compressing."""
    if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
        return response
    etag = response.headers.get("ETag", "")
    body = bytes(response.body)  # type: ignore[arg-type]
    if not etag or len(body) < GZIP_MIN_BYTES or response.headers.get("Content-Type") not in COMPRESSIBLE:
        return response
    if "gzip" not in request.headers.get("Accept-Encoding", "").lower():
        return response
    headers = dict(response.headers)
    headers.update({"Content-Encoding": "gzip", "ETag": etag[:-1] + '-gz"'})
    return web.Response(body=await zipped.get(etag, body), headers=headers)


def _headers(extra: dict[str, str]) -> dict[str, str]:
    return {**SECURITY_HEADERS, **extra}


def _not_found() -> web.Response:
    headers = _headers({"Content-Type": TYPES[".html"], "Cache-Control": "no-store"})
    return web.Response(status=404, body=_NOT_FOUND, headers=headers)


def _serve(request: web.Request, root: Path, tail: str, prefix: str = "") -> web.StreamResponse:
    if "\x00" in tail or "\\" in tail:
        return _not_found()
    parts = [p for p in tail.split("/") if p not in ("", ".")]
    if ".." in parts or any(p.startswith(".") for p in parts):
        return _not_found()
    base = os.path.realpath(root)
    path = os.path.join(base, *parts)
    if os.path.isdir(path):
        if tail and not tail.endswith("/"):
            # Built from the cleaned parts: "//static" must not become "//static/", a protocol-relative
            # URL that sends the browser to the host "static".
            location = prefix + "/" + "".join(p + "/" for p in parts)
            raise web.HTTPMovedPermanently(location=location, headers=SECURITY_HEADERS)
        path = os.path.join(path, "index.html")
    # Refuse anything a symlink inside the site could point at outside it.
    real = os.path.realpath(path)
    if not real.startswith(base + os.sep):
        return _not_found()
    try:
        fd = os.open(real, os.O_RDONLY)
    except OSError:
        return _not_found()
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        body = fh.read()
    # Unchanged files are hard-linked between generations, so the inode-based tag survives a re-render.
    etag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'
    suffix = os.path.splitext(real)[1].lower()
    static = parts[:1] == ["static"]
    headers = _headers(
        {
            "Content-Type": TYPES.get(suffix, "application/octet-stream"),
            "Cache-Control": f"public, max-age={STATIC_MAX_AGE}" if static else PAGE_CACHE,
            "ETag": etag,
            "Vary": "Accept-Encoding",
        }
    )
    if parts[:1] == ["api"]:
        headers["Access-Control-Allow-Origin"] = "*"  # Statuspage's API is readable from any origin
    # A client revalidating its gzipped copy sends the -gz tag: the same file either way.
    matches = request.headers.get("If-None-Match", "")
    if etag in matches or etag[:-1] + '-gz"' in matches:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers)
