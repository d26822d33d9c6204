"""The site folder must not overlap anything else the agent keeps: it is public, and replaced at every render."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CONFIG_FILE = "the config file"


def overlaps(folder: Path, path: Path) -> bool:
    """True when `path` is `folder`, lies inside it, or contains it (compared as written and with links resolved)."""
    for f, p in ((os.path.abspath(folder), os.path.abspath(path)), (os.path.realpath(folder), os.path.realpath(path))):
        fp, pp = Path(f), Path(p)
        if fp == pp or fp in pp.parents or pp in fp.parents:
            return True
    return False


def site_overlaps(out: Path | None, kept: Iterable[tuple[str, Path]]) -> list[str]:
    """One reason per kept path (name, path) the site folder `out` would swallow or be swallowed by.

    Empty when it stands apart, or when there is no site. `Config.kept_paths()` names what the agent keeps.
    """
    if out is None:
        return []
    why = "the site folder is public and replaced at every render; give it a folder of its own"
    return [
        f"overlaps {name}{'' if name == CONFIG_FILE else f' ({path})'}: {why}"
        for name, path in kept
        if overlaps(out, path)
    ]
