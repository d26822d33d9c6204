"""The shipped config/dialtone.yaml moved onto free loopback ports (and given extra keys), for tests and benches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.peers.base import LOOPBACK, free_port, free_port_both

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "config" / "dialtone.yaml"


def shipped_config(
    tmp: Path, demo: dict[str, Any] | None = None, intervals: dict[str, str] | None = None, voice_only: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Write the shipped config with every port free, paths absolute, and `demo` / `intervals` overrides."""
    ports = {9469: free_port(), 9470: free_port(), 9471: free_port_both(), 8080: free_port()}
    text = SHIPPED.read_text()
    for old, new in ports.items():
        text = text.replace(f"{LOOPBACK}:{old}", f"{LOOPBACK}:{new}")
    cfg = yaml.safe_load(text)
    cfg["demo"].update(port=ports[9470], sip_port=ports[9471], **(demo or {}))
    cfg["history"]["path"] = str(tmp / "dialtone.sqlite")
    cfg["site"].update(out=str(tmp / "site"), incidents=str(SHIPPED.parent / "incidents"))
    cfg["sla"]["exclusions_file"] = str(SHIPPED.parent / "exclusions.yaml")
    if voice_only:
        voice = {"sip_options", "sip_register", "sip_call", "pstn_call"}
        cfg["targets"] = [t for t in cfg["targets"] if t["kind"] in voice]
    for target in cfg["targets"]:
        if intervals and target["id"] in intervals:
            target["interval"] = intervals[target["id"]]
    path = tmp / "dialtone.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path, {"listen": ports[9469], "http": ports[9470], "sip": ports[9471], "site": ports[8080]}
