"""Serving (headers, ETag, no escape from the site) and the atomic swap of generations."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest

from statuspage.output import MARKER, AtomicSite, OutputError, OutputNotOwned
from statuspage.server import CSP
from tests.statuspage.browser import serve
from tests.statuspage.conftest import Rendered


async def test_headers_types_and_etag(rendered: Rendered) -> None:
    async with serve(rendered.out) as url, aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/html")
            assert r.headers["Content-Security-Policy"] == CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Cache-Control"] == "public, no-cache"
            etag = r.headers["ETag"]
            assert '<html lang="en"' in await r.text()
        async with http.get(url, headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with http.get(url + "fr/") as r:
            assert r.status == 200 and '<html lang="fr-CA"' in await r.text()
        async with http.get(url + "fr", allow_redirects=False) as r:
            assert r.status == 301 and r.headers["Location"].endswith("/fr/")
        async with http.get(url + "api/v2/summary.json") as r:
            assert r.headers["Content-Type"] == "application/json"
            assert r.headers["Access-Control-Allow-Origin"] == "*"
        async with http.get(url + "static/style.css") as r:
            assert r.headers["Cache-Control"] == "public, max-age=3600"
        async with http.get(url + "maintenance.ics") as r:
            assert r.headers["Content-Type"].startswith("text/calendar")


async def test_nothing_outside_the_site_is_served(rendered: Rendered, tmp_path: Path) -> None:
    secret = rendered.out.parent / "history.sqlite"
    assert secret.exists()
    link = rendered.out / "escape"
    if not link.is_symlink():
        link.symlink_to(secret)  # a link inside the site pointing outside it must not be followed
    async with serve(rendered.out) as url, aiohttp.ClientSession() as http:
        for path in ("../history.sqlite", "%2e%2e/history.sqlite", "escape", ".hidden", "nope.html"):
            async with http.get(url + path) as r:
                assert r.status == 404, path
                assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.post(url) as r:
            assert r.status == 405


def test_swap_is_a_symlink_and_unchanged_files_are_linked(tmp_path: Path) -> None:
    site = AtomicSite(tmp_path / "site")
    first = site.write({"index.html": b"one", "a/b.json": b"{}"})
    assert (tmp_path / "site").is_symlink() and first.written == 2
    old_inode = os.stat(tmp_path / "site" / "a/b.json").st_ino
    second = site.write({"index.html": b"two", "a/b.json": b"{}"})
    assert (second.written, second.linked) == (1, 1)
    assert (tmp_path / "site" / "index.html").read_bytes() == b"two"
    assert os.stat(tmp_path / "site" / "a/b.json").st_ino == old_inode
    for _ in range(3):
        site.write({"index.html": b"three"})
    gens = [p for p in tmp_path.iterdir() if p.name.startswith(".site.gen-")]
    assert len(gens) == 2  # the current generation and the one before it
    assert not (tmp_path / "site" / "a").exists()


def test_a_plain_folder_is_replaced_only_with_the_marker_and_bad_paths_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_bytes(b"old")
    with pytest.raises(OutputNotOwned, match="did not write"):
        AtomicSite(out).write({"index.html": b"new"})
    assert (out / "old.html").read_bytes() == b"old" and not out.is_symlink()
    (out / MARKER).write_bytes(b"")  # e.g. a copy of a site dialtone rendered
    AtomicSite(out).write({"index.html": b"new"})
    assert out.is_symlink() and not (out / "old.html").exists()
    with pytest.raises(OutputError, match="outside the site"):
        AtomicSite(out).write({"../evil": b"x"})
    with pytest.raises(OutputError, match="outside the site"):
        AtomicSite(out).write({MARKER: b"x"})
    assert (out / "index.html").read_bytes() == b"new"  # a failed render leaves the site in place


def test_prune_keeps_sibling_folders_without_the_marker(tmp_path: Path) -> None:
    stray = tmp_path / ".site.gen-notours"
    stray.mkdir()
    (stray / "data").write_text("keep")
    for i in range(4):
        AtomicSite(tmp_path / "site").write({"index.html": str(i).encode()})
    assert (stray / "data").read_text() == "keep"


def test_unwritable_parent_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create"):
        AtomicSite(blocker / "site").write({"index.html": b"x"})
