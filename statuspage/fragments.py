"""What makes a re-render incremental: fragments kept with their inputs, and templates compiled once.

`Fragments.get(name, inputs, make)` returns last render's fragment of that name while its inputs compare equal,
and calls `make` otherwise. A fragment not asked for during a render is dropped at its end, so the cache holds
one site's worth of fragments. `made` counts what a render had to build: after one transition it is the
changed component's row, the incidents it touched and the pages that hold them.

`SharedBytecode` is a Jinja bytecode cache shared by every language's environment (a template is compiled
once per process, not once per language) and backed by Jinja's per-user file cache, so a new process (e.g.
`dialtone render` from cron) loads compiled templates instead of compiling them again. Like Python's
`__pycache__`, it is keyed by the template source's checksum; with no usable cache folder it stays in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import jinja2
from jinja2.bccache import Bucket

T = TypeVar("T")


class Fragments:
    """Rendered fragments by name, each reused while the inputs it was made from compare equal."""

    def __init__(self) -> None:
        self._old: dict[Hashable, tuple[object, Any]] = {}
        self._new: dict[Hashable, tuple[object, Any]] = {}
        self.made = 0
        """Fragments built (not reused) since the render began."""
        self.last_made = 0
        """Fragments the last finished render built."""

    def get(self, name: Hashable, inputs: object, make: Callable[[], T]) -> T:
        """The fragment `name` made from `inputs`: kept from before if the inputs are equal, else `make()`."""
        entry = self._new.get(name)
        if entry is None:
            entry = self._old.get(name)
        if entry is not None and (entry[0] is inputs or entry[0] == inputs):
            value: T = entry[1]
        else:
            value = make()
            self.made += 1
        self._new[name] = (inputs, value)
        return value

    def bundle(self, name: Hashable, inputs: object) -> dict[Hashable, Any]:
        """A dict of fragments all made from `inputs` (e.g. an incident's page and card in every language),
        checked once: last render's dict if the inputs are equal, else an empty one. Fill it with `made_in`."""
        entry = self._new.get(name)
        if entry is None:
            entry = self._old.get(name)
        found: dict[Hashable, Any] = {}
        if entry is not None and (entry[0] is inputs or entry[0] == inputs):
            found = entry[1]
        self._new[name] = (inputs, found)
        return found

    def made_in(self, bundle: dict[Hashable, Any], key: Hashable, make: Callable[[], T]) -> T:
        """The fragment `key` of a bundle, made now if the bundle does not hold it yet."""
        if key in bundle:
            value: T = bundle[key]
            return value
        value = bundle[key] = make()
        self.made += 1
        return value

    def cycle(self) -> None:
        """End a render: keep what it used, drop the rest."""
        self._old, self._new = self._new, {}
        self.last_made, self.made = self.made, 0

    def abort(self) -> None:
        """A render failed: keep the last good render's fragments."""
        self._new = {}
        self.made = 0


class SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates in memory for every environment of this process, and on disk across processes."""

    def __init__(self) -> None:
        self._memory: dict[str, bytes] = {}
        self._disk: jinja2.FileSystemBytecodeCache | None
        try:
            self._disk = jinja2.FileSystemBytecodeCache()
        except (OSError, RuntimeError):  # no writable temp folder of our own: compile in every process
            self._disk = None

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill `bucket` from memory, else from disk (Jinja checks the source checksum)."""
        data = self._memory.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)
            return
        if self._disk is not None:
            try:
                self._disk.load_bytecode(bucket)
            except (OSError, EOFError, ValueError, TypeError):
                bucket.reset()  # unreadable or from another Python: compile it again
            if bucket.code is not None:
                self._memory[bucket.key] = bucket.bytecode_to_string()

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep a freshly compiled template in memory and, when possible, on disk."""
        self._memory[bucket.key] = bucket.bytecode_to_string()
        if self._disk is not None:
            try:
                self._disk.dump_bytecode(bucket)
            except OSError:
                self._disk = None
