"""The site folder must not overlap anything else the agent keeps: it is public, and replaced at every render."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.runtime.config import Config


CONFIG_FILE = "the config file"


def overlaps(folder: Path, path: Path) -> bool:
    """True when `path` is `folder`, lies inside it, or contains it (compared as written and with links resolved)."""
    for f, p in ((os.path.abspath(folder), os.path.abspath(path)), (os.path.realpath(folder), os.path.realpath(path))):
        fp, pp = Path(f), Path(p)
        if fp == pp or fp in pp.parents or pp in fp.parents:
            return True
    return False


def _kept_paths(config: Config, config_file: Path | None) -> Iterator[tuple[str, Path]]:
    yield "history.path", Path(config.history.path)
    if config.mqtt is not None:
        yield "mqtt.outbox", config.mqtt.outbox
    if config.sla.exclusions_file is not None:
        yield "sla.exclusions_file", config.sla.exclusions_file
    if config.site is not None:
        yield "site.incidents", config.site.incidents
    if config_file is not None:
        yield CONFIG_FILE, config_file


def site_overlaps(config: Config, config_file: Path | None = None) -> list[str]:
    """One reason per path the site folder would swallow or be swallowed by; empty when it stands apart."""
    if config.site is None:
        return []
    out = config.site.out
    why = "the site folder is public and replaced at every render; give it a folder of its own"
    return [
        f"overlaps {name}{'' if name == CONFIG_FILE else f' ({path})'}: {why}"
        for name, path in _kept_paths(config, config_file)
        if overlaps(out, path)
    ]
