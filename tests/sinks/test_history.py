"""HistoryWriter: round-trips through a real SQLite file, rollups, retention, batching and queue bounds."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from agent.core.model import Transition
from agent.history.reader import HistoryReader
from agent.history.schema import SCHEMA_VERSION, open_history
from agent.history.writer import HistoryWriter
from tests.peers.base import wait_until
from tests.sinks.history_helpers import T0, FakeClock, comp, hours, result


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return open_history(tmp_path / "var" / "history.sqlite")


def writer(path: Path, clock: FakeClock | None = None, **kw: float) -> HistoryWriter:
    return HistoryWriter(path, clock=clock or FakeClock(), **kw)  # type: ignore[arg-type]


def test_open_history_creates_a_wal_store_with_the_schema_version(store: Path) -> None:
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"series", "results", "transitions", "rollups", "events"} <= tables


async def test_results_round_trip_every_field(store: Path) -> None:
    w = writer(store, message_limit=10)
    full = result(
        "sip-edge",
        T0 + timedelta(milliseconds=1234),
        ok=False,
        kind="sip",
        duration=0.123456,
        error="sip_503",
        message="Service Unavailable from upstream",
        phases={"invite": 0.1, "ringing": 0.02},
        values={"status": 503, "reason": "busy", "tls": True, "mos": 4.2},
        vantage="den1",
        maintenance=True,
        degraded=True,
    )
    plain = result("sip-edge", T0 + timedelta(seconds=5), kind="sip", vantage="den1")
    w.on_result(full)
    w.on_result(plain)
    assert await w.flush()
    with HistoryReader(store) as r:
        got = r.results("sip-edge", T0, T0 + hours(1))
    assert got[1] == plain
    first = got[0]
    assert first.started_at == full.started_at and first.started_at.tzinfo is not None
    assert first.duration == pytest.approx(0.123456, abs=1e-6)
    assert (first.ok, first.error, first.message) == (False, "sip_503", "Service Un")
    assert dict(first.phases) == {"invite": 0.1, "ringing": 0.02}
    assert dict(first.values) == {"status": 503, "reason": "busy", "tls": True, "mos": 4.2}
    assert (first.kind, first.vantage, first.maintenance, first.degraded) == ("sip", "den1", True, True)


async def test_results_interns_targets_and_limit_keeps_the_newest(store: Path) -> None:
    w = writer(store)
    for i in range(10):
        w.on_result(result("a", T0 + timedelta(seconds=i)))
        w.on_result(result("b", T0 + timedelta(seconds=i), ok=False, error="timeout"))
    assert await w.flush()
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == 2
    assert conn.execute("SELECT typeof(series) FROM results LIMIT 1").fetchone()[0] == "integer"
    with HistoryReader(store) as r:
        newest = r.results("a", T0, T0 + hours(1), limit=3)
        assert [x.started_at for x in newest] == [T0 + timedelta(seconds=s) for s in (7, 8, 9)]
        # The range is half-open: a result exactly at `end` is left out.
        assert len(r.results("b", T0, T0 + timedelta(seconds=4))) == 4
        assert r.results("nobody", T0, T0 + hours(1)) == []
        with pytest.raises(ValueError, match="limit"):
            r.results("a", T0, T0 + hours(1), limit=0)


async def test_transitions_round_trip_with_filters(store: Path) -> None:
    w = writer(store)
    t1 = Transition("target", "web", T0, "unknown", "up", "first result", component="portal")
    t2 = comp("portal", T0 + hours(1), "operational", "major_outage", "all targets down")
    t3 = comp("voice", T0 + hours(2), "operational", "partial_outage", "1 of 2 down")
    for t in (t3, t1, t2):
        w.on_transition(t)
    assert await w.flush()
    with HistoryReader(store) as r:
        assert r.transitions(T0, T0 + hours(3)) == [t1, t2, t3]
        assert r.transitions(T0, T0 + hours(3), subject="component") == [t2, t3]
        assert r.transitions(T0, T0 + hours(3), id="web") == [t1]
        assert r.transitions(T0 + hours(1), T0 + hours(2)) == [t2]


async def test_events_round_trip_with_filters(store: Path) -> None:
    w = writer(store)
    w.record_event("snmp_trap", "sbc1", T0, {"oid": "1.3.6.1.6.3.1.1.5.3", "vars": {"ifIndex": 4}})
    w.record_event("reload", "agent", T0 + hours(1), {"ok": True})
    w.record_event("snmp_trap", "sbc2", T0 + hours(2), {"when": T0})  # not JSON-native: stored as text
    assert await w.flush()
    with HistoryReader(store) as r:
        traps = r.events(kind="snmp_trap")
        assert [(e.subject, e.at) for e in traps] == [("sbc1", T0), ("sbc2", T0 + hours(2))]
        assert traps[0].data == {"oid": "1.3.6.1.6.3.1.1.5.3", "vars": {"ifIndex": 4}}
        assert traps[1].data == {"when": str(T0)}
        assert [e.kind for e in r.events(start=T0 + hours(1))] == ["reload", "snmp_trap"]
        assert [e.kind for e in r.events(end=T0 + hours(1))] == ["snmp_trap"]
        assert [e.subject for e in r.events(subject="agent")] == ["agent"]


async def test_daily_rollups_count_per_utc_day_and_accumulate_across_batches(store: Path) -> None:
    w = writer(store)
    late = datetime(2025, 3, 10, 23, 59, 59, 999000, tzinfo=T0.tzinfo)
    w.on_result(result("web", late, duration=1.0))
    w.on_result(result("web", late, ok=False, duration=2.0))
    assert await w.flush()
    w.on_result(result("web", late + timedelta(milliseconds=1), duration=0.5))  # next UTC day
    w.on_result(result("web", late, ok=False, maintenance=True, duration=4.0))
    w.on_result(result("other", late, duration=8.0))
    assert await w.flush()
    with HistoryReader(store) as r:
        days = r.daily_rollups("web", date(2025, 3, 1), date(2025, 3, 31))
    assert [(d.day, d.ok, d.failed, d.maintenance, d.duration_sum) for d in days] == [
        (date(2025, 3, 10), 1, 1, 1, 7.0),
        (date(2025, 3, 11), 1, 0, 0, 0.5),
    ]
    assert days[0].total == 3


async def test_retention_prunes_by_the_injected_clock(store: Path) -> None:
    clock = FakeClock(T0)
    w = writer(
        store,
        clock,
        results_retention=9 * 86400,
        transitions_retention=10 * 86400,
        rollups_retention=9 * 86400,
        prune_interval=3600,
    )
    for day in range(5):
        at = T0 + timedelta(days=day)
        w.on_result(result("web", at))
        w.on_transition(comp("voice", at, "operational", "degraded_performance"))
        w.record_event("reboot", "sbc", at, {})
    assert await w.flush()
    clock.advance(12 * 86400)  # now = T0 + 12 d
    assert await w.flush()
    with HistoryReader(store) as r:
        wide = (T0 - timedelta(days=30), T0 + timedelta(days=30))
        # Cut-offs: results now - 9 d = 03-13 12:00 (kept when exactly on it), transitions 03-12 12:00.
        assert [x.started_at for x in r.results("web", *wide)] == [T0 + timedelta(days=d) for d in (3, 4)]
        assert [t.at for t in r.transitions(*wide)] == [T0 + timedelta(days=d) for d in (2, 3, 4)]
        assert [e.at for e in r.events(start=wide[0])] == [T0 + timedelta(days=d) for d in (2, 3, 4)]
        # Rollups keep whole UTC days from the cut-off's day (03-13) on.
        days = r.daily_rollups("web", date(2025, 3, 1), date(2025, 3, 31))
        assert [d.day for d in days] == [date(2025, 3, 13), date(2025, 3, 14)]


async def test_zero_retention_keeps_forever_and_prune_waits_for_its_interval(store: Path) -> None:
    clock = FakeClock(T0)
    w = writer(store, clock, results_retention=0, transitions_retention=86400, prune_interval=3600)
    w.on_result(result("web", T0))
    w.on_transition(comp("voice", T0, "operational", "major_outage"))
    assert await w.flush()  # the first flush prunes, and stamps the prune time
    clock.advance(2 * 86400)
    clock.at = T0 + timedelta(minutes=30)  # wall time back inside the prune interval
    assert await w.flush()
    with HistoryReader(store) as r:
        assert len(r.transitions(T0, T0 + hours(1))) == 1
    clock.at = T0 + timedelta(days=2)
    assert await w.flush()
    with HistoryReader(store) as r:
        assert r.transitions(T0, T0 + hours(1)) == []
        assert len(r.results("web", T0, T0 + hours(1))) == 1


async def test_on_result_queues_and_never_waits_for_a_flush_in_progress(store: Path) -> None:
    w = writer(store)
    w.on_result(result("web", T0))
    assert w.queue_depth == 1
    with HistoryReader(store) as r:
        assert r.results("web", T0, T0 + hours(1)) == []  # nothing written before a batch
    done = threading.Event()

    def produce() -> None:
        for i in range(1000):
            w.on_result(result("web", T0 + timedelta(milliseconds=i + 1)))
        done.set()

    with w._lock:  # a batch "in progress" on a slow disk holds the writer's lock
        producer = threading.Thread(target=produce)
        producer.start()
        producer.join(30)
        assert done.is_set(), "on_result blocked behind the writer"
    assert w.queue_depth == 1001
    assert await w.flush()
    assert w.queue_depth == 0 and w.rows_written == 1001 and w.write_errors == 0


async def test_background_thread_writes_batches_and_aclose_flushes_the_rest(store: Path) -> None:
    w = writer(store, batch_interval=0.05)
    await w.start()
    w.on_result(result("web", T0))
    with HistoryReader(store) as r:
        wait_until(lambda: len(r.results("web", T0, T0 + hours(1))) == 1, what="background batch")
    assert w.last_success is not None and w.last_flush_seconds > 0
    for i in range(50):
        w.on_transition(comp("voice", T0 + timedelta(seconds=i), "operational", "major_outage"))
    await w.aclose()
    assert w.queue_depth == 0
    with HistoryReader(store) as r:
        assert len(r.transitions(T0, T0 + hours(1))) == 50


async def test_full_queue_counts_dropped(store: Path) -> None:
    w = writer(store, max_queue=5)
    for i in range(8):
        w.on_result(result("web", T0 + timedelta(seconds=i)))
    w.on_transition(comp("voice", T0, "operational", "major_outage"))
    assert (w.queue_depth, w.dropped) == (6, 3)
    assert await w.flush()
    with HistoryReader(store) as r:
        assert len(r.results("web", T0, T0 + hours(1))) == 5


async def test_an_unstorable_item_is_dropped_and_the_rest_written(store: Path) -> None:
    w = writer(store)
    w.on_result(result("web", datetime(2025, 3, 10, 12, 0)))  # naive: a bug upstream
    w.on_result(result("web", T0))
    w.record_event("trap", "sbc", T0, {"ok": 1})
    assert await w.flush()
    assert (w.dropped, w.write_errors) == (1, 0)
    with HistoryReader(store) as r:
        assert [x.started_at for x in r.results("web", T0 - hours(1), T0 + hours(1))] == [T0]
        assert len(r.events()) == 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_interval"):
        HistoryWriter(tmp_path / "h.sqlite", batch_interval=0)
