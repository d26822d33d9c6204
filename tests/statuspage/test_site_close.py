"""StatusSite.close never closes the history reader under a build that is reading it.

A render runs in a worker thread; stopping the agent cancels the task awaiting it, but the thread goes on.
Closing SQLite under its running query crashed the agent with SIGSEGV at stop (seen in
tests/demo/test_demo_sla_targets.py about one run in three).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.core.model import Component
from agent.history.reader import HistoryReader
from agent.history.schema import connect_writer
from statuspage.config import SiteConfig
from statuspage.site import StatusSite


class _Held:
    """A real reader whose transitions() waits until the test lets it go: a build caught mid-query."""

    def __init__(self, reader: HistoryReader) -> None:
        self.reader, self.inside, self.release = reader, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def transitions(self, *args: Any, **kwargs: Any) -> Any:
        self.inside.set()
        self.release.wait(10)
        return self.reader.transitions(*args, **kwargs)


def test_close_waits_for_the_build_reading_history(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    connect_writer(db).close()  # a real, empty store at the current schema
    site = StatusSite(
        SiteConfig(out=tmp_path / "site", incidents=tmp_path / "incidents"),
        [Component("api", "API", "", "core", 0.9999, "")],
        db,
    )
    held = _Held(HistoryReader(db))
    site._reader = held.reader
    site.builder.history = held
    real_model = site.builder.build

    def build(now: datetime) -> Any:
        site.builder.history = held  # model() sets the plain reader; keep the held one in front of it
        return real_model(now)

    site.builder.build = build  # type: ignore[method-assign]
    worker = threading.Thread(target=site.model, args=(datetime.now(UTC),))
    worker.start()
    assert held.inside.wait(10), "the build never reached history"
    site.close(wait=0.2)  # a build is mid-query: the reader must stay open
    assert site._reader is held.reader
    held.release.set()
    worker.join(10)
    assert not worker.is_alive()
    site.close()  # nothing reading now: closed
    assert site._reader is None
