"""Helpers shared by CLI subcommands (the leading underscore keeps this module out of discovery)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.runtime.config import Config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_service_args(p: argparse.ArgumentParser) -> None:
    """-c FILE and --log-level, for the commands that run until stopped."""
    p.add_argument("-c", "--config", required=True, metavar="FILE", help="the YAML config file")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def setup_logging(level: str = "info") -> None:
    """Log lines to stderr with UTC timestamps, one line per error, repeats rate-limited (agent.core.lognoise)."""
    import logging  # here: a command that only prints (check-config, schema...) never loads logging

    from agent.core.lognoise import install
    from agent.core.redact_log import install_log_redaction

    before = list(logging.getLogger().handlers)
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.Formatter.converter = __import__("time").gmtime
    install_log_redaction()  # every line, tracebacks included, with configured secrets masked
    for handler in logging.getLogger().handlers:
        if handler not in before:  # only the handler made here: never a host's own (pytest's capture...)
            install(handler)


def load_or_report(path: str) -> Config | None:
    """Load a config, or print every error to stderr and return None."""
    from agent.runtime.config import ConfigError, load_config  # only the commands that read a config pay for it

    try:
        return load_config(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return None


def handler(module: str, name: str = "main") -> Callable[[argparse.Namespace], int]:
    """A command's entry point, imported when the command runs: registering it (and `--help`) stays cheap."""

    def run(args: argparse.Namespace) -> int:
        func: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return func(args)

    return run
