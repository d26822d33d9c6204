"""Write a whole site atomically: render into a new generation directory, then swap a symlink onto it.

`out` is a symlink to the current generation (`.<out>.gen-<n>` beside it). A reader following `out` sees
either the old site or the new one, never a mix: os.replace of a symlink is atomic on POSIX. Files that did
not change are hard-linked from the previous generation instead of written again.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEEP_GENERATIONS = 2
"""The current generation and the one before it (a reader may still be reading it)."""


class OutputError(Exception):
    """The output folder cannot be used; names the path and the reason."""


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What one swap did."""

    generation: Path
    written: int
    linked: int


class AtomicSite:
    """Owns `out` and its generation directories."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._previous: dict[str, bytes] = {}
        self._previous_dir: Path | None = None

    def write(self, files: Mapping[str, bytes]) -> WriteStats:
        """Write `files` (relative paths) as the new site and swap it into place."""
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"site output {self.out}: cannot create {parent}: {exc.strerror}") from None
        gen = parent / f".{self.out.name}.gen-{uuid.uuid4().hex[:12]}"
        try:
            written, linked = self._fill(gen, files)
            self._swap(gen)
        except OSError as exc:
            shutil.rmtree(gen, ignore_errors=True)
            raise OutputError(f"site output {self.out}: {exc.strerror or exc}") from None
        self._previous, self._previous_dir = dict(files), gen
        self._prune(gen)
        return WriteStats(gen, written, linked)

    def _fill(self, gen: Path, files: Mapping[str, bytes]) -> tuple[int, int]:
        written = linked = 0
        made: set[Path] = set()
        prev, prev_dir = self._previous, self._previous_dir
        reuse = prev_dir is not None and prev_dir.is_dir()
        for rel, data in files.items():
            _check_rel(rel)
            target = gen / rel
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if reuse and prev.get(rel) == data:
                assert prev_dir is not None
                try:
                    os.link(prev_dir / rel, target)
                    linked += 1
                    continue
                except OSError:
                    pass  # e.g. a file system without hard links: fall back to writing
            with open(target, "wb") as fh:
                fh.write(data)
            written += 1
        return written, linked

    def _swap(self, gen: Path) -> None:
        link = self.out.parent / f".{self.out.name}.link-{uuid.uuid4().hex[:12]}"
        os.symlink(gen.name, link)
        if self.out.is_dir() and not self.out.is_symlink():
            # First render into a plain folder (e.g. one made by hand): move it aside once. This is the only
            # moment a reader could find nothing; every later swap is a single atomic rename.
            aside = self.out.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(self.out, aside)
        os.replace(link, self.out)

    def _prune(self, current: Path) -> None:
        prefix = f".{self.out.name}."
        gens = [
            p
            for p in self.out.parent.iterdir()
            if p.name.startswith(prefix) and p != current and p.is_dir() and not p.is_symlink()
        ]
        gens.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in gens[KEEP_GENERATIONS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)


def _check_rel(rel: str) -> None:
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        raise OutputError(f"refusing to write {rel!r} outside the site folder")
