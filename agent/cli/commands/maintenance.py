"""`dialtone maintenance list|ics`: the maintenance calendar as a table, JSON, or an iCalendar feed."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `maintenance` subcommand and its actions."""
    p = sub.add_parser("maintenance", help="list maintenance windows or write their iCalendar feed")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="windows between two dates (default: the next 90 days)")
    ls.add_argument("--from", dest="start", metavar="DATE", help="YYYY-MM-DD (in maintenance.zone) or ISO time")
    ls.add_argument("--to", dest="end", metavar="DATE", help="inclusive day, or ISO time")
    ls.add_argument("--component", metavar="ID", help="only windows covering this component")
    ls.add_argument("--json", action="store_true", help="one JSON list")
    ls.add_argument("-c", "--config", metavar="FILE", help="config file (default: the contract's windows)")
    ls.set_defaults(func=handler("agent.cli.commands._maintenance", "list_main"))
    ics = actions.add_parser("ics", help="write the iCalendar feed (RRULE, EXDATE, VTIMEZONE)")
    ics.add_argument("-c", "--config", metavar="FILE", help="config file (default: the contract's windows)")
    ics.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    ics.set_defaults(func=handler("agent.cli.commands._maintenance", "ics_main"))
