"""`dialtone render -c FILE [--out DIR]`: render the status page once from history, calendar and incidents."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `render` subcommand."""
    p = sub.add_parser("render", help="render the status page once", description=__doc__)
    p.add_argument("-c", "--config", required=True, metavar="FILE", help="the agent's config file")
    p.add_argument("--out", metavar="DIR", help="output folder (default: site.out from the config)")
    p.add_argument("--now", metavar="ISO", help="render as of this instant (with a UTC offset); default now")
    p.set_defaults(func=handler("agent.cli.commands._render", "main"))
