"""A copy of dialtone and its runtime dependencies that an unprivileged child process can read.

A test that drops privileges (setpriv) cannot rely on the checkout or its virtualenv: a clone in a root
user's 0700 home is closed to every other user. The child gets its own world-readable copy instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "statuspage")


def _runtime_distributions(name: str = "dialtone") -> list[metadata.Distribution]:
    """The installed distributions `name` needs at run time (no extras), found transitively."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    seen.pop(name, None)  # the project itself is copied from source, not from its editable install
    return list(seen.values())


def _copy_distribution(dist: metadata.Distribution, site: Path) -> None:
    for file in dist.files or []:
        src = Path(str(dist.locate_file(file)))
        if file.parts[0] in ("..", "") or not src.is_file() or "__pycache__" in file.parts:
            continue
        dest = site / file
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


def readable_runtime(dest: Path) -> tuple[str, dict[str, str]]:
    """Lay out dialtone under `dest`, readable by anyone; return the interpreter and the child's env."""
    src, site = dest / "src", dest / "site"
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for dist in _runtime_distributions():
        _copy_distribution(dist, site)
    for path in (dest, *dest.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    python = os.path.realpath(sys.executable)  # the system interpreter, not the venv's link in the checkout
    env = {"PYTHONPATH": f"{src}{os.pathsep}{site}", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return python, env
