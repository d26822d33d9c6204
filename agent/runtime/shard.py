"""Split targets across agents by a stable hash of their id, exactly as Prometheus `hashmod` relabelling does.

Prometheus takes the MD5 of the value and reduces its *last* eight bytes, read big-endian, modulo n. Using
the same function means `shard: i/n` in dialtone and `action: hashmod, modulus: n` in a Prometheus scrape
config put every target id on the same shard.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar

from pydantic import AfterValidator

_SHARD = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `total` (0 <= index < total)."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def owns(self, target_id: str) -> bool:
        """True when `target_id` belongs to this shard."""
        return hashmod(target_id, self.total) == self.index


def parse_shard(text: str) -> Shard:
    """'1/4' -> Shard(1, 4); anything else raises ValueError saying what a shard looks like."""
    m = _SHARD.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"shard must look like i/n (e.g. 0/3), got {text!r}")
    index, total = int(m.group(1)), int(m.group(2))
    if total < 1:
        raise ValueError(f"shard {text!r}: n must be at least 1")
    if not 0 <= index < total:
        raise ValueError(f"shard {text!r}: i must satisfy 0 <= i < n (i from 0 to {total - 1})")
    return Shard(index, total)


def _check(text: str) -> str:
    return str(parse_shard(text))


ShardSpec = Annotated[str, AfterValidator(_check)]
"""A config field holding 'i/n', validated and normalised (surrounding spaces removed)."""


def hashmod(value: str, modulus: int) -> int:
    """Prometheus `hashmod`: big-endian uint64 of the last 8 bytes of md5(value), modulo `modulus`."""
    if modulus < 1:
        raise ValueError("modulus must be at least 1")
    # md5 here is a spread function fixed by Prometheus compatibility, not a security measure.
    digest = hashlib.md5(value.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def select_targets(targets: Iterable[T], shard: Shard | str | None) -> list[T]:
    """The targets this agent probes: all of them without a shard, else those whose id hashes to it."""
    if shard is None:
        return list(targets)
    s = parse_shard(shard) if isinstance(shard, str) else shard
    return [t for t in targets if s.owns(t.id)]
