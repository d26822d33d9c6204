"""`dialtone health-report`: the monthly system health check of managed SNMP equipment, from history."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import handler

FORMATS = ("markdown", "html", "json")  # agent.snmp.health_format.FORMATS; tests/core/test_cli_startup.py checks


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `health-report` subcommand."""
    p = sub.add_parser("health-report", help="monthly system health check of SNMP-monitored equipment")
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--format", choices=FORMATS, default="markdown")
    p.add_argument("-c", "--config", required=True, metavar="FILE")
    p.add_argument("--history", metavar="FILE", help="history database (default: history.path of the config)")
    p.add_argument("--target", action="append", metavar="ID", help="only this device (repeatable)")
    p.set_defaults(func=handler("agent.cli.commands._health_report", "main"))
