"""KeptReader: one reader for the agent's periodic SLA refresh, with a constant descriptor count beside a busy
writer, a fresh reader when the store file is replaced, and a close that never blocks the agent's stop."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from agent.history.reader import HistoryReader
from agent.history.schema import HistoryError, connect_writer, open_history
from agent.history.writer import HistoryWriter, KeptReader
from tests.sinks.history_helpers import T0, FakeClock, comp, hours


def _fds_on(path: Path) -> int:
    """Descriptors of this process open on `path` itself (not its -wal or -shm)."""
    real = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.path.realpath(f"/proc/self/fd/{fd}") == real
        except OSError:
            continue
    return count


def _store(path: Path, component: str) -> None:
    writer = HistoryWriter(path, clock=FakeClock())
    writer.on_transition(comp(component, T0, "operational", "major_outage"))
    assert writer.flush_sync()
    asyncio.run(writer.aclose())


def test_why_a_reader_per_refresh_leaves_a_descriptor_behind(tmp_path: Path) -> None:
    # The behaviour KeptReader avoids: SQLite parks a closed reader's descriptor while the writer holds its lock.
    path = tmp_path / "h.sqlite"
    open_history(path)
    writer = connect_writer(path)
    writer.execute("BEGIN IMMEDIATE")
    before = _fds_on(path)
    HistoryReader(path).close()
    writer.execute("COMMIT")
    assert _fds_on(path) == before + 1
    writer.close()


def test_descriptors_stay_constant_across_refreshes_beside_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    open_history(path)
    writer = connect_writer(path)
    kept = KeptReader(path)
    with kept.reading() as reader:
        reader.down_intervals("web", T0, T0 + hours(1))
    baseline = _fds_on(path)
    for i in range(20):
        writer.execute("BEGIN IMMEDIATE")  # the writer mid-batch while the refresh runs, as in a busy agent
        with kept.reading() as reader:
            reader.down_intervals("web", T0, T0 + hours(1))
        writer.execute("COMMIT")
        assert _fds_on(path) == baseline, f"refresh {i}"
    kept.close()
    writer.close()


def test_a_replaced_store_is_read_afresh(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _store(path, "old")
    kept = KeptReader(path)
    with kept.reading() as reader:
        assert set(reader.last_component_status()) == {"old"}
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(HistoryError, match="no such file"), kept.reading():
        pass
    _store(path, "new")
    with kept.reading() as reader:
        assert set(reader.last_component_status()) == {"new"}
    kept.close()


def test_close_during_a_read_closes_when_the_read_ends_and_later_reads_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    _store(path, "web")
    kept = KeptReader(path)
    inside, release = threading.Event(), threading.Event()
    seen: list[HistoryReader] = []

    def refresh() -> None:
        with kept.reading() as reader:
            seen.append(reader)
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=refresh)
    worker.start()
    assert inside.wait(5)
    kept.close()  # returns within its 0.2 s bound although the read goes on
    release.set()
    worker.join(5)
    with pytest.raises(HistoryError, match="closed database"):  # closed when the read ended
        seen[0].last_component_status()
    with pytest.raises(HistoryError, match="the reader is closed"), kept.reading():
        pass
