"""The log side of redaction: a formatter that masks every configured secret in each line, tracebacks included.

Apart from agent.core.redact, which `ProbeResult` uses, so that a command that never logs never loads logging.
"""

from __future__ import annotations

import logging

from agent.core.redact import redact


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (message, arguments and traceback) passes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, secrets masked."""
        return redact(super().format(record))


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Wrap the formatter of each handler of `logger` (default: the root logger) with redaction."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            continue
        fmt, datefmt = (current._fmt, current.datefmt) if current else (None, None)
        handler.setFormatter(RedactingFormatter(fmt, datefmt))
