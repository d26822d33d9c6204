"""Half-open interval arithmetic on epoch seconds, for the SLA: clip, merge, subtract, overlap. Pure."""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def clip_merge(spans: Iterable[Span], lo: float, hi: float) -> list[Span]:
    """Spans clipped to [lo, hi), empty ones dropped, overlapping or touching ones merged, sorted."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi and b > a)
    out: list[Span] = []
    for a, b in clipped:
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def total(spans: Iterable[Span]) -> float:
    """Summed length of disjoint spans."""
    return sum(b - a for a, b in spans)


def overlap(x: list[Span], y: list[Span]) -> float:
    """Length of the intersection of two sorted, disjoint span lists."""
    i = j = 0
    found = 0.0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if b > a:
            found += b - a
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return found


def subtract(x: list[Span], y: list[Span]) -> list[Span]:
    """x minus y, both sorted and disjoint."""
    out: list[Span] = []
    j = 0
    for a, b in x:
        while j < len(y) and y[j][1] <= a:
            j += 1
        k = j
        cur = a
        while k < len(y) and y[k][0] < b:
            if y[k][0] > cur:
                out.append((cur, y[k][0]))
            cur = max(cur, y[k][1])
            k += 1
        if cur < b:
            out.append((cur, b))
    return out
