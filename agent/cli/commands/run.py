"""`dialtone run -c FILE`: run the agent until SIGTERM/SIGINT; SIGHUP reloads."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import add_service_args, handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `run` subcommand."""
    p = sub.add_parser("run", help="run the agent", description="Run the agent: probe, serve /metrics, keep history.")
    add_service_args(p)
    p.set_defaults(func=handler("agent.cli.commands._run", "main"))
