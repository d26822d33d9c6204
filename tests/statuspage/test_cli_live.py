"""`dialtone render` from a config with secrets, and the live SiteRenderer (debounced, off the loop)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from agent.cli.entry import main
from agent.core.model import Transition
from statuspage.site import StatusSite
from tests.fakeclock import FakeClock
from tests.statuspage.fixture import COMPONENTS, NOW, SECRET, site_config, write_history, write_incidents

CONFIG = """
history:
  path: {db}
site:
  out: {out}
  incidents: {incidents}
  branding:
    name: Example Voice
components:
  - {{id: core, name: Core call processing, group: Voice, tier: core}}
  - {{id: api, name: Public API, group: Portals, tier: supporting}}
targets:
  - id: api-http
    component: api
    kind: http
    http:
      url: http://127.0.0.1:9/health
      basic_auth: {{username: probe-user-7731, password: {secret}}}
"""


def test_render_command_writes_a_site_without_secrets(tmp_path: Path, capsys) -> None:
    db = write_history(tmp_path / "h.sqlite")
    cfg = tmp_path / "dialtone.yaml"
    out = tmp_path / "public"
    cfg.write_text(
        CONFIG.format(db=db, out=tmp_path / "unused", incidents=write_incidents(tmp_path / "inc"), secret=SECRET)
    )
    assert main(["render", "-c", str(cfg), "--out", str(out), "--now", "2026-03-16T18:00:00Z"]) == 0
    assert "rendered" in capsys.readouterr().out
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 20
    for p in files:
        data = p.read_bytes()
        assert SECRET.encode() not in data, p
        assert b"probe-user-7731" not in data, p  # no target config at all leaks into the page
    summary = json.loads((out / "api/v2/summary.json").read_bytes())
    assert {c["id"] for c in summary["components"] if not c["group"]} == {"core", "api"}
    assert not (tmp_path / "unused").exists()


def test_render_command_reports_bad_input(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "dialtone.yaml"
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "bad.md").write_text("---\ntitle: x\nstatus: exploded\nupdates: []\n---\n")
    cfg.write_text(f"history: {{path: {tmp_path / 'none.sqlite'}}}\nsite: {{incidents: {inc}}}\n")
    assert main(["render", "-c", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.md" in err and "status" in err
    assert main(["render", "-c", str(cfg), "--now", "yesterday"]) == 2


async def test_live_renderer_debounces_transitions_and_renders_off_the_loop(tmp_path: Path) -> None:
    db = write_history(tmp_path / "h.sqlite")
    cfg = site_config(tmp_path / "site", write_incidents(tmp_path / "inc"), render_interval=3600)
    clock = FakeClock(NOW)
    site = StatusSite(cfg, COMPONENTS, db)
    live = site.live(clock=clock, debounce=0.5)
    try:
        await live.start()
        for _ in range(100):  # the first render happens at start
            if live.renders:
                break
            await asyncio.sleep(0.02)
        assert live.renders == 1
        first = os.readlink(tmp_path / "site")
        for _ in range(5):
            live.on_transition(Transition("component", "core", NOW, "operational", "major_outage", "t", "core"))
        live.on_transition(Transition("target", "x", NOW, "up", "down", "t", "core"))
        await clock.advance(0.5)
        for _ in range(200):
            if live.renders == 2:
                break
            await asyncio.sleep(0.02)
        assert live.renders == 2  # five requests inside the debounce made one render
        assert os.readlink(tmp_path / "site") != first
        await clock.advance(3600)
        for _ in range(200):
            if live.renders == 3:
                break
            await asyncio.sleep(0.02)
        assert live.renders == 3 and live.errors == 0  # the interval render
    finally:
        await live.stop()
        site.close()
