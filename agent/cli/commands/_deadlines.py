"""The `deadlines` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import json
import sys

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report
from agent.cli.commands._timeargs import BadArgument, parse_aware
from agent.contract.priority import POLICY, deadlines
from agent.contract.support_hours import SupportCalendar, SupportConfig
from agent.maintenance.rules import zone


def main(args: argparse.Namespace) -> int:
    """Print the three due times in UTC and in the support calendar's zone."""
    support = SupportConfig()
    if args.config:
        config = load_or_report(args.config)
        if config is None:
            return EXIT_USAGE
        support = config.sla.support
    try:
        opened = parse_aware(args.opened, option="--opened")
        due = deadlines(args.priority, opened, SupportCalendar(support))
    except (BadArgument, ValueError) as exc:
        print(f"dialtone deadlines: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(due.to_json(), indent=2))
        return EXIT_OK
    print(f"{due.priority} opened {due.opened_at:%Y-%m-%d %H:%M}Z")
    for name, label in (("response", "response"), ("rfo", "RFO"), ("resolution", "resolution")):
        at = getattr(due, name)
        local = at.astimezone(zone(support.zone))
        term = POLICY[due.priority][name].describe()
        print(f"  {label:<10}  {at:%Y-%m-%d %H:%M}Z  ({local:%a %Y-%m-%d %H:%M %Z})  {term}")
    return EXIT_OK
