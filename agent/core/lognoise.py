"""One line per error, and repeats rate-limited and counted, so hostile input cannot flood the log.

Malformed requests logged a nine-line traceback each, a full disk one ERROR per MQTT event, traps from an
unknown source one WARNING each: thousands of lines a minute that bury the one line that matters and cost
the event loop the writes. `NoiseFilter` sits on the log handler:

- a traceback is printed only when the process logs at DEBUG; otherwise the exception's type and message are
  appended to the record's one line;
- records at WARNING and above are grouped by logger and message template (not by the values in it): each
  group gets BURST lines per WINDOW seconds, and the lines over that are dropped and counted (by logger, for
  `dialtone_log_messages_suppressed_total`); the next line of the group says how many it stood for.

INFO lines (state transitions, reloads) are never limited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

WINDOW = 60.0
BURST = 5
MAX_GROUPS = 1024
"""Groups remembered; a template is a constant in the code, so this only bounds a pathological caller."""


class NoiseFilter(logging.Filter):
    """Strips tracebacks below DEBUG and rate-limits repeated warnings and errors per message template."""

    def __init__(self, debug: Callable[[], bool], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.debug, self.clock = debug, clock
        self._groups: dict[tuple[str, str], list[float | int]] = {}  # key -> [window start, shown, dropped]
        self.suppressed: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit `record` (shortened to one line when it carries an exception)."""
        if record.levelno >= logging.WARNING and not self._admit(record):
            return False
        if record.exc_info and not self.debug():
            exc = record.exc_info[1]
            if exc is not None:
                text = " ".join(str(exc).split())  # aiohttp's parser errors span lines (a caret diagram)
                record.msg = f"{record.getMessage()}: {type(exc).__name__}: {text}"
                record.args = None  # already formatted: no % in the exception may be read as a placeholder
            record.exc_info = None
            record.exc_text = None
        return True

    def _admit(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        group = self._groups.get(key)
        if group is None or now - group[0] >= WINDOW:
            dropped = int(group[2]) if group is not None else 0
            if len(self._groups) >= MAX_GROUPS and group is None:
                self._groups.clear()
            self._groups[key] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.msg} [{dropped} more like this in the last {WINDOW:g}s were not logged]"
            return True
        if group[1] < BURST:
            group[1] = int(group[1]) + 1
            return True
        group[2] = int(group[2]) + 1
        self.suppressed[record.name] = self.suppressed.get(record.name, 0) + 1
        return False


_FILTER: NoiseFilter | None = None


def install(handler: logging.Handler) -> NoiseFilter:
    """Put the process's one NoiseFilter on `handler` (the agent logs through one handler, to stderr)."""
    global _FILTER
    if _FILTER is None:
        _FILTER = NoiseFilter(lambda: logging.getLogger().getEffectiveLevel() <= logging.DEBUG)
    handler.addFilter(_FILTER)
    return _FILTER


def suppressed_counts() -> dict[str, int]:
    """Lines dropped so far, by logger name (empty before `install`)."""
    return dict(_FILTER.suppressed) if _FILTER is not None else {}
