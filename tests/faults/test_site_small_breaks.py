"""Issue 16, break 12, against the status page a real `dialtone run` renders and serves: `GET //static` is no
open redirect, an SVG logo is published without its scripts, and inline code is escaped once."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.faults.agent_process import secured_config
from tests.faults.test_history_and_signals import run_agent, target_server
from tests.peers.base import free_port, wait_until

EVIL_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="32" height="32"
     onload="alert('svg-onload')">
  <script>alert('svg-script')</script>
  <foreignObject width="10" height="10"><body xmlns="http://www.w3.org/1999/xhtml">x</body></foreignObject>
  <a xlink:href="javascript:alert('svg-href')"><circle cx="16" cy="16" r="12" fill="#0a7"/></a>
</svg>
"""


def _incident(folder: Path) -> None:
    at = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (folder / "inline-code.md").write_text(f"""---
title: Registrations refused
components: [portal]
status: resolved
impact: minor
started_at: {at}
updates:
  - at: {at}
    status: resolved
    body: Fixed the rule `deny <all> & log`.
---
The filter `a<b && c>d` was wrong.
""")


def _get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    finally:
        conn.close()


def _served(port: int) -> bool:
    try:
        return _get(port, "/index.html")[0] == 200
    except OSError:  # the page's listener binds after the endpoints' one
        return False


def test_open_redirect_svg_scripts_and_double_escaping(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    _incident(tmp_path / "inc")
    (tmp_path / "logo.svg").write_text(EVIL_SVG)
    out = tmp_path / "site"
    with target_server() as port:
        listen, site_port = free_port(), free_port()
        cfg = secured_config(tmp_path, port, listen)
        cfg.write_text(
            cfg.read_text()
            + f"""
site:
  out: {out}
  listen: 127.0.0.1:{site_port}
  incidents: {tmp_path / "inc"}
  branding: {{name: Test Voice, logo: {tmp_path / "logo.svg"}}}
"""
        )
        with run_agent(cfg, listen) as proc:
            wait_until(lambda: _served(site_port), timeout=30, what="the rendered site")
            status, headers, _ = _get(site_port, "//static")
            svg_status, _, svg = _get(site_port, "/static/logo.svg")
            assert proc.poll() is None
        pages = "\n".join(p.read_text(errors="replace") for p in out.resolve().rglob("*.html"))
    assert status == 301 and headers["location"] == "/static/", (status, headers.get("location"))
    assert svg_status == 200 and "<circle" in svg
    for bad in ("<script", "onload", "javascript:", "foreignObject", "alert("):
        assert bad not in svg, f"{bad!r} survived in the published logo:\n{svg}"
    assert "<code>deny &lt;all&gt; &amp; log</code>" in pages
    assert "<code>a&lt;b &amp;&amp; c&gt;d</code>" in pages
    assert "&amp;lt;" not in pages and "&amp;amp;" not in pages
