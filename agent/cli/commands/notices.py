"""`dialtone notices list -c FILE`: notices sent, pending or failed (the outbox) and those still to come."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `notices` subcommand."""
    p = sub.add_parser("notices", help="notices sent and to be sent (incidents, maintenance)")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="the outbox (newest first), then the maintenance notices to come")
    ls.add_argument("-c", "--config", required=True, metavar="FILE", help="the agent's config file")
    ls.add_argument("--at", metavar="TIME", help="ISO time with offset to plan from (default: now)")
    ls.add_argument("--limit", type=int, default=50, help="outbox notices shown (default 50)")
    ls.add_argument("--json", action="store_true", help="one JSON object")
    ls.set_defaults(func=handler("agent.cli.commands._notices", "list_main"))
