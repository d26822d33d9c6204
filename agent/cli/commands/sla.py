"""`dialtone sla report|compute`: calendar-month availability, exclusions and credits, with the working shown."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler

FORMATS = ("json", "markdown", "html")  # agent.contract.format.FORMATS; tests/core/test_cli_startup.py checks


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sla` subcommand and its actions."""
    p = sub.add_parser("sla", help="calendar-month SLA reports and service credits")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    rep = actions.add_parser("report", help="report a month from the agent's history")
    rep.add_argument("-c", "--config", required=True, metavar="FILE")
    rep.add_argument("--history", metavar="FILE", help="history database (default: history.path of the config)")
    comp = actions.add_parser("compute", help="recompute a month from a CSV or JSON list of outages")
    comp.add_argument("--events", required=True, metavar="FILE", help="CSV or JSON: start,end,component[,cause]")
    comp.add_argument("-c", "--config", metavar="FILE", help="config (component targets, windows, exclusions)")
    comp.add_argument("--target", type=float, metavar="PERCENT", help="SLA target for every component, e.g. 99.95")
    for a in (rep, comp):
        a.add_argument("--month", required=True, metavar="YYYY-MM")
        a.add_argument("--component", metavar="ID", help="only this component")
        a.add_argument("--format", choices=FORMATS, default="markdown")
    rep.set_defaults(func=handler("agent.cli.commands._sla", "report_main"))
    comp.set_defaults(func=handler("agent.cli.commands._sla", "compute_main"))
