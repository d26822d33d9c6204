"""History store cost: CPU per result (on_result + batched SQLite writes) and the SLA-style reads over a year.

Anchors, measured in the same run:
- writes: the same rows inserted by a bare `executemany` of pre-built tuples (SQLite's own floor);
- reads: one plain read of every transition row of the year (the least work that touches them all).

Usage: .venv/bin/python bench/history_write.py [--results N] [--components N] [--per-day N]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.core.model import ProbeResult, Status, Transition
from agent.history.reader import HistoryReader
from agent.history.schema import open_history
from agent.history.writer import HistoryWriter
from bench.common import Row, Stopwatch, machine, report

_STATUSES = [Status.OPERATIONAL, Status.DEGRADED_PERFORMANCE, Status.PARTIAL_OUTAGE, Status.MAJOR_OUTAGE]


def make_results(n: int, targets: int, now: datetime) -> list[ProbeResult]:
    """HTTP-like results: five phases, two values, one in twenty failing."""
    out = []
    for i in range(n):
        ok = i % 20 != 0
        out.append(
            ProbeResult(
                target=f"target-{i % targets:05d}",
                kind="http",
                started_at=now - timedelta(milliseconds=n - i),
                duration=0.0421,
                ok=ok,
                error="" if ok else "timeout",
                message="" if ok else "no answer in 5s",
                phases={"resolve": 0.0011, "connect": 0.0052, "tls": 0.0123, "processing": 0.0201, "transfer": 0.0003},
                values={"status_code": 200 if ok else 0, "content_length": 5120},
            )
        )
    return out


def bench_writes(tmp: Path, n: int) -> list[Row]:
    """Per-result CPU: queue every result, flush every 10,000 (one batch per second at 10k targets/s)."""
    now = datetime.now(UTC)
    results = make_results(n, 1000, now)
    w = HistoryWriter(open_history(tmp / "w.sqlite"), batch_interval=3600)
    w.flush_sync()  # schema and first prune outside the measurement
    with Stopwatch() as enqueue:
        for r in results:
            w.on_result(r)
    w._results.clear()
    with Stopwatch() as total:
        for start in range(0, n, 10_000):
            for r in results[start : start + 10_000]:
                w.on_result(r)
            w.flush_sync()
    assert w.write_errors == 0 and w.rows_written == n
    # Anchor: the rows as the writer stores them, inserted by a bare executemany in 10,000-row transactions.
    rows = sqlite3.connect(tmp / "w.sqlite").execute("SELECT * FROM results").fetchall()
    conn = sqlite3.connect(open_history(tmp / "anchor.sqlite"), isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    with Stopwatch() as anchor:
        for start in range(0, n, 10_000):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[start : start + 10_000])
            conn.execute("COMMIT")
    per, floor = total.cpu / n * 1e6, anchor.cpu / n * 1e6
    with sqlite3.connect(tmp / "w.sqlite") as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = (tmp / "w.sqlite").stat().st_size + _wal_size(tmp / "w.sqlite")
    return [
        Row(
            "on_result alone, CPU µs/result",
            f"{enqueue.cpu / n * 1e6:.2f}",
            goal="< 1 µs (never blocks)",
            met=enqueue.cpu / n * 1e6 < 1,
        ),
        Row(
            f"on_result + batched write, CPU µs/result ({n:,} results)",
            f"{per:.1f}",
            anchor=f"{floor:.1f} (bare executemany)",
            ratio=f"{per / floor:.1f}x",
            goal="< 20 µs = 5 % of the ~400 µs HTTP probe budget",
            met=per < 20,
        ),
        Row("store size after checkpoint, bytes/result (5 phases, 2 values)", f"{size / n:.0f}"),
    ]


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def bench_reads(tmp: Path, components: int, per_day: int) -> list[Row]:
    """down_intervals for every component over a year, as the SLA report does."""
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365)
    path = open_history(tmp / "r.sqlite")
    w = HistoryWriter(path, batch_interval=3600)
    rnd = random.Random(7)
    step = timedelta(days=1) / per_day
    for c in range(components):
        at, old = start + rnd.random() * step, ""
        while at < end:
            new = rnd.choice(_STATUSES) if old == Status.OPERATIONAL else Status.OPERATIONAL
            w.on_transition(Transition("component", f"comp-{c:04d}", at, str(old), str(new), "bench"))
            at, old = at + step, new
        if c % 100 == 99:
            w.flush_sync()
    w.flush_sync()
    total = w.rows_written
    r = HistoryReader(path)
    ids = [f"comp-{c:04d}" for c in range(components)]
    with Stopwatch() as sla:
        down = sum(len(r.down_intervals(cid, start, end)) for cid in ids)
    with Stopwatch() as last:
        statuses = r.last_component_status()
    assert down > 0 and len(statuses) == components
    raw = sqlite3.connect(path)
    with Stopwatch() as scan:
        rows = raw.execute("SELECT name, at_ms, new FROM transitions WHERE at_ms >= 0").fetchall()
    assert len(rows) == total
    return [
        Row(
            f"down_intervals, {components:,} components x 1 year ({total:,} transitions), wall s",
            f"{sla.wall:.2f}",
            anchor=f"{scan.wall:.2f} (read every row once)",
            ratio=f"{sla.wall / scan.wall:.1f}x",
            goal="< 2 s",
            met=sla.wall < 2,
        ),
        Row("last_component_status, wall ms", f"{last.wall * 1000:.1f}", goal="< 100 ms", met=last.wall < 0.1),
    ]


def main() -> None:
    """Run both measurements in a temporary directory."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--components", type=int, default=1000)
    ap.add_argument("--per-day", type=int, default=1, help="status changes per component per day")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="dialtone-bench-") as d:
        rows = bench_writes(Path(d), args.results) + bench_reads(Path(d), args.components, args.per_day)
    report("history (SQLite WAL)", rows)


if __name__ == "__main__":
    main()
