"""Write a whole site atomically: fill a generation directory, then swap a symlink onto it.

`out` is a symlink to the current generation (`.<out>.gen-<id>` beside it). A reader following `out` sees
either the old site or the new one, never a mix: os.replace of a symlink is atomic on POSIX.

Two generations take turns. A render updates the generation before the current one (which nobody is sent to
any more) to the new content and swaps `out` onto it: only files whose bytes differ are written, each as a new
file renamed into place, so a reader still holding the old file keeps its bytes and a file shared with the
current generation by a hard link is never changed under it. Until two generations exist (and after any
failure) a fresh generation is made, with unchanged files hard-linked from the current one. Creating a file
costs far more than leaving one alone (about 1 ms per new inode on some virtual disks), so an update after
one transition touches a few dozen files instead of relinking thousands.

Ownership: every generation holds the marker file `.dialtone-site`. `out` is replaced only when it does not
exist, is an empty folder, or shows the marker; anything else (a folder of someone's files, a file, a link
to a folder without the marker) is refused with OutputNotOwned, and nothing is moved or removed. Pruning
removes only generation folders that hold the marker.
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


MARKER = ".dialtone-site"
"""The file that marks a folder as written by dialtone (and so free for dialtone to replace or remove)."""
MARKER_TEXT = b"This folder was written by dialtone; dialtone replaces it at every render.\n"


class OutputError(Exception):
    """The output folder cannot be used; names the path and the reason."""


class OutputNotOwned(OutputError):
    """`out` holds something dialtone did not write: it is left alone."""


def check_owned(out: Path) -> None:
    """Raise OutputNotOwned unless `out` is absent, an empty folder, or shows dialtone's marker."""
    try:
        if not out.exists() and not out.is_symlink():
            return
        if (out / MARKER).is_file():
            return
        if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
            return
    except OSError as exc:
        raise OutputError(f"site output {out}: {exc.strerror or exc}") from None
    what = "a link" if out.is_symlink() else "a folder" if out.is_dir() else "a file"
    raise OutputNotOwned(
        f"site output {out}: refusing to replace {what} that dialtone did not write (no {MARKER} in it); "
        "choose another folder, or empty or remove this one"
    )


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What one swap did."""

    generation: Path
    written: int
    """Files written (new or changed)."""
    linked: int
    """Files left unchanged: hard-linked from the previous generation, or already in place."""
    removed: int = 0
    """Files of the reused generation that the new site no longer has."""
    reused: bool = False
    """True when an older generation was updated in place rather than a fresh one made."""


@dataclass(slots=True)
class _Generation:
    path: Path
    files: Mapping[str, bytes]


class AtomicSite:
    """Owns `out` and its generation directories."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._gens: list[_Generation] = []
        """Generations this object wrote and knows the content of, oldest first (at most two)."""
        self._checked: set[str] = set()
        """Relative paths already found safe (a site has the same few thousand paths at every render)."""

    def write(self, files: Mapping[str, bytes]) -> WriteStats:
        """Write `files` (relative paths) as the new site and swap it into place."""
        for rel in files.keys() - self._checked:
            _check_rel(rel)
            self._checked.add(rel)
        if not self._gens:  # once ours, `out` only ever points at a generation this object wrote
            check_owned(self.out)
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"site output {self.out}: cannot create {parent}: {exc.strerror}") from None
        older = self._reusable()
        try:
            if older is not None:
                gen = older.path
                written, linked, removed = _update(gen, older.files, files)
            else:
                gen = parent / f".{self.out.name}.gen-{uuid.uuid4().hex[:12]}"
                written, linked = self._fill(gen, files)
                removed = 0
            self._swap(gen)
        except OSError as exc:
            if older is None:
                shutil.rmtree(gen, ignore_errors=True)
            self._gens = [g for g in self._gens if g is not older]  # half-updated: never trust it again
            raise OutputError(f"site output {self.out}: {exc.strerror or exc}") from None
        current = self._gens[-1:] if self._gens and self._gens[-1].path != gen else []
        self._gens = [*current, _Generation(gen, dict(files))]
        if older is None:
            self._prune({g.path for g in self._gens})
        return WriteStats(gen, written, linked, removed, older is not None)

    def _reusable(self) -> _Generation | None:
        """The generation before the current one, if it is ours, intact and not what `out` points to."""
        if len(self._gens) < KEEP_GENERATIONS:
            return None
        older = self._gens[0]
        try:
            if older.path.is_symlink() or not older.path.is_dir() or os.readlink(self.out) == older.path.name:
                return None
        except OSError:
            return None
        return older

    def _fill(self, gen: Path, files: Mapping[str, bytes]) -> tuple[int, int]:
        written = linked = 0
        gen.mkdir(parents=True)
        (gen / MARKER).write_bytes(MARKER_TEXT)  # first, so that a half-filled generation can be pruned
        made: set[Path] = {gen}
        prev = self._gens[-1] if self._gens and self._gens[-1].path.is_dir() else None
        for rel, data in files.items():
            target = gen / rel
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if prev is not None and _same(prev.files.get(rel), data):
                try:
                    os.link(prev.path / rel, target)
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
            # First render into a plain folder: an empty one is removed, one with dialtone's marker moved aside
            # (and pruned). This is the only moment a reader could find nothing; later swaps are one rename.
            if (self.out / MARKER).is_file():
                os.rename(self.out, self.out.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:12]}")
            else:
                os.rmdir(self.out)  # fails, leaving it alone, if a file appeared since check_owned
        os.replace(link, self.out)

    def _prune(self, keep: set[Path]) -> None:
        """Remove generations other than `keep` (on a first write: all but the newest other one)."""
        prefix = f".{self.out.name}."
        gens = [
            p
            for p in self.out.parent.iterdir()
            if p.name.startswith(prefix)
            and p not in keep
            and p.is_dir()
            and not p.is_symlink()
            and (p / MARKER).is_file()  # only folders dialtone wrote
        ]
        gens.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        spare = KEEP_GENERATIONS - len(keep)
        for old in gens[max(spare, 0) :]:
            shutil.rmtree(old, ignore_errors=True)


def _same(old: bytes | None, new: bytes) -> bool:
    return old is new or old == new


def _update(gen: Path, have: Mapping[str, bytes], files: Mapping[str, bytes]) -> tuple[int, int, int]:
    """Make the generation `gen` (holding `have`) hold `files`: (written, unchanged, removed)."""
    written = unchanged = 0
    dirs = {rel.rpartition("/")[0] for rel in have}
    for rel, data in files.items():
        if _same(have.get(rel), data):
            unchanged += 1
            continue
        target = gen / rel
        folder = rel.rpartition("/")[0]
        if folder not in dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            dirs.add(folder)
        # A new inode renamed over the old name: the old file may be hard-linked into the current generation,
        # or open in a reader, and must keep its bytes.
        tmp = target.with_name(f".{target.name}.new")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        written += 1
    gone = [rel for rel in have if rel not in files]
    for rel in gone:
        try:
            os.unlink(gen / rel)
        except FileNotFoundError:
            pass
    for parent in sorted({Path(rel).parent for rel in gone}, key=lambda p: len(p.parts), reverse=True):
        for d in (parent, *parent.parents):
            if d == Path("."):
                break
            try:
                os.rmdir(gen / d)  # only succeeds once the folder is empty
            except OSError:
                break
    return written, unchanged, len(gone)


def _check_rel(rel: str) -> None:
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts or rel == MARKER:
        raise OutputError(f"refusing to write {rel!r} outside the site folder")
