"""The SLA's downtime of a component, from history: confirmed outages, backdated, maintenance not hiding them.

A component's status is masked as under_maintenance inside a window, so status alone would hide an outage
there and the window could never show in `excluded_minutes`. Its targets' confirmed states are not masked:
the downtime is every stretch where one of its targets was confirmed down. Each stretch starts at the
transition's `since` (the first failed probe of the run that confirmed it), not at the confirmation. A down
marked `quality` (answered calls without usable audio) is kept apart: it counts against the experienced
availability only; a later down->down transition without the mark turns it into contract downtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Query = Callable[[str, tuple[Any, ...]], list[Any]]
Spans = list[tuple[int, int]]

_AT = "COALESCE(since_ms, at_ms)"


def target_down_spans(query: Query, component: str, lo: int, hi: int) -> tuple[Spans, Spans]:
    """(contract, quality-only) [a, b) ms spans within [lo, hi) where a target of `component` was down."""
    names = [
        n
        for (n,) in query(
            "SELECT DISTINCT name FROM transitions WHERE subject = 'target' AND component = ?", (component,)
        )
    ]
    contract: Spans = []
    quality: Spans = []
    for name in names:
        before = query(
            f"SELECT new, quality FROM transitions WHERE subject = 'target' AND name = ? AND {_AT} <= ? "
            f"ORDER BY {_AT} DESC, id DESC LIMIT 1",
            (name, lo),
        )
        inside = query(
            f"SELECT {_AT}, new, quality FROM transitions WHERE subject = 'target' AND name = ? AND {_AT} > ? "
            f"AND {_AT} < ? ORDER BY {_AT}, id",
            (name, lo, hi),
        )
        points = [(lo, *before[0])] if before else []
        for a, b, is_quality in _down([*points, *inside], hi):
            (quality if is_quality else contract).append((a, b))
    contract = merge(contract)
    return contract, subtract(merge(quality), contract)


def _down(changes: Sequence[tuple[int, str, int]], hi: int) -> list[tuple[int, int, bool]]:
    out: list[tuple[int, int, bool]] = []
    opened: tuple[int, bool] | None = None
    for at, new, quality in [*changes, (hi, "", 0)]:
        if opened is not None:
            out.append((opened[0], at, opened[1]))
        opened = (at, bool(quality)) if new == "down" else None
    return [(a, b, q) for a, b, q in out if b > a]


def merge(spans: Sequence[tuple[int, int]]) -> Spans:
    """Sorted union of [a, b) spans; touching spans join."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(spans: Spans, minus: Spans) -> Spans:
    """Parts of merged `spans` not covered by merged `minus`."""
    out: Spans = []
    for a, b in spans:
        for c, d in minus:
            if d <= a or c >= b:
                continue
            if c > a:
                out.append((a, c))
            a = max(a, d)
        if b > a:
            out.append((a, b))
    return out
