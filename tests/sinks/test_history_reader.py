"""HistoryReader: status timelines and outage intervals with hand-computed expectations, and concurrent reads."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.model import Status, Transition
from agent.history.reader import HistoryReader, StatusInterval
from agent.history.schema import HistoryError, open_history
from agent.history.writer import HistoryWriter
from tests.sinks.history_helpers import T0, FakeClock, comp, hours, result

OP, DEG, PART, MAJ, MAINT = (
    Status.OPERATIONAL,
    Status.DEGRADED_PERFORMANCE,
    Status.PARTIAL_OUTAGE,
    Status.MAJOR_OUTAGE,
    Status.UNDER_MAINTENANCE,
)


def at(h: float) -> datetime:
    return T0 + hours(h)


def iv(a: float, b: float, s: Status) -> StatusInterval:
    return StatusInterval(at(a), at(b), s)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> HistoryReader:
    path = open_history(tmp_path_factory.mktemp("hist") / "h.sqlite")
    w = HistoryWriter(path, clock=FakeClock())
    steps: dict[str, list[tuple[int, object, object]]] = {
        # voice: op from -2h, partial 1h, major 2h, op 3h, maintenance 5h, op 6h
        "voice": [(-2, "", OP), (1, OP, PART), (2, PART, MAJ), (3, MAJ, OP), (5, OP, MAINT), (6, MAINT, OP)],
        # sms: a repeated status (agent restart) merges; a degraded stretch is not an outage
        "sms": [(0, "", OP), (1, OP, OP), (2, OP, DEG), (3, DEG, MAJ)],
        # fax: a value that is not a status leaves a gap; two changes in one ms: the later wins
        "fax": [(0, "", OP), (1, OP, "bogus"), (2, "bogus", MAJ), (4, MAJ, PART), (4, PART, OP)],
    }
    for cid, changes in steps.items():
        for h, old, new in changes:
            w.on_transition(comp(cid, at(h), str(old), str(new)))
    w.on_transition(Transition("target", "voice", at(10), "up", "down", "target, not component"))
    assert w.flush_sync()
    return HistoryReader(path)


@pytest.mark.parametrize(
    ("cid", "start", "end", "expected"),
    [
        ("voice", 0, 4, [iv(0, 1, OP), iv(1, 2, PART), iv(2, 3, MAJ), iv(3, 4, OP)]),
        ("voice", 1.5, 2.5, [iv(1.5, 2, PART), iv(2, 2.5, MAJ)]),  # spans both bounds
        ("voice", -3, 0, [iv(-2, 0, OP)]),  # first transition inside the range: unknown before it
        ("voice", -5, -3, []),  # before anything was recorded
        ("voice", 1, 2, [iv(1, 2, PART)]),  # a transition exactly at start counts from start
        ("voice", 4, 8, [iv(4, 5, OP), iv(5, 6, MAINT), iv(6, 8, OP)]),  # last status runs to `end`
        ("voice", 3, 3, []),
        ("sms", 0, 5, [iv(0, 2, OP), iv(2, 3, DEG), iv(3, 5, MAJ)]),
        ("fax", 0, 5, [iv(0, 1, OP), iv(2, 4, MAJ), iv(4, 5, OP)]),
        ("ghost", 0, 5, []),  # no transitions at all
    ],
)
def test_status_intervals(
    reader: HistoryReader, cid: str, start: float, end: float, expected: list[StatusInterval]
) -> None:
    got = reader.status_intervals(cid, at(start), at(end))
    assert got == expected
    assert all(x.start.tzinfo is not None and x.end.tzinfo is not None for x in got)


@pytest.mark.parametrize(
    ("cid", "start", "end", "expected"),
    [
        ("voice", -3, 8, [(1, 3)]),  # partial then major: one outage
        ("voice", 1.5, 2.5, [(1.5, 2.5)]),
        ("voice", 3, 8, []),  # maintenance is not an outage
        ("sms", 0, 3.5, [(3, 3.5)]),
        ("fax", 0, 5, [(2, 4)]),
        ("ghost", 0, 5, []),
    ],
)
def test_down_intervals(
    reader: HistoryReader, cid: str, start: float, end: float, expected: list[tuple[float, float]]
) -> None:
    assert reader.down_intervals(cid, at(start), at(end)) == [(at(a), at(b)) for a, b in expected]


def test_last_component_status(reader: HistoryReader) -> None:
    assert reader.last_component_status() == {"voice": (OP, at(6)), "sms": (MAJ, at(3)), "fax": (OP, at(4))}


def test_reader_refuses_naive_datetimes(reader: HistoryReader) -> None:
    with pytest.raises(ValueError, match="naive"):
        reader.status_intervals("voice", datetime(2025, 1, 1), at(1))


def test_reader_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    with pytest.raises(HistoryError, match=r"none\.sqlite: no such file"):
        HistoryReader(missing)
    newer = open_history(tmp_path / "newer.sqlite")
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match=r"newer\.sqlite: schema version 99"):
        HistoryReader(newer)
    with pytest.raises(HistoryError, match=r"newer\.sqlite: schema version 99 is newer"):
        open_history(newer)


_READER_SCRIPT = """
import sys
from datetime import datetime, timedelta, UTC
from agent.history.reader import HistoryReader
r = HistoryReader(sys.argv[1])
t0 = datetime.fromisoformat(sys.argv[2])
for line in sys.stdin:
    n = len(r.results("web", t0, t0 + timedelta(days=1), limit=1_000_000))
    print(n, len(r.transitions(t0, t0 + timedelta(days=1))), flush=True)
"""


def test_a_reader_in_another_process_sees_commits_while_the_writer_runs(tmp_path: Path) -> None:
    path = open_history(tmp_path / "h.sqlite")
    w = HistoryWriter(path, clock=FakeClock())
    for i in range(100):
        w.on_result(result("web", T0 + timedelta(seconds=i)))
    assert w.flush_sync()
    proc = subprocess.Popen(
        [sys.executable, "-c", _READER_SCRIPT, str(path), T0.isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdin is not None and proc.stdout is not None

    def ask() -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("?\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    try:
        assert ask() == "100 0"
        # A write transaction open in this process does not block the reader, who sees the last commit.
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO results SELECT * FROM results")
        assert ask() == "100 0"
        conn.execute("ROLLBACK")
        conn.close()
        for i in range(100, 250):
            w.on_result(result("web", T0 + timedelta(seconds=i)))
        w.on_transition(comp("voice", T0, "operational", "major_outage"))
        assert w.flush_sync()
        assert ask() == "250 1"
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert proc.returncode == 0


_CHANGES = st.lists(st.tuples(st.integers(0, 50), st.sampled_from([*Status, "bogus"])), min_size=0, max_size=12)


@given(changes=_CHANGES, lo=st.integers(-5, 55), width=st.integers(0, 60))
def test_status_intervals_agree_with_a_brute_force_timeline(
    changes: list[tuple[int, Status | str]], lo: int, width: int
) -> None:
    """At every instant that matters, the intervals give the status of the last transition at or before it."""
    with tempfile.TemporaryDirectory() as d:
        path = open_history(Path(d) / "h.sqlite")
        w = HistoryWriter(path, clock=FakeClock())
        for minute, new in changes:
            w.on_transition(comp("c", T0 + timedelta(minutes=minute), "?", str(new)))
        assert w.flush_sync()
        with HistoryReader(path) as r:
            start, end = T0 + timedelta(minutes=lo), T0 + timedelta(minutes=lo + width)
            got = r.status_intervals("c", start, end)
            down = r.down_intervals("c", start, end)

    def truth(t: datetime) -> Status | None:
        # The latest change at or before t; in the same minute, the one recorded later.
        seen = [(m, i, new) for i, (m, new) in enumerate(changes) if T0 + timedelta(minutes=m) <= t]
        latest = max(seen, default=None)
        return latest[2] if latest and isinstance(latest[2], Status) else None

    def shown(t: datetime) -> Status | None:
        return next((iv.status for iv in got if iv.start <= t < iv.end), None)

    instants = {start, end - timedelta(milliseconds=1)} | {
        T0 + timedelta(minutes=m, seconds=s) for m, _ in changes for s in (0, 30)
    }
    for t in instants:
        if start <= t < end:
            assert shown(t) == truth(t), t
    # Sorted, inside the bounds, non-empty, and touching neighbours always differ.
    for a, b in itertools.pairwise(got):
        assert a.end <= b.start and not (a.end == b.start and a.status == b.status)
    assert all(start <= iv.start < iv.end <= end for iv in got)
    assert down == _merged_outages(got)


def _merged_outages(intervals: list[StatusInterval]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for iv in intervals:
        if iv.status.is_outage:
            if out and out[-1][1] == iv.start:
                out[-1] = (out[-1][0], iv.end)
            else:
                out.append((iv.start, iv.end))
    return out
