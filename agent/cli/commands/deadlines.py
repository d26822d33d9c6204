"""`dialtone deadlines --priority P2 --opened 2026-11-20T17:30-08:00`: an incident's due times."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `deadlines` subcommand."""
    p = sub.add_parser("deadlines", help="response, RFO and resolution due times of an incident")
    p.add_argument("--priority", required=True, metavar="P1|P2|P3")
    p.add_argument("--opened", required=True, metavar="TIME", help="ISO 8601 with offset: 2026-11-20T17:30-08:00")
    p.add_argument("--json", action="store_true")
    p.add_argument("-c", "--config", metavar="FILE", help="config file (for sla.support; default: the contract's)")
    p.set_defaults(func=handler("agent.cli.commands._deadlines", "main"))
