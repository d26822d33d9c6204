"""Serve the rendered site with aiohttp: cache headers, ETags, CSP and nosniff; nothing outside the site.

The site folder is resolved on every request, so a render's symlink swap is picked up at once, and a file
is read through one open descriptor, so a response is never a mix of two generations.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
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
"""Assets change only with a new dialtone version; pages and feeds use the (short) page max-age."""
_NOT_FOUND = b"<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title><p>Not found.</p>"


def site_routes(root: Path, *, max_age: int = 30, prefix: str = "") -> list[web.RouteDef]:
    """GET (and HEAD) routes serving the site at `root` (a folder or the renderer's symlink)."""
    root = Path(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        return _serve(request, root, request.match_info["tail"], max_age, prefix)

    return [web.get(prefix + "/{tail:.*}", handle, allow_head=True)]


def site_app(root: Path, *, max_age: int = 30) -> web.Application:
    """An aiohttp application serving only the site (the lead mounts it on 127.0.0.1:8080)."""
    app = web.Application()
    app.add_routes(site_routes(root, max_age=max_age))
    return app


def _headers(extra: dict[str, str]) -> dict[str, str]:
    return {**SECURITY_HEADERS, **extra}


def _not_found() -> web.Response:
    headers = _headers({"Content-Type": TYPES[".html"], "Cache-Control": "no-store"})
    return web.Response(status=404, body=_NOT_FOUND, headers=headers)


def _serve(request: web.Request, root: Path, tail: str, max_age: int, prefix: str = "") -> web.StreamResponse:
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
            "Cache-Control": f"public, max-age={STATIC_MAX_AGE if static else max_age}",
            "ETag": etag,
        }
    )
    if parts[:1] == ["api"]:
        headers["Access-Control-Allow-Origin"] = "*"  # Statuspage's API is readable from any origin
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers)
