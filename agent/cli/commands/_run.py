"""The work of `dialtone run -c FILE`: run the agent until SIGTERM/SIGINT; SIGHUP reloads."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report, setup_logging


def main(args: argparse.Namespace) -> int:
    """Run until stopped; exit 2 before anything starts when the config or start-up is bad."""
    setup_logging(args.log_level)
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    return asyncio.run(_run(config, args.config))


async def _run(config: object, path: str) -> int:
    from pathlib import Path

    from agent.runtime.app import Agent, StartupError
    from agent.runtime.config import Config

    assert isinstance(config, Config)
    agent = Agent(config, config_path=Path(path))
    try:
        await agent.start()
    except StartupError as exc:
        print(f"dialtone: cannot start: {exc}", file=sys.stderr)
        await agent.stop()
        return EXIT_USAGE
    try:
        await agent.run()
    finally:
        logging.getLogger("dialtone").info("stopping")
        await agent.stop()
    return EXIT_OK
