"""A failing disk: unwritable paths at start-up, corrupt files, a deleted store, and a full disk (RLIMIT_FSIZE)."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from agent.history.reader import HistoryReader
from agent.history.schema import HistoryError, open_history
from agent.history.writer import HistoryWriter
from tests.sinks.history_helpers import T0, FakeClock, hours, result

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("below", ["h.sqlite", "sub/dir/h.sqlite"])
def test_parent_that_is_a_file_is_a_clear_error(tmp_path: Path, below: str) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / below
    with pytest.raises(HistoryError, match=rf"file/{below}: .*/file is not a directory"):
        open_history(target)


def test_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"is a directory, not a file"):
        open_history(tmp_path)


def _drop_file_override() -> None:
    """As root, permissions do not apply: drop CAP_DAC_OVERRIDE/READ_SEARCH from the child's bounding set."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


_OPEN_SCRIPT = """
import sys
from agent.history.schema import HistoryError, open_history
try:
    open_history(sys.argv[1])
except HistoryError as exc:
    print(exc)
    sys.exit(3)
"""


def test_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _OPEN_SCRIPT, str(ro / "h.sqlite")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_drop_file_override,
        )
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's file capabilities here: {exc}")
    finally:
        ro.chmod(0o755)
    assert proc.returncode == 3, proc.stderr
    assert f"history {ro / 'h.sqlite'}: directory {ro} is not writable: Permission denied" in proc.stdout
    assert not (ro / "h.sqlite").exists()


@pytest.mark.parametrize("damage", ["garbage", "schema_page"])
def test_corrupt_file_is_moved_aside_and_a_new_store_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / "h.sqlite"
    if damage == "garbage":
        bad = b"this is not an SQLite file at all" * 200
    else:
        open_history(path)
        # Overwrite page 1 after the 100-byte header: the schema table is unreadable, the header is fine.
        bad = path.read_bytes()[:100] + b"\xa5" * 3996 + path.read_bytes()[4096:]
    path.write_bytes(bad)
    caplog.set_level(logging.ERROR, logger="dialtone.history")
    assert open_history(path, now=T0) == path
    aside = tmp_path / "h.sqlite.corrupt-20250310T120000Z"
    assert aside.read_bytes() == bad
    assert any("is corrupt" in m and str(aside) in m for m in caplog.messages)
    w = HistoryWriter(path, clock=FakeClock())
    w.on_result(result("web", T0))
    assert w.flush_sync()
    with HistoryReader(path) as r:
        assert len(r.results("web", T0, T0 + hours(1))) == 1


async def test_deleted_store_is_recreated_and_the_batch_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = open_history(tmp_path / "h.sqlite")
    w = HistoryWriter(path, clock=FakeClock())
    w.on_result(result("web", T0))
    assert await w.flush()
    path.unlink()
    w.on_result(result("web", T0 + timedelta(seconds=1)))
    caplog.set_level(logging.ERROR, logger="dialtone.history")
    assert not await w.flush()
    assert (w.write_errors, w.queue_depth) == (1, 1)
    assert any("deleted or replaced" in m for m in caplog.messages)
    assert await w.flush()
    assert (w.write_errors, w.queue_depth) == (1, 0)
    with HistoryReader(path) as r:
        assert [x.started_at for x in r.results("web", T0, T0 + hours(1))] == [T0 + timedelta(seconds=1)]


_FULL_DISK_SCRIPT = """
import asyncio, json, resource, sys
from datetime import datetime, timedelta, UTC
from agent.core.model import ProbeResult
from agent.history.reader import HistoryReader
from agent.history.schema import open_history
from agent.history.writer import HistoryWriter

async def main(path):
    t0 = datetime.now(UTC)
    w = HistoryWriter(open_history(path), batch_interval=3600, max_queue=5000)
    offered = 0
    def burst(n):
        nonlocal offered
        for _ in range(n):
            w.on_result(ProbeResult(f"t{offered % 50}", "http", t0 + timedelta(milliseconds=offered), 0.01,
                                    offered % 3 > 0, message="m" * 150, phases={"connect": 0.001}))
            offered += 1
    burst(100)
    first = await w.flush()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # every file write past 4 KiB now fails
    probing_rounds = 0
    for _ in range(3):  # the probing side keeps going while the disk is full
        burst(4000)
        probing_rounds += 1
        await w.flush()
        await asyncio.sleep(0)
    full = {"errors": w.write_errors, "dropped": w.dropped, "depth": w.queue_depth}
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    recovered = await w.flush()
    await w.aclose()
    with HistoryReader(path) as r:
        rows = sum(len(r.results(f"t{i}", t0, t0 + timedelta(days=1), limit=10**6)) for i in range(50))
        rolled = sum(d.total for i in range(50) for d in r.daily_rollups(f"t{i}", t0.date(), t0.date()))
    print(json.dumps({"first": first, "full": full, "rounds": probing_rounds, "recovered": recovered,
                      "errors": w.write_errors, "dropped": w.dropped, "depth": w.queue_depth,
                      "offered": offered, "rows": rows, "rolled": rolled}))

asyncio.run(main(sys.argv[1]))
"""


def test_full_disk_never_stops_probing_and_the_writer_recovers(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(tmp_path / "h.sqlite")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["first"] is True and out["rounds"] == 3
    assert out["full"]["errors"] == 3  # one per failed batch
    # Each burst of 4000 fits the 5000-item queue; the held batch is trimmed to 5000, the rest counted.
    assert out["full"]["depth"] == 5000
    assert out["full"]["dropped"] == 12_000 - 5000
    assert out["recovered"] is True and out["depth"] == 0 and out["errors"] == 3
    assert out["rows"] == 100 + 5000
    assert out["rows"] + out["dropped"] == out["offered"]
    # Rollup counts survive trimming: every accepted result is counted.
    assert out["rolled"] == out["offered"]
    assert "write failed" in proc.stderr and ("full" in proc.stderr or "disk I/O" in proc.stderr)
    assert proc.stderr.count("write failed") == 1  # rate-limited: one line for three failures in a minute


def test_runtime_corruption_counts_errors_without_raising(tmp_path: Path) -> None:
    path = open_history(tmp_path / "h.sqlite")
    w = HistoryWriter(path, clock=FakeClock())
    w.on_result(result("web", T0))
    assert w.flush_sync()
    w._disconnect()  # a restart of the writer's connection, then someone scribbles over the file
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.write_bytes(b"garbage" * 1000)
    w.on_result(result("web", T0 + timedelta(seconds=1)))
    assert not w.flush_sync()
    assert w.write_errors == 1 and w.queue_depth == 1
